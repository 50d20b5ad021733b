// Training Code2LoRA-Static (METHOD.md section 1, "Objective"): repository embeddings from the frozen
// base (cached per file), then per update: draw repositories, up to k training tasks of each, run
// the head on their embeddings, and take the target-only loss of one mixed batch in which each
// repository's sequences carry that repository's generated adapter (SegmentLoraAdapter). Only the
// head learns. The kept checkpoint is the one with the lowest cross-repo validation loss averaged per
// repository. Everything goes through trainLoop (atomic checkpoints, exact resume).
// Letters: R repositories in a micro-batch, E embedding width, B sequences, T padded length.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HyperHead } from '../adapters/hyper/head.js';
import {
  validateHyperHeadConfig,
  defaultHyperHeadConfig,
  hyperHeadParameterCount,
  type HyperHeadConfig,
} from '../adapters/hyper/config.js';
import { defaultWindowConfig, tokenizerFingerprint, validateWindowConfig, type WindowConfig } from '../adapters/hyper/encoder.js';
import {
  defaultRepoEmbeddingConfig,
  poolRepository,
  type FileVectors,
  type RepoEmbeddingConfig,
} from '../adapters/hyper/repo-embedding.js';
import { HYPER_FORMAT, Hypernetwork, type HyperSpec } from '../adapters/hyper/hypernet.js';
import { hyperSegmentAdapter } from '../adapters/hyper/mixed.js';
import type { LoraAdapter } from '../adapters/lora/layer.js';
import type { LlamaModel } from '../model/llama/model.js';
import { Tensor, add, addBias, clamp, fromArray, scale } from '../tensor/index.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import type { Task } from '../data/tasks/types.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import { replaceDirAtomicSync } from '../util/atomic-dir.js';
import { Rng } from '../util/rng.js';
import { trainLoop, type StepInfo } from './loop.js';
import { RunRecord, crValChart, type CurvePoint } from './run-record.js';
import { checkTaskTrainingFields, taskTrainLoopConfig } from './task-training-config.js';
import { taskBatch } from './task-batch.js';
import { RepoTaskSampler, SequenceCache, addTargetLoss, groupByRepo } from './task-sampling.js';

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
  /** Contrastive term (not in METHOD.md; 0 = off): w * relu(margin + L_own - L_swapped), where
   *  L_swapped is the same batch scored with each repository's tasks under the next drawn
   *  repository's generated adapter. It asks the head for what the conditioning audit measures (own
   *  beats wrong); a step then costs a second forward and backward. Optional in files (absent = 0). */
  contrastive: number;
  /** the margin of the contrastive hinge, in nats per target token */
  contrastiveMargin: number;
}

/** Fields a config may omit (filled from the defaults), added after configs were written. */
const OPTIONAL_DEFAULTS = { contrastive: 0, contrastiveMargin: 0.05 } as const;

export function defaultHyperTrainConfig(): HyperTrainConfig {
  return {
    head: defaultHyperHeadConfig(),
    encoder: defaultWindowConfig(),
    repo: defaultRepoEmbeddingConfig(),
    maxTokens: 256,
    tasksPerRepo: 8,
    reposPerStep: 2,
    accumulation: 1,
    steps: 600,
    lr: 1e-3,
    minLr: 1e-4,
    warmupFraction: 0.03,
    clip: 1,
    weightDecay: 0.01,
    evalEvery: 50,
    valTasksPerRepo: 16,
    valMaxRepos: 0,
    valBatch: 16,
    checkpointEvery: 25,
    dtype: 'F16',
    seed: 0,
    ...OPTIONAL_DEFAULTS,
  };
}

const KEYS = Object.keys(defaultHyperTrainConfig());

