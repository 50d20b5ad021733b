// The conditioning audit on the loss: the target-token cross-entropy of every task (teacher forced:
// prefix + target + EOS, loss on the target and EOS only, as training sees it) under each condition
// of the audit (own, mean, wrong, zero, none), with paired repository-bootstrap intervals of
// (condition - own) in nats per token: above zero means the own adapter fits that repository's
// assertions better. Exact match moves in whole tasks and needs large effects; the loss sees a
// repository-specific shift long before greedy decoding flips, so a null here is a stronger null.
import type { Task } from '../data/tasks/types.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import { repoRelative } from '../util/repo-root.js';
import { auditSetup, type AuditCondition, type AuditOptions } from './audit.js';
import { bootstrapDiff, bootstrapGroupMean, bootstrapMean, type DiffInterval, type Interval } from './bootstrap.js';
import { sampleTasksPerRepo } from './task-sample.js';
import { encodeTasks, encodedTargetLosses } from './target-loss.js';

export interface LossAuditOptions
  extends Pick<AuditOptions, 'hyperDir' | 'modelDir' | 'tasksDir' | 'split' | 'corpusDir' | 'cacheDir' | 'repos' | 'seed' | 'onProgress'> {
  conditions: readonly AuditCondition[];
  /** sequence length cap (prefix cut from the left, as in training) */
  maxTokens: number;
  batch: number;
  /** seeded sample of at most this many tasks per repository (0 = all) */
  tasksPerRepo: number;
  bootstrapSamples?: number;
}

export interface LossAuditReport {
  split: string;
  hypernetwork: string;
  model: string;
  repos: number;
  tasks: number;
  /** tasks whose target does not fit in maxTokens (left out of every condition alike) */
  skipped: number;
  maxTokens: number;
  /** mean target loss (nats/token) per condition: per task (repository bootstrap) and per repository */
  conditions: Partial<Record<AuditCondition, { perTask: Interval; perRepo: Interval }>>;
  /** condition minus own, paired over the same tasks (above zero: own is better) */
  gainOverOwn: Partial<Record<Exclude<AuditCondition, 'own'>, DiffInterval>>;
  verdict: string;
}

export function runLossAudit(o: LossAuditOptions): LossAuditReport {
  const s = auditSetup(o);
  const tok: TextTokenizer = s.tokenizer;
  let tasks: Task[] = o.tasksPerRepo > 0 ? sampleTasksPerRepo(s.tasks, o.tasksPerRepo, o.seed) : s.tasks;
  // one order for every condition: by repository, then by the own adapter's key, so batches share an adapter
  const ownKey = (t: Task) => (s.ownForTask ? s.ownForTask.key(t) : t.repo);
  tasks = [...tasks].sort((a, b) =>
    a.repo < b.repo ? -1 : a.repo > b.repo ? 1 : ownKey(a) < ownKey(b) ? -1 : ownKey(a) > ownKey(b) ? 1 : 0,
  );
  const conds = ['own', ...o.conditions.filter((c) => c !== 'own')] as AuditCondition[];
  // encoded once: every condition scores the same sequences
  const encoded = encodeTasks(tok, tasks, o.maxTokens);
  if (encoded.length === 0) throw new Error(`loss audit ${o.split}: no task fits in ${o.maxTokens} tokens`);
  const kept = encoded.map((e) => e.t);
  const loss: Partial<Record<AuditCondition, number[]>> = {};
  for (const c of conds) {
    loss[c] = encodedTargetLosses(s.model, tok.padId, encoded, {
      adapterOf: (t) =>
        c === 'own' && s.ownForTask
          ? { key: s.ownForTask.key(t), adapter: s.ownForTask.adapter(t) }
          : { key: t.repo, adapter: s.pick[c](t.repo) },
      batch: o.batch,
      onProgress: (d, n) => o.onProgress?.(`loss ${c}`, d, n),
    });
  }
  const groups = kept.map((t) => t.repo);
  const opts = { seed: o.seed, samples: o.bootstrapSamples };
  const conditions: LossAuditReport['conditions'] = {};
  for (const c of conds)
    conditions[c] = { perTask: bootstrapMean(loss[c]!, { ...opts, groups }), perRepo: bootstrapGroupMean(loss[c]!, groups, opts) };
  const gainOverOwn: LossAuditReport['gainOverOwn'] = {};
  for (const c of conds) if (c !== 'own') gainOverOwn[c] = bootstrapDiff(loss[c]!, loss.own!, { ...opts, groups });
  return {
    split: o.split,
    hypernetwork: repoRelative(o.hyperDir),
    model: repoRelative(s.modelDir),
    repos: new Set(groups).size,
    tasks: kept.length,
    skipped: tasks.length - kept.length,
    maxTokens: o.maxTokens,
    conditions,
    gainOverOwn,
    verdict: lossVerdict(gainOverOwn),
  };
}

/** Plain words: the own adapter is better on the loss only where mean - own and wrong - own both have
 *  their 95% interval above zero. */
export function lossVerdict(g: LossAuditReport['gainOverOwn']): string {
  const m = g.mean,
    w = g.wrong;
  if (!m || !w) return 'incomplete: the loss audit needs the mean and wrong conditions';
  const f = (x: DiffInterval) => `${x.estimate.toFixed(4)} [${x.lo.toFixed(4)}, ${x.hi.toFixed(4)}] nats/token`;
  if (m.lo > 0 && w.lo > 0) return `repository-specific on the loss: mean - own ${f(m)}, wrong - own ${f(w)}`;
  return `not shown on the loss: mean - own ${f(m)}, wrong - own ${f(w)} (both intervals must lie above zero)`;
}

/** One-line summaries for the console. */
export function lossAuditLines(r: LossAuditReport): string[] {
  const f = (x: number) => x.toFixed(4);
  const lines = [
    `${r.split}: ${r.tasks} tasks in ${r.repos} repositories (${r.skipped} too long for ${r.maxTokens} tokens), hypernetwork ${r.hypernetwork}`,
  ];
  for (const [c, v] of Object.entries(r.conditions)) {
    const g = c === 'own' ? undefined : r.gainOverOwn[c as Exclude<AuditCondition, 'own'>];
    lines.push(
      `  ${c.padEnd(6)} loss ${f(v.perTask.estimate)} [${f(v.perTask.lo)}, ${f(v.perTask.hi)}] nats/token` +
        (g ? `   ${c} - own ${f(g.estimate)} [${f(g.lo)}, ${f(g.hi)}]` : ''),
    );
  }
  lines.push(`  verdict: ${r.verdict}`);
  return lines;
}
