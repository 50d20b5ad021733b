// `code2lora eval`: assertion completion on a task split, with confidence intervals.
import type { Command } from 'commander';
import { evaluateTasks } from '../../eval/run-tasks.js';
import { progressBar } from '../progress.js';
import { applyThreads, intFlag, jsonOption, numberFlag, report, threadsOption, type JsonFlag } from '../flags.js';
import { RAG_VARIANTS, defaultRagConfig, type RagVariant } from '../../retrieval/rag.js';

interface EvalFlags {
  tasks: string;
  split: string;
  model?: string;
  adapter?: string;
  maxNewTokens: number;
  batch: number;
  limit: number;
  seed: number;
  threads: number;
  json: JsonFlag;
  tasksPerRepo: number;
  rag?: string;
  ragTopK: number;
  ragShare: number;
  corpus?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('greedy assertion completion on a task split: exact match and edit similarity with bootstrap 95% CIs')
    .requiredOption('--tasks <dir>', 'task directory written by `code2lora tasks build`')
    .option('--split <name>', 'split to evaluate (cr-test, cr-val, ir-test, ir-val)', 'cr-test')
    .option('--model <dir>', 'Hugging Face model directory (default: the shipped code2lora-base)')
    .option('--adapter <dir>', 'PEFT LoRA adapter to apply')
    .option('--max-new-tokens <n>', 'tokens generated at most per task', intFlag('--max-new-tokens', 1), 64)
    .option('--batch <n>', 'tasks decoded together', intFlag('--batch', 1), 8)
    .option('--limit <n>', 'evaluate a seeded sample of this many tasks (0 = all)', intFlag('--limit', 0), 0)
    .option(
      '--tasks-per-repo <n>',
      'evaluate a seeded sample of at most N tasks per repository (0 = all; for ablations)',
      intFlag('--tasks-per-repo', 0),
      0,
    )
    .option(
      '--rag <variant>',
      `retrieval-augmented prompts: ${RAG_VARIANTS.join(' | ')} (BM25 over the task's repository, never its own file)`,
    )
    .option('--rag-top-k <n>', 'most chunks retrieved per prompt', intFlag('--rag-top-k', 1), defaultRagConfig().topK)
    .option(
      '--rag-share <x>',
      'share of the prompt budget retrieval may take (0..1)',
      numberFlag('--rag-share', 0),
      defaultRagConfig().retrievalShare,
    )
    .option('--corpus <dir>', "corpus RAG retrieves from (default: the one recorded in the tasks' stats.json)")
    .option('--seed <n>', 'seed for sampling and the bootstrap', intFlag('--seed', 0), 0);
  threadsOption(cmd);
  jsonOption(cmd, 'the report (with every prediction)').action((o: EvalFlags) => {
    applyThreads(o.threads);
    let bar: ReturnType<typeof progressBar> | undefined;
    if (o.rag !== undefined && !(RAG_VARIANTS as readonly string[]).includes(o.rag))
      throw new Error(`--rag must be one of ${RAG_VARIANTS.join(', ')}, got "${o.rag}"`);
    const rag = o.rag === undefined ? undefined : { ...defaultRagConfig(o.rag as RagVariant), topK: o.ragTopK, retrievalShare: o.ragShare };
    const r = evaluateTasks({
      rag,
      corpusDir: o.corpus,
      tasksPerRepo: o.tasksPerRepo,
      tasksDir: o.tasks,
      split: o.split,
      modelDir: o.model,
      adapterDir: o.adapter,
      maxNewTokens: o.maxNewTokens,
      batch: o.batch,
      limit: o.limit,
      seed: o.seed,
      onProgress: (done, total) => {
        bar ??= progressBar('eval', total);
        bar.update(done);
      },
    });
    bar?.stop();
    report(o.json, r, () => {
      const pct = (x: number) => (100 * x).toFixed(1);
      console.log(
        `${r.split}: ${r.tasks} tasks, exact match ${pct(r.exactMatch.estimate)}% [${pct(r.exactMatch.lo)}, ${pct(r.exactMatch.hi)}], ` +
          `edit similarity ${pct(r.editSimilarity.estimate)} [${pct(r.editSimilarity.lo)}, ${pct(r.editSimilarity.hi)}] (95% CI, repository bootstrap)`,
      );
      console.log(
        `  per repository (mean of ${r.perRepo.repos} repository means): exact match ${pct(r.perRepo.exactMatch.estimate)}% [${pct(r.perRepo.exactMatch.lo)}, ${pct(r.perRepo.exactMatch.hi)}], edit similarity ${pct(r.perRepo.editSimilarity.estimate)} [${pct(r.perRepo.editSimilarity.lo)}, ${pct(r.perRepo.editSimilarity.hi)}]`,
      );
      for (const [f, s] of Object.entries(r.perFamily))
        console.log(`  ${f.padEnd(14)} ${String(s.tasks).padStart(6)} tasks  EM ${pct(s.exactMatch)}%  ES ${pct(s.editSimilarity)}`);
      console.log(
        `  ${r.seconds.toFixed(1)} s, ${r.generatedTokensPerS.toFixed(0)} generated tokens/s, ${r.truncatedPrompts} prompts cut from the left`,
      );
      console.log(`  ${r.promptTokensPerTask.toFixed(0)} prompt tokens per task, of them ${r.retrievedTokensPerTask.toFixed(0)} retrieved`);
    });
  });
}
