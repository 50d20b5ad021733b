// Assertion completion on a task split: greedy decoding (KV cache, at most 64 new tokens, stop at
// the end of the line), exact match and edit similarity with bootstrap confidence intervals,
// overall and per family. This is the benchmark's "Pretrained" row when run without an adapter.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateGreedy } from '../model/llama/generate.js';
import type { LlamaModel, ProjectionAdapter } from '../model/llama/model.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import { cutPromptLeft, loadModelWithTokenizer } from './prompting.js';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { loadNative } from '../native/index.js';
import type { Task } from '../data/tasks/types.js';
import { editSimilarity, exactMatch } from './metrics.js';
import { bootstrapMean, type Interval } from './bootstrap.js';
import { Rng } from '../util/rng.js';

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
  seed: number;
  threads: number;
  onProgress?: (done: number, total: number) => void;
}

export interface TaskResult { id: string; repo: string; family: string; target: string; prediction: string; exact: number; edit: number }

export interface EvalReport {
  split: string;
  model: string;
  adapter: string | null;
  tasks: number;
  exactMatch: Interval;
  editSimilarity: Interval;
  perFamily: Record<string, { tasks: number; exactMatch: number; editSimilarity: number }>;
  truncatedPrompts: number;
  seconds: number;
  generatedTokensPerS: number;
  results: TaskResult[];
}

export function readTasks(tasksDir: string, split: string): Task[] {
  const file = join(tasksDir, `${split}.jsonl`);
  if (!existsSync(file)) throw new Error(`no task file ${file} (build tasks with \`code2lora tasks build\`)`);
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  return lines.map((l, i) => {
    let t: Task;
    try { t = JSON.parse(l) as Task; } catch { throw new Error(`${file}:${i + 1}: not valid JSON`); }
    if (typeof t.prefix !== 'string' || typeof t.target !== 'string') throw new Error(`${file}:${i + 1}: task without prefix/target`);
    return t;
  });
}

/** Prompt tokens for a task: the prefix, cut from the left to fit the context (never the target). */
export { cutPromptLeft as taskPrompt } from './prompting.js';

export function predictTasks(model: LlamaModel, tok: TextTokenizer, tasks: Task[], o: {
  maxNewTokens: number; batch: number; adapter?: ProjectionAdapter | null; onProgress?: (done: number, total: number) => void;
}): { predictions: string[]; truncated: number; generated: number } {
  const maxPrompt = model.config.maxPositionEmbeddings - o.maxNewTokens;
  const prompts = tasks.map((t) => cutPromptLeft(tok, t.prefix, maxPrompt));
  // Group by length so left padding wastes little work.
  const order = tasks.map((_, i) => i).sort((a, b) => prompts[a].ids.length - prompts[b].ids.length);
  const predictions = new Array<string>(tasks.length);
  let done = 0, generated = 0;
  for (let s = 0; s < order.length; s += o.batch) {
    const idx = order.slice(s, s + o.batch);
    const gens = generateGreedy(model, idx.map((i) => prompts[i].ids), {
      maxNewTokens: o.maxNewTokens, eosId: tok.eosId, padId: tok.padId, stopStrings: ['\n'],
      decode: (ids) => tok.decode(ids), adapter: o.adapter,
    });
    gens.forEach((g, j) => { predictions[idx[j]] = g.text ?? ''; generated += g.ids.length; });
    done += idx.length;
    o.onProgress?.(done, tasks.length);
  }
  return { predictions, truncated: prompts.filter((p) => p.truncated).length, generated };
}

export function evaluateTasks(o: EvalOptions): EvalReport {
  loadNative().setNumThreads(o.threads);
  const { dir, model, tokenizer: tok } = loadModelWithTokenizer(o.modelDir);
  const adapter = o.adapterDir ? LoraAdapter.loadPeft(o.adapterDir, model.config) : null;
  let tasks = readTasks(o.tasksDir, o.split);
  if (o.limit > 0 && tasks.length > o.limit) {
    // A seeded subset, not the first N (tasks are grouped by repository in the file).
    tasks = new Rng(o.seed).shuffle([...tasks]).slice(0, o.limit);
  }
  const t0 = performance.now();
  const { predictions, truncated, generated } = predictTasks(model, tok, tasks, { ...o, adapter });
  const seconds = (performance.now() - t0) / 1000;
  const results: TaskResult[] = tasks.map((t, i) => ({
    id: t.id, repo: t.repo, family: t.family, target: t.target, prediction: predictions[i],
    exact: exactMatch(predictions[i], t.target) ? 1 : 0, edit: editSimilarity(predictions[i], t.target),
  }));
  const groups = results.map((r) => r.repo);
  const perFamily: EvalReport['perFamily'] = {};
  for (const r of results) {
    const f = (perFamily[r.family] ??= { tasks: 0, exactMatch: 0, editSimilarity: 0 });
    f.tasks++; f.exactMatch += r.exact; f.editSimilarity += r.edit;
  }
  for (const f of Object.values(perFamily)) { f.exactMatch /= f.tasks; f.editSimilarity /= f.tasks; }
  return {
    split: o.split, model: dir, adapter: o.adapterDir ?? null, tasks: results.length,
    exactMatch: bootstrapMean(results.map((r) => r.exact), { seed: o.seed, groups }),
    editSimilarity: bootstrapMean(results.map((r) => r.edit), { seed: o.seed, groups }),
    perFamily, truncatedPrompts: truncated, seconds, generatedTokensPerS: generated / seconds, results,
  };
}