export function validateHyperTrainConfig(
  c: HyperTrainConfig,
  source: string,
  modelHidden: number,
  maxContext: number,
): Readonly<HyperTrainConfig> {
  const fail = (msg: string): never => {
    throw new Error(`hyper train config ${source}: ${msg}`);
  };
  if (typeof c === 'object' && c !== null) c = { ...OPTIONAL_DEFAULTS, ...c };
  checkTaskTrainingFields(c, KEYS, fail);
  if (!(typeof c.contrastive === 'number' && c.contrastive >= 0))
    fail(`contrastive must be a number >= 0, got ${JSON.stringify(c.contrastive)}`);
  if (!(typeof c.contrastiveMargin === 'number' && c.contrastiveMargin >= 0))
    fail(`contrastiveMargin must be a number >= 0, got ${JSON.stringify(c.contrastiveMargin)}`);
  if (!Number.isInteger(c.accumulation) || c.accumulation < 1)
    fail(`accumulation must be a positive integer, got ${JSON.stringify(c.accumulation)}`);
  if (c.dtype !== 'F32' && c.dtype !== 'F16') fail(`dtype must be F32 or F16, got ${JSON.stringify(c.dtype)}`);
  if (c.maxTokens > maxContext) fail(`maxTokens ${c.maxTokens} exceeds the model's context ${maxContext}`);
  const head = validateHyperHeadConfig(c.head, `${source} (head)`);
  if (head.embedDim !== 2 * modelHidden)
    fail(`head.embedDim must be 2 x the base's hidden size (concat of mean and max pooling) = ${2 * modelHidden}, got ${head.embedDim}`);
  const encoder = validateWindowConfig(c.encoder, maxContext);
  const rk = Object.keys(defaultRepoEmbeddingConfig());
  for (const k of Object.keys(c.repo)) if (!rk.includes(k)) fail(`repo: unknown key "${k}" (known: ${rk.join(', ')})`);
  if (!(Number.isInteger(c.repo.maxFiles) && c.repo.maxFiles > 0 && Number.isInteger(c.repo.maxFileBytes) && c.repo.maxFileBytes > 0))
    fail('repo.maxFiles and repo.maxFileBytes must be positive integers');
  if (!(Number.isInteger(c.repo.maxTestFiles) && c.repo.maxTestFiles >= 0))
    fail(`repo.maxTestFiles must be an integer >= 0, got ${JSON.stringify(c.repo.maxTestFiles)}`);
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

export type HyperCurvePoint = CurvePoint;

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

/** Embeds every named repository's files (cached per file); a repository with no folder is an error naming it. */
export function embedRepos(
  hyper: Hypernetwork,
  repos: readonly string[],
  repoDirs: ReadonlyMap<string, string>,
  cacheDir: string | null,
  onEmbed?: (done: number, total: number, repo: string) => void,
): Map<string, FileVectors> {
  const out = new Map<string, FileVectors>();
  let i = 0;
  for (const repo of repos) {
    const dir = repoDirs.get(repo);
    if (!dir) throw new Error(`hyper train: repository ${repo} has tasks but no folder in the corpus`);
    onEmbed?.(i++, repos.length, repo);
    // a repository with no readable Python file has no embedding: the caller drops and reports it
    try {
      out.set(repo, hyper.fileVectors(dir, cacheDir));
    } catch {
      /* reported by the caller */
    }
  }
  onEmbed?.(repos.length, repos.length, '');
  return out;
}

interface ValGroup {
  repo: string;
  key: string;
  file: string;
  seqs: ReturnType<SequenceCache['get']>[];
}

/** A fixed seeded validation subset (at most `perRepo` tasks per repository, at most `maxRepos`
 *  repositories), grouped by adapter key. */
function hyperValidationGroups(
  hyper: Hypernetwork,
  tasks: readonly Task[],
  cache: SequenceCache,
  perRepo: number,
  maxRepos: number,
  seed: number,
): { groups: ValGroup[]; repos: string[]; tasks: number } {
  const rng = new Rng(seed).fork('validation');
  let byRepo = [...groupByRepo(tasks).entries()];
  if (maxRepos > 0 && byRepo.length > maxRepos)
    byRepo = rng
      .fork('repos')
      .shuffle(byRepo)
      .slice(0, maxRepos)
      .sort(([a], [b]) => (a < b ? -1 : 1));
  const groups = new Map<string, ValGroup>();
  let n = 0;
  for (const [repo, ts] of byRepo) {
    const pick =
      perRepo > 0 && ts.length > perRepo
        ? rng
            .fork(`tasks:${repo}`)
            .shuffle([...ts])
            .slice(0, perRepo)
        : ts;
    for (const t of pick) {
      const s = cache.get(t);
      if (!s) continue;
      const key = hyper.adapterKey(t);
      let g = groups.get(key);
      if (!g) {
        g = { repo, key, file: t.file, seqs: [] };
        groups.set(key, g);
      }
      g.seqs.push(s);
      n++;
    }
  }
  if (n === 0) throw new Error('hyper train: no validation task fits maxTokens');
  return { groups: [...groups.values()], repos: [...new Set([...groups.values()].map((g) => g.repo))], tasks: n };
}

/** Target-token loss per repository (its groups pooled), then the mean over repositories. */
function hyperValidationLoss(
  model: LlamaModel,
  groups: ValGroup[],
  padId: number,
  batch: number,
  adapterFor: (g: ValGroup) => LoraAdapter | null,
): number {
  const perRepo = new Map<string, { sum: number; count: number }>();
  for (const g of groups) {
    const adapter = adapterFor(g);
    const acc = perRepo.get(g.repo) ?? { sum: 0, count: 0 };
    addTargetLoss(acc, model, g.seqs as NonNullable<ValGroup['seqs'][number]>[], padId, batch, adapter);
    perRepo.set(g.repo, acc);
  }
  let sum = 0;
  for (const a of perRepo.values()) sum += a.sum / a.count;
  return sum / perRepo.size;
}

export function hyperSpec(
  cfg: Readonly<HyperTrainConfig>,
  baseModelSha256: string,
  tok: TextTokenizer,
  training?: Record<string, unknown>,
): HyperSpec {
  return {
    format: HYPER_FORMAT,
    version: 1,
    baseModelSha256,
    tokenizer: tokenizerFingerprint(tok),
    encoder: { kind: 'base-mean-pool', window: cfg.encoder, repo: cfg.repo },
    dtype: cfg.dtype,
    training,
  };
}

export function trainHypernetwork(run: HyperTrainRun): HyperTrainSummary | null {
  const model = run.model;
  const cfg = validateHyperTrainConfig(run.config, 'hyper train', model.config.hiddenSize, model.config.maxPositionEmbeddings);
  if (run.train.length === 0) throw new Error('hyper train: no training tasks');
  if (run.val.length === 0) throw new Error('hyper train: no validation tasks (the cross-repo validation loss chooses the checkpoint)');
  model.setTrainable(false);
  mkdirSync(run.out, { recursive: true });
  const tok = run.tokenizer,
    padId = tok.padId;
  const head = HyperHead.init(cfg.head, model.config, new Rng(cfg.seed).fork('head-init'));
  const hyper = new Hypernetwork(head, hyperSpec(cfg, run.baseModelSha256, tok), model, tok);

  const allTrain = new RepoTaskSampler(run.train, tok, { maxTokens: cfg.maxTokens, tasksPerRepo: cfg.tasksPerRepo });
  const allVal = hyperValidationGroups(
    hyper,
    run.val,
    new SequenceCache(tok, cfg.maxTokens),
    cfg.valTasksPerRepo,
    cfg.valMaxRepos,
    cfg.seed,
  );
  const t0 = performance.now();
  const files = embedRepos(hyper, [...allTrain.repos, ...allVal.repos], run.repoDirs, run.cacheDir, run.onEmbed);
  const embedSeconds = (performance.now() - t0) / 1000;
  // repositories without any readable Python file have no embedding: dropped, and recorded
  const unembedded = [...allTrain.repos, ...allVal.repos].filter((r) => !files.has(r));
  const sampler =
    unembedded.length === 0
      ? allTrain
      : new RepoTaskSampler(run.train, tok, {
          maxTokens: cfg.maxTokens,
          tasksPerRepo: cfg.tasksPerRepo,
          repos: allTrain.repos.filter((r) => files.has(r)),
        });
  const val = { ...allVal, groups: allVal.groups.filter((g) => files.has(g.repo)), repos: allVal.repos.filter((r) => files.has(r)) };
  if (val.groups.length === 0) throw new Error('hyper train: no validation repository could be embedded');
  const E = cfg.head.embedDim;
  // one pooled vector per adapter key: the repository, or (repository, own test file left out)
  const pooled = new Map<string, Float32Array>();
  const vectorFor = (t: Pick<Task, 'repo' | 'file'>): Float32Array => {
    const key = hyper.adapterKey(t);
    let v = pooled.get(key);
    if (!v) {
      v = poolRepository(files.get(t.repo)!, hyper.perTestFile ? t.file : undefined);
      pooled.set(key, v);
    }
    return v;
  };
  // inputNorm: standardise with the training repositories' statistics (one whole-repository vector
  // each, computed before any step, so a resumed run sets the same buffers)
  const inputStats = cfg.head.inputNorm ? head.setInputStats(sampler.repos.map((r) => poolRepository(files.get(r)!))) : null;
  const embTensor = (vs: readonly Float32Array[]) => {
    const data = new Float32Array(vs.length * E);
    vs.forEach((v, i) => data.set(v, i * E));
    return new Tensor(data, [vs.length, E]); // [R, E]
  };
  const valAdapter = (g: ValGroup) => hyper.adapterFromEmbedding(vectorFor({ repo: g.repo, file: g.file }));
  const baseValLoss = hyperValidationLoss(model, val.groups, padId, cfg.valBatch, () => null);

  const rec = new RunRecord({ out: run.out, bestDirName: 'hypernet', evalEvery: cfg.evalEvery, steps: cfg.steps });
  const writeCurve = () =>
    rec.writeCurve(crValChart('Code2LoRA-Static: target-token loss', 'train (target tokens, per step)', baseValLoss));
  const params = head.parameters();
  const loop = trainLoop(
    params,
    taskTrainLoopConfig(cfg, { accumulation: cfg.accumulation, checkpointPath: rec.statePath, stopAfter: run.stopAfter }),
    {
      microStep(tape, rng) {
        // R repositories (distinct when there are enough), k tasks each, one mixed batch
        const repos: string[] = [];
        while (repos.length < Math.min(cfg.reposPerStep, sampler.repos.length)) {
          const r = sampler.repos[rng.int(sampler.repos.length)];
          if (!repos.includes(r)) repos.push(r);
        }
        const draws = repos.map((r) => sampler.fromRepo(r, rng, padId));
        // sequences grouped by adapter key, in draw order: one head row (one adapter) per group
        const groups = new Map<string, { repo: string; vector: Float32Array; seqs: (typeof draws)[number]['seqs'] }>();
        for (const d of draws)
          d.tasks.forEach((t, i) => {
            const key = hyper.adapterKey(t);
            let g = groups.get(key);
            if (!g) {
              g = { repo: t.repo, vector: vectorFor(t), seqs: [] };
              groups.set(key, g);
            }
            g.seqs.push(d.seqs[i]);
          });
        const gs = [...groups.values()];
        const tb = taskBatch(
          gs.flatMap((g) => g.seqs),
          padId,
        );
        const outputs = head.forward(tape, embTensor(gs.map((g) => g.vector))); // one adapter per group, on the tape
        const adapter = hyperSegmentAdapter(
          head,
          outputs,
          gs.map((g) => g.seqs.length),
          tb.batch.T,
        );
        const r = model.loss(tape, tb.batch, tb.targets, adapter);
        rec.targetTokens += r.count;
        if (cfg.contrastive > 0 && repos.length > 1) {
          // each group's tasks under the next repository's first adapter: own must beat it by the margin
          const firstOf = new Map<string, number>();
          gs.forEach((g, i) => firstOf.has(g.repo) || firstOf.set(g.repo, i));
          const swappedOf = (g: (typeof gs)[number]) => outputs[firstOf.get(repos[(repos.indexOf(g.repo) + 1) % repos.length])!];
          const swapped = hyperSegmentAdapter(
            head,
            gs.map(swappedOf),
            gs.map((g) => g.seqs.length),
            tb.batch.T,
          );
          const rs = model.loss(tape, tb.batch, tb.targets, swapped);
          const gap = add(tape, r.loss, scale(tape, rs.loss, -1)); // L_own - L_swapped
          const hinge = clamp(tape, addBias(tape, gap, fromArray([cfg.contrastiveMargin], [1], gap.dtype)), 0, Number.MAX_VALUE);
          return { loss: add(tape, r.loss, scale(tape, hinge, cfg.contrastive)), tokens: 2 * tb.tokens };
        }
        return { loss: r.loss, tokens: tb.tokens };
      },
      onStep(info) {
        const point = rec.step(
          info,
          () => hyperValidationLoss(model, val.groups, padId, cfg.valBatch, valAdapter),
          (tmp) => hyper.save(tmp),
        );
        run.onStep?.({ ...info, valLoss: point.valLoss });
      },
      onCheckpoint: () => writeCurve(),
    },
  );
  if (loop.steps < cfg.steps) return null;
  writeCurve();
  const summary: HyperTrainSummary = {
    bestStep: rec.best.step,
    bestValLoss: rec.best.valLoss,
    baseValLoss,
    tokensSeen: rec.tokens,
    targetTokensSeen: rec.targetTokens,
    tokenBudget: hyperTokenBudget(cfg),
    seconds: rec.seconds,
    embedSeconds,
    headParameters: hyperHeadParameterCount(cfg.head, model.config),
    best: rec.bestDir,
  };
  const embedReport = [...files].map(([repo, { report: e }]) => ({
    repo,
    files: e.files,
    windows: e.windows,
    cappedFiles: e.cappedFiles,
    cappedWindows: e.cappedWindows,
    skipped: e.skipped.length,
  }));
  const training = {
    command: run.command,
    config: cfg,
    trainRepos: sampler.repos.length,
    droppedRepos: sampler.droppedRepos,
    unembeddedRepos: unembedded,
    inputStats,
    valRepos: val.repos.length,
    valTasks: val.tasks,
    ...summary,
  };
  // the kept checkpoint carries its training record in hyper.json
  const bestNet = Hypernetwork.load(rec.bestDir, model, tok, run.baseModelSha256);
  replaceDirAtomicSync(rec.bestDir, (tmp) =>
    new Hypernetwork(bestNet.head, { ...bestNet.spec, training: { ...training, best: undefined } }, model, tok).save(tmp),
  );
  writeFileAtomicSync(join(run.out, 'training.json'), JSON.stringify({ ...training, embeddings: embedReport }, null, 2) + '\n');
  rmSync(rec.statePath, { force: true });
  return summary;
}
