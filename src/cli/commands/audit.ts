// `code2lora audit`: the conditioning audit of a hypernetwork (thin action over runAudit).
import type { Command } from 'commander';
import { AUDIT_CONDITIONS, auditLines, runAudit, type AuditCondition } from '../../eval/audit.js';
import { lossAuditLines, runLossAudit } from '../../eval/audit-loss.js';
import { resolveHyperDir } from '../../adapters/hyper/default-hyper.js';
import { progressBar, type Progress } from '../progress.js';
import { applyThreads, intFlag, jsonOption, report, threadsOption, type JsonFlag } from '../flags.js';

interface AuditFlags {
  tasks: string;
  split: string;
  hyper?: string;
  model?: string;
  corpus?: string;
  cache: string | false;
  conditions: string;
  maxNewTokens: number;
  batch: number;
  tasksPerRepo: number;
  seed: number;
  loss: boolean;
  maxTokens: number;
  threads: number;
  json: JsonFlag;
}

export function register(program: Command): void {
  const cmd = program
    .command('audit')
    .description(
      "conditioning audit: each repository's own generated adapter vs the mean adapter, a wrong repository's adapter and the zero-embedding adapter, on the same tasks, with paired repository-bootstrap CIs and adapter diversity",
    )
    .requiredOption('--tasks <dir>', 'task folder from `code2lora tasks build`')
    .option('--split <name>', 'split to audit (cr-test, ir-test, ...)', 'cr-test')
    .option('--hyper <dir>', 'hypernetwork directory (default: the shipped models/code2lora-hyper)')
    .option('--model <dir>', 'base model (default: the shipped code2lora-base)')
    .option('--corpus <dir>', "corpus holding the repositories (default: the one recorded in the tasks' stats.json)")
    .option('--cache <dir>', 'per-file embedding cache', '.cache/embeddings')
    .option('--no-cache', 'embed every file afresh')
    .option(
      '--conditions <list>',
      `comma-separated, from ${AUDIT_CONDITIONS.join(',')} (own always runs; none = base model without adapter)`,
      'own,mean,wrong,zero',
    )
    .option('--max-new-tokens <n>', 'tokens generated at most per task', intFlag('--max-new-tokens', 1), 64)
    .option('--batch <n>', 'tasks decoded together', intFlag('--batch', 1), 8)
    .option('--tasks-per-repo <n>', 'seeded sample of at most N tasks per repository (0 = all)', intFlag('--tasks-per-repo', 0), 0)
    .option('--seed <n>', 'seed for sampling and the bootstrap', intFlag('--seed', 0), 0)
    .option('--loss', 'audit the teacher-forced target loss (nats/token) instead of greedy completions: more sensitive, no decoding', false)
    .option('--max-tokens <n>', 'with --loss: sequence length cap (prefix cut from the left)', intFlag('--max-tokens', 8), 256);
  threadsOption(cmd);
  jsonOption(cmd, 'the audit report').action((o: AuditFlags) => {
    applyThreads(o.threads);
    const conditions = o.conditions
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    for (const c of conditions)
      if (!(AUDIT_CONDITIONS as readonly string[]).includes(c))
        throw new Error(`--conditions: unknown condition "${c}" (known: ${AUDIT_CONDITIONS.join(', ')})`);
    let bar: Progress | null = null,
      stage = '';
    const onProgress = (what: string, done: number, total: number) => {
      if (what !== stage) {
        bar?.stop();
        bar = progressBar(`audit ${what}`, total);
        stage = what;
      }
      bar!.update(done);
    };
    const common = {
      hyperDir: resolveHyperDir(o.hyper),
      modelDir: o.model,
      tasksDir: o.tasks,
      split: o.split,
      corpusDir: o.corpus,
      cacheDir: o.cache === false ? null : o.cache,
      conditions: conditions as AuditCondition[],
      batch: o.batch,
      tasksPerRepo: o.tasksPerRepo,
      seed: o.seed,
      onProgress,
    };
    if (o.loss) {
      const r = runLossAudit({ ...common, maxTokens: o.maxTokens });
      (bar as Progress | null)?.stop();
      report(o.json, r, () => {
        for (const l of lossAuditLines(r)) console.log(l);
      });
      return;
    }
    const r = runAudit({ ...common, maxNewTokens: o.maxNewTokens });
    (bar as Progress | null)?.stop();
    report(o.json, r, () => {
      for (const l of auditLines(r)) console.log(l);
    });
  });
}
