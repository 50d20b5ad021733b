// Training Code2LoRA-Static (METHOD.md section 1, "Objective"): repository embeddings from the frozen
// base (cached per file), then per update: draw repositories, up to k training tasks of each, run
// the head on their embeddings, and take the target-only loss of one mixed batch in which each
// repository's sequences carry that repository's generated adapter (SegmentLoraAdapter). Only the
// head learns. The kept checkpoint is the one with the lowest cross-repo validation loss averaged per
// repository. Everything goes through trainLoop (atomic checkpoints, exact resume).
// Letters: R repositories in a micro-batch, E embedding width, B sequences, T padded length.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HyperHead } from '../adapters/hyper/head.js';
import { validateHyperHeadConfig, defaultHyperHeadConfig, hyperHeadParameterCount, type HyperHeadConfig } from '../adapters/hyper/config.js';
import { defaultWindowConfig, tokenizerFingerprint, validateWindowConfig, type WindowConfig } from '../adapters/hyper/encoder.js';
import { defaultRepoEmbeddingConfig, type RepoEmbedding, type RepoEmbeddingConfig } from '../adapters/hyper/repo-embedding.js';
import { HYPER_FORMAT, Hypernetwork, type HyperSpec } from '../adapters/hyper/hypernet.js';
import { hyperSegmentAdapter } from '../adapters/hyper/mixed.js';
import type { LlamaModel } from '../model/llama/model.js';
import { Tensor } from '../tensor/index.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import type { Task } from '../data/tasks/types.js';
import { lineChartSvg } from '../util/svg-plot.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import { removeDirLeftovers, replaceDirAtomicSync } from '../util/atomic-dir.js';
import { Rng } from '../util/rng.js';
import { trainLoop, type StepInfo } from './loop.js';
import { taskBatch } from './task-batch.js';
import { RepoTaskSampler, perRepoValidationLoss, validationSet } from './task-sampling.js';

export interface HyperTrainConfig {
  head: HyperHeadConfig;
  encoder: WindowConfig;
  repo: RepoEmbeddingConfig;
  /** tokens per training sequence: prefix cut from the left to fit, never the target */
  maxTokens: number;
  /** tasks drawn from each repository of a micro-batch */
  tasksPerRepo: number;
  /** repositories mixed in one micro-batch (each with its own generated adapter) */
  reposPerStep: number;
  /** micro-batches per optimiser update */
  accumulation: number;
  steps: number;
  lr: number;
  minLr: number;
  /** warm-up as a share of the steps (METHOD.md: 3%) */
  warmupFraction: number;
  clip: number;
  weightDecay: number;
  evalEvery: number;
  valTasksPerRepo: number;
  valMaxRepos: number;
  valBatch: number;
  checkpointEvery: number;
  /** storage of the shipped head */
  dtype: 'F32' | 'F16';
  seed: number;
}

export function defaultHyperTrainConfig(): HyperTrainConfig {
  return {
    head: defaultHyperHeadConfig(), encoder: defaultWindowConfig(), repo: defaultRepoEmbeddingConfig(),
    maxTokens: 256, tasksPerRepo: 8, reposPerStep: 2, accumulation: 1, steps: 600, lr: 1e-3, minLr: 1e-4, warmupFraction: 0.03,
    clip: 1, weightDecay: 0.01, evalEvery: 50, valTasksPerRepo: 16, valMaxRepos: 0, valBatch: 16, checkpointEvery: 25, dtype: 'F16', seed: 0,
  };
}

const KEYS = Object.keys(defaultHyperTrainConfig());

