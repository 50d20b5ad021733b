// What every trainer on assertion tasks shares (METHOD.md section 1, "Objective"): draw a repository,
// then up to k of its tasks, as one micro-batch; and a validation loss averaged PER REPOSITORY (one
// repository can hold half of a split's tasks, so a per-task mean would mostly measure it), given a
// function that returns the adapter to use for each repository (a trained LoRA, a generated one, none).
// Letters: B sequences in a batch, T padded length.
import type { LlamaModel, ProjectionAdapter } from '../model/llama/model.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import type { Task } from '../data/tasks/types.js';
import { Rng } from '../util/rng.js';
import { encodeTaskSequence, taskBatch, type TaskBatch, type TaskSequence } from './task-batch.js';

/** Tasks grouped by repository, repositories in sorted order (a stable order for seeded draws). */
export function groupByRepo<T extends Pick<Task, 'repo'>>(tasks: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const t of tasks) {
    const g = m.get(t.repo);
    if (g) g.push(t);
    else m.set(t.repo, [t]);
  }
  return new Map([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Encodes tasks once and remembers the result (null when the target alone cannot fit). */
export class SequenceCache {
  private readonly cache = new Map<Task, TaskSequence | null>();
  constructor(
    readonly tok: TextTokenizer,
    readonly maxTokens: number,
  ) {
    if (!Number.isInteger(maxTokens) || maxTokens < 3)
      throw new Error(`SequenceCache: maxTokens must be an integer >= 3, got ${maxTokens}`);
  }
  get(task: Task): TaskSequence | null {
    let s = this.cache.get(task);
    if (s === undefined) {
      s = encodeTaskSequence(this.tok, task, this.maxTokens);
      this.cache.set(task, s);
    }
    return s;
  }
}

/** Up to k distinct items of xs, drawn without replacement (partial Fisher-Yates on indices). */
export function drawWithoutReplacement<T>(xs: readonly T[], k: number, rng: Rng): T[] {
  const idx = xs.map((_, i) => i);
  const n = Math.min(k, xs.length);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(idx.length - i);
    const tmp = idx[i] as number;
    idx[i] = idx[j] as number;
    idx[j] = tmp;
  }
  return idx.slice(0, n).map((i) => xs[i] as T);
}

export interface RepoTaskBatch {
  repo: string;
  tasks: Task[];
  seqs: TaskSequence[];
  batch: TaskBatch;
}

/**
 * "Sample a repository, then up to k of its tasks": repositories are drawn uniformly (not in
 * proportion to their task counts), tasks without replacement within the draw. Tasks whose target
 * cannot fit maxTokens are never drawn; repositories left with none are dropped (and counted).
 */
export class RepoTaskSampler {
  readonly byRepo: Map<string, Task[]>;
  readonly repos: string[];
  /** repositories with no usable task (every target too long) */
  readonly droppedRepos: string[] = [];
  private readonly seqs: SequenceCache;

  constructor(
    tasks: readonly Task[],
    tok: TextTokenizer,
    readonly o: { maxTokens: number; tasksPerRepo: number; repos?: readonly string[] },
  ) {
    if (!Number.isInteger(o.tasksPerRepo) || o.tasksPerRepo < 1)
      throw new Error(`RepoTaskSampler: tasksPerRepo must be a positive integer, got ${o.tasksPerRepo}`);
    this.seqs = new SequenceCache(tok, o.maxTokens);
    const all = groupByRepo(tasks);
    const wanted = o.repos ? new Set(o.repos) : null;
    if (wanted) for (const r of wanted) if (!all.has(r)) throw new Error(`RepoTaskSampler: repository ${r} has no tasks`);
    this.byRepo = new Map();
    for (const [repo, ts] of all) {
      if (wanted && !wanted.has(repo)) continue;
      const usable = ts.filter((t) => this.seqs.get(t) !== null);
      if (usable.length === 0) this.droppedRepos.push(repo);
      else this.byRepo.set(repo, usable);
    }
    this.repos = [...this.byRepo.keys()];
    if (this.repos.length === 0) throw new Error(`RepoTaskSampler: no repository has a task whose target fits ${o.maxTokens} tokens`);
  }

  /** One micro-batch: a repository drawn uniformly, then up to tasksPerRepo of its tasks. */
  next(rng: Rng, padId: number): RepoTaskBatch {
    const repo = this.repos[rng.int(this.repos.length)] as string;
    return this.fromRepo(repo, rng, padId);
  }

  /** Up to tasksPerRepo tasks of one named repository (per-repository training). */
  fromRepo(repo: string, rng: Rng, padId: number): RepoTaskBatch {
    const pool = this.byRepo.get(repo);
    if (!pool) throw new Error(`RepoTaskSampler: repository ${repo} is not in the sampler`);
    const tasks = drawWithoutReplacement(pool, this.o.tasksPerRepo, rng);
    const seqs = tasks.map((t) => this.seqs.get(t) as TaskSequence);
    return { repo, tasks, seqs, batch: taskBatch(seqs, padId) };
  }
}

export interface ValidationOptions {
  maxTokens: number;
  /** sequences per forward pass */
  batch: number;
  /** fixed seeded subset of at most this many tasks per repository (0 = all) */
  tasksPerRepo: number;
  /** at most this many repositories, a fixed seeded subset (0 = all) */
  maxRepos: number;
  seed: number;
}

export interface ValidationSet {
  repos: Map<string, TaskSequence[]>;
  tasks: number;
  skipped: number;
}

/** The fixed validation sequences: the same subset every time it is built with the same seed. */
export function validationSet(tasks: readonly Task[], tok: TextTokenizer, o: ValidationOptions): ValidationSet {
  const rng = new Rng(o.seed).fork('validation');
  let byRepo = [...groupByRepo(tasks).entries()];
  if (o.maxRepos > 0 && byRepo.length > o.maxRepos) {
    byRepo = rng
      .fork('repos')
      .shuffle(byRepo)
      .slice(0, o.maxRepos)
      .sort(([a], [b]) => (a < b ? -1 : 1));
  }
  const cache = new SequenceCache(tok, o.maxTokens);
  const repos = new Map<string, TaskSequence[]>();
  let n = 0,
    skipped = 0;
  for (const [repo, ts] of byRepo) {
    const pick =
      o.tasksPerRepo > 0 && ts.length > o.tasksPerRepo
        ? rng
            .fork(`tasks:${repo}`)
            .shuffle([...ts])
            .slice(0, o.tasksPerRepo)
        : ts;
    const seqs: TaskSequence[] = [];
    for (const t of pick) {
      const s = cache.get(t);
      if (s) seqs.push(s);
      else skipped++;
    }
    if (seqs.length) {
      repos.set(repo, seqs);
      n += seqs.length;
    }
  }
  if (repos.size === 0) throw new Error(`validationSet: no validation task fits ${o.maxTokens} tokens (${tasks.length} tasks given)`);
  return { repos, tasks: n, skipped };
}

export interface ValidationLoss {
  /** mean over repositories of each repository's target-token loss (nats/token) */
  loss: number;
  /** target-token loss over all tasks pooled (for comparison) */
  pooled: number;
  perRepo: Record<string, { loss: number; tasks: number; targetTokens: number }>;
}

/** Adds the target-token loss of `seqs` under one adapter to `acc` (sum of per-token losses, and
 *  target tokens), `batch` sequences per forward pass, off the tape, in order. */
export function addTargetLoss(
  acc: { sum: number; count: number },
  model: LlamaModel,
  seqs: readonly TaskSequence[],
  padId: number,
  batch: number,
  adapter: ProjectionAdapter | null,
): void {
  for (let s = 0; s < seqs.length; s += batch) {
    const tb = taskBatch(seqs.slice(s, s + batch), padId);
    const r = model.loss(null, tb.batch, tb.targets, adapter);
    acc.sum += r.loss.data[0] * r.count;
    acc.count += r.count;
  }
}

/** Per-repository validation loss; adapterFor(repo) gives the adapter for that repository (or null). */
export function perRepoValidationLoss(
  model: LlamaModel,
  set: ValidationSet,
  padId: number,
  batch: number,
  adapterFor: (repo: string) => ProjectionAdapter | null,
): ValidationLoss {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`perRepoValidationLoss: batch must be a positive integer, got ${batch}`);
  const perRepo: ValidationLoss['perRepo'] = {};
  let repoSum = 0,
    pooledSum = 0,
    pooledCount = 0;
  for (const [repo, seqs] of set.repos) {
    const acc = { sum: 0, count: 0 };
    addTargetLoss(acc, model, seqs, padId, batch, adapterFor(repo));
    const { sum, count } = acc;
    const loss = sum / count;
    perRepo[repo] = { loss, tasks: seqs.length, targetTokens: count };
    repoSum += loss;
    pooledSum += sum;
    pooledCount += count;
  }
  return { loss: repoSum / set.repos.size, pooled: pooledSum / pooledCount, perRepo };
}
