// Assertion completion on a task split: greedy decoding (KV cache, at most 64 new tokens, stop at
// the end of the line), exact match and edit similarity with bootstrap confidence intervals,
// overall, per repository (mean of repository means) and per family. This is the benchmark's "Pretrained" row when run without an adapter.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateGreedy } from '../model/llama/generate.js';
import type { LlamaModel, ProjectionAdapter } from '../model/llama/model.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import { cutPromptLeft, loadModelWithTokenizer } from './prompting.js';
import { LoraAdapter } from '../adapters/lora/layer.js';
import type { Task } from '../data/tasks/types.js';
import { readTaskFile } from '../data/tasks/format.js';
import { scoreTask } from './metrics.js';
import { bootstrapGroupMean, bootstrapMean, type Interval } from './bootstrap.js';
import { Rng } from '../util/rng.js';
import { repoRelative } from '../util/repo-root.js';
import { RagRetriever, type RagConfig } from '../retrieval/rag.js';
import { sampleTasksPerRepo } from './task-sample.js';

export interface EvalOptions {
  modelDir?: string;
  tasksDir: string;
  split: string;
  adapterDir?: string;
  maxNewTokens: number;
  /** tasks decoded together (similar prompt lengths are grouped) */
  batch: number;
  /** evaluate only the first N tasks of a seeded shuffle (0 = all) */
  limit: number;
  /** evaluate a seeded sample of at most this many tasks per repository (0 = all; ablations) */
  tasksPerRepo?: number;
  /** evaluate only these repositories (e.g. the per-repo LoRA sample) */
  repos?: readonly string[];
  /** retrieval-augmented prompts (the RAG baselines) */
  rag?: RagConfig;
  /** the corpus RAG retrieves from (default: the `corpus` recorded in the tasks' stats.json) */
  corpusDir?: string;
  /** bootstrap resamples (default 5000, the paper's) */
  bootstrapSamples?: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}

export interface TaskResult {
  id: string;
  repo: string;
  family: string;
  target: string;
  prediction: string;
  exact: number;
  edit: number;
  /** prompt tokens (retrieved ones included) */
  promptTokens?: number;
  retrievedTokens?: number;
  /** wall time of the task's decoding batch divided by its size (retrieval included) */
  seconds?: number;
}

export interface EvalReport {
  split: string;
  model: string;
  adapter: string | null;
  tasks: number;
  exactMatch: Interval;
  editSimilarity: Interval;
  /** per-repository averages: the mean over repositories of each repository's mean, repository-bootstrap CIs */
  perRepo: { repos: number; exactMatch: Interval; editSimilarity: Interval };
  perFamily: Record<string, { tasks: number; exactMatch: number; editSimilarity: number }>;
  truncatedPrompts: number;
  /** mean prompt tokens per task, and of them retrieved (0 without RAG) */
  promptTokensPerTask: number;
  retrievedTokensPerTask: number;
  rag: RagConfig | null;
  seconds: number;
  generatedTokensPerS: number;
  results: TaskResult[];
}

export function readTasks(tasksDir: string, split: string): Task[] {
  return readTaskFile(join(tasksDir, `${split}.jsonl`));
}

/** Prompt tokens for a task: the prefix, cut from the left to fit the context (never the target). */
export { cutPromptLeft as taskPrompt } from './prompting.js';

export interface TaskPrompt {
  ids: number[];
  truncated: boolean;
  retrievedTokens?: number;
}

