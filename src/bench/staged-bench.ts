// What `bench static` and `bench evo-track` share around the stage runner (bench/stage-runner.ts):
// their common options and result, the base model's hashes and the check that a task folder was built
// for it, and the pieces of a stage context that both build the same way (a fresh base model per
// call, memoised per-split hashes and task lists, a finished stage's artefact folder).
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelWithTokenizer } from '../eval/prompting.js';
import type { LlamaModel } from '../model/llama/model.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import type { Progress } from '../util/progress.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import { fileSha256, hashJson, stageDir } from './stage-cache.js';
import type { StageRunResult } from './stage-runner.js';

export interface StagedBenchOptions<S> {
  tasksDir: string;
  out: string;
  modelDir?: string;
  /** run only these stages (a full name, or a method id for all its stages), plus unfinished deps */
  only?: string[];
  dryRun?: boolean;
  command: string;
  log?: (line: string) => void;
  progress?: (label: string, total: number) => Progress;
  /** stages to use instead of the full table (tests) */
  stages?: S[];
}

/** What every staged bench's stage context offers (each adds its config, hashes and tasks). */
export interface StagedBenchContext {
  out: string;
  tasksDir: string;
  modelDir: string;
  /** a fresh copy of the base model (training changes it) and its tokenizer */
  base(): BaseCopy;
  /** the artefact folder of a finished stage */
  artefact(stage: string): string;
  progress(label: string, total: number): Progress;
  log(line: string): void;
  command: string;
}

export interface BaseCopy {
  model: LlamaModel;
  tok: TextTokenizer;
  tokenizerJson: string;
  tokenizerConfigJson?: string;
}

export interface StagedBenchResult extends StageRunResult {
  /** the files the report wrote (none on a dry run) */
  report: string[];
}

export const silentProgress: Progress = { update() {}, stop() {} };

/** SHA-256 of the shipped base: weights, config and tokenizer together. */
export function baseModelHashes(dir: string): { base: string; tokenizer: string } {
  const files = ['config.json', 'model.safetensors', 'tokenizer.json'];
  for (const f of files) if (!existsSync(join(dir, f))) throw new Error(`bench: base model ${dir} has no ${f}`);
  const tokenizer = fileSha256(join(dir, 'tokenizer.json'));
  return {
    base: hashJson(Object.fromEntries(files.map((f) => [f, f === 'tokenizer.json' ? tokenizer : fileSha256(join(dir, f))]))),
    tokenizer,
  };
}

/** Refuses a task folder that names another tokenizer or base model (stats.json `tokenizer.sha256`,
 *  `baseModel.sha256`), with both hashes. */
export function checkTasksMatchBase(tasksDir: string, stats: Record<string, unknown>, base: { base: string; tokenizer: string }): void {
  const named = (k: string) => {
    const v = stats[k] as { sha256?: unknown } | undefined;
    return v && typeof v.sha256 === 'string' ? v.sha256 : undefined;
  };
  const tok = named('tokenizer'),
    model = named('baseModel');
  if (tok && tok !== base.tokenizer) {
    throw new Error(
      `bench: ${join(tasksDir, 'stats.json')} was built with tokenizer ${tok}, but the base model's tokenizer.json is ${base.tokenizer}`,
    );
  }
  if (model && model !== base.base)
    throw new Error(`bench: ${join(tasksDir, 'stats.json')} was built for base model ${model}, but this base model is ${base.base}`);
}

/** `f` computed once per key. */
export function memo<K, V>(f: (key: K) => V): (key: K) => V {
  const seen = new Map<K, V>();
  return (key) => {
    if (!seen.has(key)) seen.set(key, f(key));
    return seen.get(key) as V;
  };
}

/** A context's base(): every call gets fresh weights (training changes them); the first call's
 *  tokenizer is reused. */
export function baseLoader(modelDir: string): () => BaseCopy {
  let loaded: ReturnType<typeof loadModelWithTokenizer> | undefined;
  return () => {
    const fresh = loadModelWithTokenizer(modelDir);
    loaded ??= fresh;
    const tcfg = join(modelDir, 'tokenizer_config.json');
    return {
      model: fresh.model,
      tok: loaded.tokenizer,
      tokenizerJson: readFileSync(join(modelDir, 'tokenizer.json'), 'utf8'),
      tokenizerConfigJson: existsSync(tcfg) ? readFileSync(tcfg, 'utf8') : undefined,
    };
  };
}

/** A context's artefact(): the folder of a finished stage, or an error starting with `who`. */
export function artefactLookup(out: string, who: string): (stage: string) => string {
  return (stage) => {
    const dir = stageDir(out, stage);
    if (!existsSync(join(dir, 'stage.json'))) throw new Error(`${who}: stage ${stage} has no finished artefact in ${dir}`);
    return dir;
  };
}

/** A training stage's artefact: the chosen checkpoint folder `best` copied to `dir/name`, and the run
 *  records of `work` (training.json, loss curve) beside it, with training.json's `best` pointing at
 *  `name` (the copy committed with the stage, not the scratch folder the run wrote). */
export function copyTrainingArtefact(best: string, work: string, dir: string, name: string): void {
  cpSync(best, join(dir, name), { recursive: true });
  for (const f of ['loss-curve.json', 'loss-curve.svg']) if (existsSync(join(work, f))) cpSync(join(work, f), join(dir, f));
  copyTrainingRecord(join(work, 'training.json'), join(dir, 'training.json'), name);
}

/** Copies a training.json, its `best` field replaced by `best` (a path relative to the copy). */
export function copyTrainingRecord(from: string, to: string, best: string): void {
  if (!existsSync(from)) return;
  const rec = JSON.parse(readFileSync(from, 'utf8')) as Record<string, unknown>;
  writeFileAtomicSync(to, JSON.stringify({ ...rec, ...('best' in rec ? { best } : {}) }, null, 2) + '\n');
}