export function validateHyperTrainConfig(c: HyperTrainConfig, source: string, modelHidden: number, maxContext: number): Readonly<HyperTrainConfig> {
  const fail = (msg: string): never => { throw new Error(`hyper train config ${source}: ${msg}`); };
  if (typeof c !== 'object' || c === null) fail(`expected an object, got ${JSON.stringify(c)}`);
  for (const k of Object.keys(c)) if (!KEYS.includes(k)) fail(`unknown key "${k}" (known: ${KEYS.join(', ')})`);
  for (const k of KEYS) if ((c as unknown as Record<string, unknown>)[k] === undefined) fail(`missing key "${k}"`);
  for (const k of ['maxTokens', 'tasksPerRepo', 'reposPerStep', 'accumulation', 'steps', 'evalEvery', 'valBatch', 'checkpointEvery'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) fail(`${k} must be a positive integer, got ${JSON.stringify(c[k])}`);
  }
  for (const k of ['valTasksPerRepo', 'valMaxRepos', 'seed'] as const) if (!Number.isInteger(c[k]) || c[k] < 0) fail(`${k} must be an integer >= 0, got ${JSON.stringify(c[k])}`);
  for (const k of ['lr', 'minLr', 'clip'] as const) if (!(typeof c[k] === 'number' && c[k] > 0)) fail(`${k} must be > 0, got ${JSON.stringify(c[k])}`);
  if (!(c.weightDecay >= 0)) fail(`weightDecay must be >= 0`);
  if (!(c.warmupFraction >= 0 && c.warmupFraction < 1)) fail(`warmupFraction must be in [0, 1)`);
  if (c.dtype !== 'F32' && c.dtype !== 'F16') fail(`dtype must be F32 or F16, got ${JSON.stringify(c.dtype)}`);
  if (c.maxTokens > maxContext) fail(`maxTokens ${c.maxTokens} exceeds the model's context ${maxContext}`);
  const head = validateHyperHeadConfig(c.head, `${source} (head)`);
  if (head.embedDim !== 2 * modelHidden) fail(`head.embedDim must be 2 x the base's hidden size (concat of mean and max pooling) = ${2 * modelHidden}, got ${head.embedDim}`);
  const encoder = validateWindowConfig(c.encoder, maxContext);
  const rk = Object.keys(defaultRepoEmbeddingConfig());
  for (const k of Object.keys(c.repo)) if (!rk.includes(k)) fail(`repo: unknown key "${k}" (known: ${rk.join(', ')})`);
  if (!(Number.isInteger(c.repo.maxFiles) && c.repo.maxFiles > 0 && Number.isInteger(c.repo.maxFileBytes) && c.repo.maxFileBytes > 0)) fail('repo.maxFiles and repo.maxFileBytes must be positive integers');
  return Object.freeze({ ...c, head, encoder, repo: Object.freeze({ ...c.repo }) });
}

/** The most tokens the run can train on (the bound shared with the fine-tuned baselines). */
export function hyperTokenBudget(c: HyperTrainConfig): number {
  return c.steps * c.accumulation * c.reposPerStep * c.tasksPerRepo * c.maxTokens;
}

export interface HyperTrainRun {
  config: HyperTrainConfig;
  /** the frozen base */
  model: LlamaModel;
  baseModelSha256: string;
  tokenizer: TextTokenizer;
  train: readonly Task[];
  /** cross-repo validation tasks (cr-val) */
  val: readonly Task[];
  /** repository name -> its folder (from the corpus manifest) */
  repoDirs: ReadonlyMap<string, string>;
  /** per-file embedding cache (null: none) */
  cacheDir: string | null;
  out: string;
  command: string;
  onEmbed?: (done: number, total: number, repo: string) => void;
  onStep?: (info: StepInfo & { valLoss?: number }) => void;
  stopAfter?: number;
}

export interface HyperCurvePoint { step: number; loss: number; tokens: number; targetTokens: number; seconds: number; valLoss?: number }

export interface HyperTrainSummary {
  bestStep: number;
  bestValLoss: number;
  /** validation loss of the base model without any adapter, on the same set (the floor to beat) */
  baseValLoss: number;
  tokensSeen: number;
  targetTokensSeen: number;
  tokenBudget: number;
  seconds: number;
  embedSeconds: number;
  headParameters: number;
  best: string;
}

/** Embeds every named repository (cached per file); a repository with no folder is an error naming it. */
export function embedRepos(hyper: Hypernetwork, repos: readonly string[], repoDirs: ReadonlyMap<string, string>, cacheDir: string | null,
  onEmbed?: (done: number, total: number, repo: string) => void): Map<string, RepoEmbedding> {
  const out = new Map<string, RepoEmbedding>();
  let i = 0;
  for (const repo of repos) {
    const dir = repoDirs.get(repo);
    if (!dir) throw new Error(`hyper train: repository ${repo} has tasks but no folder in the corpus`);
    onEmbed?.(i++, repos.length, repo);
    out.set(repo, hyper.embed(dir, cacheDir));
  }
  onEmbed?.(repos.length, repos.length, '');
  return out;
}