export function predictTasks(
  model: LlamaModel,
  tok: TextTokenizer,
  tasks: Task[],
  o: {
    maxNewTokens: number;
    batch: number;
    adapter?: ProjectionAdapter | null;
    onProgress?: (done: number, total: number) => void;
    /** the adapter for each task's repository (per-repository adapters); overrides `adapter` */
    adapterFor?: (repo: string) => ProjectionAdapter | null;
    /** the adapter for each task (e.g. generated with the task's own test file left out), with the key
     *  that says which tasks share one; overrides `adapterFor` */
    adapterForTask?: { key: (task: Task) => string; adapter: (task: Task) => ProjectionAdapter | null };
    /** builds a task's prompt (e.g. with retrieved context); default: the prefix cut from the left */
    prompt?: (task: Task, maxPromptTokens: number) => TaskPrompt;
  },
): { predictions: string[]; truncated: number; generated: number; prompts: TaskPrompt[]; seconds: number[] } {
  const maxPrompt = model.config.maxPositionEmbeddings - o.maxNewTokens;
  const promptSeconds = new Array<number>(tasks.length).fill(0);
  const prompts = tasks.map((t, i) => {
    const t0 = performance.now();
    const p = o.prompt ? o.prompt(t, maxPrompt) : cutPromptLeft(tok, t.prefix, maxPrompt);
    promptSeconds[i] = (performance.now() - t0) / 1000;
    return p;
  });
  // Group by repository when adapters differ per repository, then by length so left padding wastes little work.
  const key = (i: number) => (o.adapterForTask ? o.adapterForTask.key(tasks[i]) : o.adapterFor ? tasks[i].repo : '');
  const order = tasks
    .map((_, i) => i)
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : prompts[a].ids.length - prompts[b].ids.length));
  const predictions = new Array<string>(tasks.length);
  const seconds = new Array<number>(tasks.length).fill(0);
  let done = 0,
    generated = 0;
  for (let s = 0; s < order.length; ) {
    let e = s + 1;
    while (e < order.length && e - s < o.batch && key(order[e]) === key(order[s])) e++;
    const idx = order.slice(s, e);
    s = e;
    const t0 = performance.now();
    const gens = generateGreedy(
      model,
      idx.map((i) => prompts[i].ids),
      {
        maxNewTokens: o.maxNewTokens,
        eosId: tok.eosId,
        padId: tok.padId,
        stopStrings: ['\n'],
        decode: (ids) => tok.decode(ids),
        adapter: o.adapterForTask ? o.adapterForTask.adapter(tasks[idx[0]]) : o.adapterFor ? o.adapterFor(tasks[idx[0]].repo) : o.adapter,
      },
    );
    const each = (performance.now() - t0) / 1000 / idx.length;
    gens.forEach((g, j) => {
      predictions[idx[j]] = g.text ?? '';
      generated += g.ids.length;
      seconds[idx[j]] = each + promptSeconds[idx[j]];
    });
    done += idx.length;
    o.onProgress?.(done, tasks.length);
  }
  return { predictions, truncated: prompts.filter((p) => p.truncated).length, generated, prompts, seconds };
}

export function evaluateTasks(o: EvalOptions): EvalReport {
  const { dir, model, tokenizer: tok } = loadModelWithTokenizer(o.modelDir);
  const adapter = o.adapterDir ? LoraAdapter.loadPeft(o.adapterDir, model.config) : null;
  return evaluateLoaded(model, tok, {
    ...o,
    modelName: repoRelative(dir),
    adapter,
    adapterName: o.adapterDir ? repoRelative(o.adapterDir) : null,
  });
}

/** The corpus a task folder was built from (stats.json records it). */
export function tasksCorpusDir(tasksDir: string): string {
  const f = join(tasksDir, 'stats.json');
  if (!existsSync(f)) throw new Error(`${f} is missing: pass the corpus folder for retrieval explicitly`);
  const c = (JSON.parse(readFileSync(f, 'utf8')) as { corpus?: unknown }).corpus;
  if (typeof c !== 'string') throw new Error(`${f} names no corpus folder: pass it for retrieval explicitly`);
  return c;
}

/** evaluateTasks with the model already loaded: one adapter, or one per repository (adapterFor). */
export function evaluateLoaded(
  model: LlamaModel,
  tok: TextTokenizer,
  o: EvalOptions & {
    modelName: string;
    adapter?: ProjectionAdapter | null;
    adapterName?: string | null;
    adapterFor?: (repo: string) => ProjectionAdapter | null;
    adapterForTask?: { key: (task: Task) => string; adapter: (task: Task) => ProjectionAdapter | null };
  },
): EvalReport {
  let tasks = readTasks(o.tasksDir, o.split);
  if (o.repos) {
    const keep = new Set(o.repos);
    tasks = tasks.filter((t) => keep.has(t.repo));
    if (tasks.length === 0) throw new Error(`eval ${o.split}: none of the ${keep.size} chosen repositories has a task in it`);
  }
  if (o.tasksPerRepo && o.tasksPerRepo > 0) tasks = sampleTasksPerRepo(tasks, o.tasksPerRepo, o.seed);
  if (o.limit > 0 && tasks.length > o.limit) {
    // A seeded subset, not the first N (tasks are grouped by repository in the file).
    tasks = new Rng(o.seed).shuffle([...tasks]).slice(0, o.limit);
  }
  const rag = o.rag ? new RagRetriever(o.rag, o.corpusDir ?? tasksCorpusDir(o.tasksDir), tok) : null;
  const t0 = performance.now();
  const {
    predictions,
    truncated,
    generated,
    prompts,
    seconds: taskSeconds,
  } = predictTasks(model, tok, tasks, {
    ...o,
    adapter: o.adapter ?? null,
    adapterFor: o.adapterFor,
    adapterForTask: o.adapterForTask,
    prompt: rag ? (t, max) => rag.prompt(t, max) : undefined,
  });
  const seconds = (performance.now() - t0) / 1000;
  const results: TaskResult[] = tasks.map((t, i) => ({
    id: t.id,
    repo: t.repo,
    family: t.family,
    target: t.target,
    prediction: predictions[i],
    ...pickScores(scoreTask(predictions[i], t.target)),
    promptTokens: prompts[i].ids.length,
    retrievedTokens: prompts[i].retrievedTokens ?? 0,
    seconds: taskSeconds[i],
  }));
  const groups = results.map((r) => r.repo);
  const perFamily: EvalReport['perFamily'] = {};
  for (const r of results) {
    const f = (perFamily[r.family] ??= { tasks: 0, exactMatch: 0, editSimilarity: 0 });
    f.tasks++;
    f.exactMatch += r.exact;
    f.editSimilarity += r.edit;
  }
  for (const f of Object.values(perFamily)) {
    f.exactMatch /= f.tasks;
    f.editSimilarity /= f.tasks;
  }
  return {
    split: o.split,
    model: o.modelName,
    adapter: o.adapterName ?? null,
    tasks: results.length,
    exactMatch: bootstrapMean(
      results.map((r) => r.exact),
      { seed: o.seed, groups, samples: o.bootstrapSamples },
    ),
    editSimilarity: bootstrapMean(
      results.map((r) => r.edit),
      { seed: o.seed, groups, samples: o.bootstrapSamples },
    ),
    perRepo: {
      repos: new Set(groups).size,
      exactMatch: bootstrapGroupMean(
        results.map((r) => r.exact),
        groups,
        { seed: o.seed, samples: o.bootstrapSamples },
      ),
      editSimilarity: bootstrapGroupMean(
        results.map((r) => r.edit),
        groups,
        { seed: o.seed, samples: o.bootstrapSamples },
      ),
    },
    perFamily,
    truncatedPrompts: truncated,
    promptTokensPerTask: results.reduce((a, r) => a + (r.promptTokens ?? 0), 0) / results.length,
    retrievedTokensPerTask: results.reduce((a, r) => a + (r.retrievedTokens ?? 0), 0) / results.length,
    rag: rag ? rag.config : null,
    seconds,
    generatedTokensPerS: generated / seconds,
    results,
  };
}

function pickScores(s: { exact: number; edit: number }): { exact: number; edit: number } {
  return { exact: s.exact, edit: s.edit };
}