export function hyperSpec(cfg: Readonly<HyperTrainConfig>, baseModelSha256: string, tok: TextTokenizer, training?: Record<string, unknown>): HyperSpec {
  return { format: HYPER_FORMAT, version: 1, baseModelSha256, tokenizer: tokenizerFingerprint(tok), encoder: { kind: 'base-mean-pool', window: cfg.encoder, repo: cfg.repo }, dtype: cfg.dtype, training };
}

export function trainHypernetwork(run: HyperTrainRun): HyperTrainSummary | null {
  const model = run.model;
  const cfg = validateHyperTrainConfig(run.config, 'hyper train', model.config.hiddenSize, model.config.maxPositionEmbeddings);
  if (run.train.length === 0) throw new Error('hyper train: no training tasks');
  if (run.val.length === 0) throw new Error('hyper train: no validation tasks (the cross-repo validation loss chooses the checkpoint)');
  model.setTrainable(false);
  mkdirSync(run.out, { recursive: true });
  const tok = run.tokenizer, padId = tok.padId;
  const head = HyperHead.init(cfg.head, model.config, new Rng(cfg.seed).fork('head-init'));
  const hyper = new Hypernetwork(head, hyperSpec(cfg, run.baseModelSha256, tok), model, tok);

  const sampler = new RepoTaskSampler(run.train, tok, { maxTokens: cfg.maxTokens, tasksPerRepo: cfg.tasksPerRepo });
  const valSet = validationSet(run.val, tok, { maxTokens: cfg.maxTokens, batch: cfg.valBatch, tasksPerRepo: cfg.valTasksPerRepo, maxRepos: cfg.valMaxRepos, seed: cfg.seed });
  const t0 = performance.now();
  const embeddings = embedRepos(hyper, [...sampler.repos, ...valSet.repos.keys()], run.repoDirs, run.cacheDir, run.onEmbed);
  const embedSeconds = (performance.now() - t0) / 1000;
  const E = cfg.head.embedDim;
  const embTensor = (repos: readonly string[]) => {
    const data = new Float32Array(repos.length * E);
    repos.forEach((r, i) => data.set(embeddings.get(r)!.vector, i * E));
    return new Tensor(data, [repos.length, E]); // [R, E]
  };
  const adapterFor = (repo: string) => hyper.adapterFromEmbedding(embeddings.get(repo)!.vector);
  const baseValLoss = perRepoValidationLoss(model, valSet, padId, cfg.valBatch, () => null).loss;

  const curvePath = join(run.out, 'loss-curve.json'), bestPath = join(run.out, 'best.json');
  const bestDir = join(run.out, 'hypernet');
  const statePath = join(run.out, 'training-state.safetensors');
  removeDirLeftovers(bestDir);
  const resuming = existsSync(statePath);
  let curve: HyperCurvePoint[] = resuming && existsSync(curvePath) ? JSON.parse(readFileSync(curvePath, 'utf8')) : [];
  let best: { step: number; valLoss: number } = resuming && existsSync(bestPath) && existsSync(bestDir) ? JSON.parse(readFileSync(bestPath, 'utf8')) : { step: 0, valLoss: Infinity };
  const last = () => curve[curve.length - 1];
  let tokens = last()?.tokens ?? 0, targetTokens = last()?.targetTokens ?? 0, seconds = last()?.seconds ?? 0;
  const writeCurve = () => {
    writeFileAtomicSync(curvePath, JSON.stringify(curve));
    writeFileAtomicSync(join(run.out, 'loss-curve.svg'), lineChartSvg([
      { label: 'train (target tokens, per step)', points: curve.map((c) => [c.step, c.loss] as [number, number]) },
      { label: 'cr-val (mean over repositories)', points: curve.filter((c) => c.valLoss !== undefined).map((c) => [c.step, c.valLoss!] as [number, number]) },
      { label: 'cr-val, base model without adapter', points: curve.length ? [[curve[0].step, baseValLoss], [curve[curve.length - 1].step, baseValLoss]] : [] },
    ], { title: 'Code2LoRA-Static: target-token loss', xLabel: 'update', yLabel: 'loss (nats/token)' }));
  };
  const params = head.parameters();
  const loop = trainLoop(params, {
    steps: cfg.steps, accumulation: cfg.accumulation, lr: cfg.lr, minLr: cfg.minLr, warmupSteps: Math.round(cfg.warmupFraction * cfg.steps),
    clip: cfg.clip, adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: cfg.weightDecay }, seed: cfg.seed,
    checkpointEvery: cfg.checkpointEvery, checkpointPath: statePath, stopAfter: run.stopAfter,
  }, {
    microStep(tape, rng) {
      // R repositories (distinct when there are enough), k tasks each, one mixed batch
      const repos: string[] = [];
      while (repos.length < Math.min(cfg.reposPerStep, sampler.repos.length)) {
        const r = sampler.repos[rng.int(sampler.repos.length)];
        if (!repos.includes(r)) repos.push(r);
      }
      const draws = repos.map((r) => sampler.fromRepo(r, rng, padId));
      const tb = taskBatch(draws.flatMap((d) => d.seqs), padId);
      const outputs = head.forward(tape, embTensor(repos)); // R adapters on the tape
      const adapter = hyperSegmentAdapter(head, outputs, draws.map((d) => d.seqs.length), tb.batch.T);
      const r = model.loss(tape, tb.batch, tb.targets, adapter);
      targetTokens += r.count;
      return { loss: r.loss, tokens: tb.tokens };
    },
    onStep(info) {
      tokens += info.tokens; seconds += info.seconds;
      const point: HyperCurvePoint = { step: info.step, loss: info.loss, tokens, targetTokens, seconds };
      if (info.step % cfg.evalEvery === 0 || info.step === cfg.steps) {
        const v0 = performance.now();
        point.valLoss = perRepoValidationLoss(model, valSet, padId, cfg.valBatch, adapterFor).loss;
        if (point.valLoss < best.valLoss) {
          best = { step: info.step, valLoss: point.valLoss };
          replaceDirAtomicSync(bestDir, (tmp) => hyper.save(tmp));
          writeFileAtomicSync(bestPath, JSON.stringify(best));
        }
        seconds += (performance.now() - v0) / 1000;
        point.seconds = seconds;
      }
      curve.push(point);
      run.onStep?.({ ...info, valLoss: point.valLoss });
    },
    onCheckpoint: () => writeCurve(),
  });
  if (loop.steps < cfg.steps) return null;
  writeCurve();
  const summary: HyperTrainSummary = {
    bestStep: best.step, bestValLoss: best.valLoss, baseValLoss, tokensSeen: tokens, targetTokensSeen: targetTokens, tokenBudget: hyperTokenBudget(cfg),
    seconds, embedSeconds, headParameters: hyperHeadParameterCount(cfg.head, model.config), best: bestDir,
  };
  const embedReport = [...embeddings].map(([repo, e]) => ({ repo, files: e.files, windows: e.windows, cappedFiles: e.cappedFiles, cappedWindows: e.cappedWindows, skipped: e.skipped.length }));
  const training = { command: run.command, config: cfg, trainRepos: sampler.repos.length, droppedRepos: sampler.droppedRepos, valRepos: valSet.repos.size, valTasks: valSet.tasks, ...summary };
  // the kept checkpoint carries its training record in hyper.json
  const bestNet = Hypernetwork.load(bestDir, model, tok, run.baseModelSha256);
  replaceDirAtomicSync(bestDir, (tmp) => new Hypernetwork(bestNet.head, { ...bestNet.spec, training: { ...training, best: undefined } }, model, tok).save(tmp));
  writeFileAtomicSync(join(run.out, 'training.json'), JSON.stringify({ ...training, embeddings: embedReport }, null, 2) + '\n');
  rmSync(statePath, { force: true });
  curve = [];
  return summary;
}
