// Training Code2LoRA-Evo (METHOD.md section 1): per update, one training repository and one window of
// W consecutive kept commits. The state entering the window is computed from h0 without the tape
// (truncated BPTT: the gradient is cut at every window start, and the prefix always uses the current
// weights); inside the window, one GRU step per commit on the tape, each commit's adapter read out by
// the head, and the target-only loss of one mixed batch in which commit t's tasks carry commit t's
// adapter. The window is drawn from the data RNG, so trainLoop's checkpoint (weights, moments, step,
// RNG) is the whole training state and a killed run resumes exactly. The cross-repo validation loss
// (each cr-val repository replayed from its first kept commit, mean over repositories) picks the
// checkpoint. Repository embeddings (at each first kept commit) and diff embeddings are computed once
// before the first step, through the on-disk caches.
// Letters: W commits per window, S state width, E embedding width, B sequences, T padded length.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { HyperHead } from '../adapters/hyper/head.js';
import { defaultHyperHeadConfig, validateHyperHeadConfig, type HyperHeadConfig } from '../adapters/hyper/config.js';
import { defaultWindowConfig, tokenizerFingerprint, validateWindowConfig, type WindowConfig } from '../adapters/hyper/encoder.js';
import { defaultRepoEmbeddingConfig, type RepoEmbeddingConfig } from '../adapters/hyper/repo-embedding.js';
import { defaultDiffEmbeddingConfig, validateDiffEmbeddingConfig, type DiffEmbeddingConfig } from '../adapters/hyper/diff-embedding.js';
import { EVO_FORMAT, EvoNet, EvoNetwork, type EvoSpec } from '../adapters/hyper/evo.js';
import { hyperSegmentAdapter } from '../adapters/hyper/mixed.js';
import type { LlamaModel } from '../model/llama/model.js';
import { Tensor } from '../tensor/index.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import type { EvoTask } from '../data/tasks/types.js';
import type { TrackCommit } from '../data/evo/track.js';
import { withCommitSnapshot } from '../data/evo/snapshot.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import { replaceDirAtomicSync } from '../util/atomic-dir.js';
import { Rng } from '../util/rng.js';
import { trainLoop, type StepInfo } from './loop.js';
import { RunRecord, crValChart, type CurvePoint } from './run-record.js';
import { taskTrainLoopConfig } from './task-training-config.js';
import { taskBatch, type TaskSequence } from './task-batch.js';
import { SequenceCache, addTargetLoss, drawWithoutReplacement } from './task-sampling.js';

export interface EvoTrainConfig {
  /** the readout head; head.embedDim is the state width S */
  head: HyperHeadConfig;
  encoder: WindowConfig;
  repo: RepoEmbeddingConfig;
  diff: DiffEmbeddingConfig;
  /** W: commits per truncated-BPTT window (the gradient is cut at each window start) */
  window: number;
  maxTokens: number;
  /** tasks drawn from each commit of a window */
  tasksPerCommit: number;
  /** at most this many training repositories (seeded sample; 0 = all) */
  maxRepos: number;
  /** each repository's first N kept commits (0 = all): the budget cap on history length */
  maxCommitsPerRepo: number;
  steps: number;
  lr: number;
  minLr: number;
  warmupFraction: number;
  clip: number;
  weightDecay: number;
  evalEvery: number;
  valTasksPerRepo: number;
  valMaxRepos: number;
  valBatch: number;
  checkpointEvery: number;
  dtype: 'F32' | 'F16';
  seed: number;
}

export function defaultEvoTrainConfig(): EvoTrainConfig {
  return {
    head: defaultHyperHeadConfig(),
    encoder: defaultWindowConfig(),
    repo: defaultRepoEmbeddingConfig(),
    diff: defaultDiffEmbeddingConfig(),
    window: 4,
    maxTokens: 256,
    tasksPerCommit: 4,
    maxRepos: 0,
    maxCommitsPerRepo: 48,
    steps: 600,
    lr: 5e-4,
    minLr: 5e-5,
    warmupFraction: 0.03,
    clip: 1,
    weightDecay: 0.01,
    evalEvery: 50,
    valTasksPerRepo: 24,
    valMaxRepos: 0,
    valBatch: 16,
    checkpointEvery: 25,
    dtype: 'F16',
    seed: 0,
  };
}

const KEYS = Object.keys(defaultEvoTrainConfig());

export function validateEvoTrainConfig(
  c: EvoTrainConfig,
  source: string,
  modelHidden: number,
  maxContext: number,
): Readonly<EvoTrainConfig> {
  const fail = (msg: string): never => {
    throw new Error(`evo train config ${source}: ${msg}`);
  };
  if (typeof c !== 'object' || c === null) fail(`expected an object, got ${JSON.stringify(c)}`);
  for (const k of Object.keys(c)) if (!KEYS.includes(k)) fail(`unknown key "${k}" (known: ${KEYS.join(', ')})`);
  for (const k of KEYS) if ((c as unknown as Record<string, unknown>)[k] === undefined) fail(`missing key "${k}"`);
  for (const k of ['window', 'maxTokens', 'tasksPerCommit', 'steps', 'evalEvery', 'valBatch', 'checkpointEvery'] as const)
    if (!Number.isInteger(c[k]) || c[k] < 1) fail(`${k} must be a positive integer, got ${JSON.stringify(c[k])}`);
  for (const k of ['maxRepos', 'maxCommitsPerRepo', 'valTasksPerRepo', 'valMaxRepos', 'seed'] as const)
    if (!Number.isInteger(c[k]) || c[k] < 0) fail(`${k} must be an integer >= 0, got ${JSON.stringify(c[k])}`);
  for (const k of ['lr', 'minLr', 'clip'] as const)
    if (!(typeof c[k] === 'number' && c[k] > 0)) fail(`${k} must be > 0, got ${JSON.stringify(c[k])}`);
  if (!(c.weightDecay >= 0)) fail(`weightDecay must be >= 0, got ${JSON.stringify(c.weightDecay)}`);
  if (!(c.warmupFraction >= 0 && c.warmupFraction < 1)) fail(`warmupFraction must be in [0, 1), got ${JSON.stringify(c.warmupFraction)}`);
  if (c.dtype !== 'F32' && c.dtype !== 'F16') fail(`dtype must be F32 or F16, got ${JSON.stringify(c.dtype)}`);
  if (c.maxTokens > maxContext) fail(`maxTokens ${c.maxTokens} exceeds the model's context ${maxContext}`);
  if (c.maxTokens < 3) fail(`maxTokens must be at least 3, got ${c.maxTokens}`);
  const head = validateHyperHeadConfig(c.head, `${source} (head)`);
  if (head.inputNorm) fail('head.inputNorm: the Evo head reads a LayerNorm-ed state, input standardisation does not apply');
  const encoder = validateWindowConfig(c.encoder, maxContext);
  const diff = validateDiffEmbeddingConfig(c.diff, `evo train config ${source} (diff)`);
  const rk = Object.keys(defaultRepoEmbeddingConfig());
  for (const k of Object.keys(c.repo)) if (!rk.includes(k)) fail(`repo: unknown key "${k}" (known: ${rk.join(', ')})`);
  if (c.repo.maxTestFiles !== 0) fail('repo.maxTestFiles must be 0 for Evo (production code only, as METHOD.md)');
  if (!(Number.isInteger(c.repo.maxFiles) && c.repo.maxFiles > 0 && Number.isInteger(c.repo.maxFileBytes) && c.repo.maxFileBytes > 0))
    fail('repo.maxFiles and repo.maxFileBytes must be positive integers');
  void modelHidden;
  return Object.freeze({ ...c, head, encoder, diff, repo: Object.freeze({ ...c.repo }) });
}

/** The most tokens the run can train on: steps x W commits x tasks per commit x maxTokens. */
export function evoTokenBudget(c: EvoTrainConfig): number {
  return c.steps * c.window * c.tasksPerCommit * c.maxTokens;
}

/** One repository's capped history, embedded. */
export interface EvoTrack {
  repo: string;
  commits: TrackCommit[];
  /** repository embedding [E] at commits[0] */
  embedding: Float32Array;
  /** diff embedding [E] of commits[t] (t >= 1; index 0 is unused) */
  diffs: Float32Array[];
  /** the tasks of each commit (this track's split only), by commit position */
  tasks: EvoTask[][];
}

export interface EvoTrainRun {
  config: EvoTrainConfig;
  model: LlamaModel;
  baseModelSha256: string;
  tokenizer: TextTokenizer;
  /** each repository's kept commits (from commits.jsonl) */
  commits: ReadonlyMap<string, readonly TrackCommit[]>;
  train: readonly EvoTask[];
  /** cross-repo validation tasks */
  val: readonly EvoTask[];
  /** repository name -> its git directory (bare or work tree) */
  repoDirs: ReadonlyMap<string, string>;
  cacheDir: string | null;
  out: string;
  command: string;
  /** a trained Static head to start from (its config replaces config.head) */
  initHead?: HyperHead;
  onPrepare?: (done: number, total: number, repo: string) => void;
  onStep?: (info: StepInfo & { valLoss?: number }) => void;
  stopAfter?: number;
}

export type EvoCurvePoint = CurvePoint;

export interface EvoTrainSummary {
  bestStep: number;
  bestValLoss: number;
  baseValLoss: number;
  /** the kept checkpoint with its state frozen at h0 (no commit applied): what the GRU updates add */
  frozenStateValLoss: number;
  tokensSeen: number;
  targetTokensSeen: number;
  tokenBudget: number;
  seconds: number;
  prepareSeconds: number;
  parameters: number;
  best: string;
}

/** Tracks for the named repositories: capped commits, the repository embedding at the first kept
 *  commit (its tree extracted with git archive), every later commit's diff embedding. A repository
 *  that cannot be embedded is left out and reported in `dropped`. */
export async function prepareEvoTracks(
  evo: EvoNetwork,
  repos: readonly string[],
  o: {
    commits: ReadonlyMap<string, readonly TrackCommit[]>;
    tasks: readonly EvoTask[];
    repoDirs: ReadonlyMap<string, string>;
    cacheDir: string | null;
    maxCommitsPerRepo: number;
    onPrepare?: (done: number, total: number, repo: string) => void;
  },
): Promise<{ tracks: EvoTrack[]; dropped: { repo: string; reason: string }[] }> {
  const tracks: EvoTrack[] = [],
    dropped: { repo: string; reason: string }[] = [];
  const diffEnc = evo.diffEncoder(o.cacheDir);
  const byRepo = new Map<string, EvoTask[]>();
  for (const t of o.tasks) byRepo.set(t.repo, [...(byRepo.get(t.repo) ?? []), t]);
  for (const [i, repo] of repos.entries()) {
    o.onPrepare?.(i, repos.length, repo);
    const dir = o.repoDirs.get(repo);
    const all = o.commits.get(repo);
    if (!dir) throw new Error(`evo train: repository ${repo} has tasks but no git directory (--repos-dir)`);
    if (!all || all.length === 0) throw new Error(`evo train: repository ${repo} has tasks but no kept commit in commits.jsonl`);
    const commits = o.maxCommitsPerRepo > 0 ? all.slice(0, o.maxCommitsPerRepo) : [...all];
    const tasks: EvoTask[][] = commits.map(() => []);
    for (const t of byRepo.get(repo) ?? []) if (t.commitIndex < commits.length) tasks[t.commitIndex].push(t);
    let embedding: Float32Array;
    try {
      embedding = await withCommitSnapshot(dir, commits[0].commit, (d) => evo.embedRepository(d, o.cacheDir).vector);
    } catch (err) {
      dropped.push({ repo, reason: (err as Error).message.split('\n')[0] });
      continue;
    }
    const diffs = commits.map((c, t) => (t === 0 ? new Float32Array(0) : diffEnc.embed(c.diff).vector));
    tracks.push({ repo, commits, embedding, diffs, tasks });
  }
  o.onPrepare?.(repos.length, repos.length, '');
  return { tracks, dropped };
}

const vec = (v: Float32Array) => new Tensor(Float32Array.from(v), [1, v.length]); // [1, E]

/** The state after each commit of a track (no tape), up to `upTo` commits. */
export function replayStates(net: EvoNet, track: EvoTrack, upTo = track.commits.length): Tensor[] {
  const out: Tensor[] = [];
  let h = net.initState(null, vec(track.embedding)); // [1, S]
  for (let t = 0; t < upTo; t++) {
    if (t > 0) h = net.step(null, h, vec(track.diffs[t]));
    out.push(h);
  }
  return out;
}

interface ValCommit {
  t: number;
  seqs: TaskSequence[];
}
interface ValRepo {
  track: EvoTrack;
  commits: ValCommit[];
}

/** Target-token loss per repository (its commits replayed, each commit's tasks with that commit's
 *  adapter), mean over repositories. `frozen`: every commit uses the h0 adapter. `none`: no adapter. */
function evoValidationLoss(model: LlamaModel, net: EvoNet | null, val: ValRepo[], padId: number, batch: number, frozen = false): number {
  let sum = 0;
  for (const v of val) {
    const last = v.commits[v.commits.length - 1].t + 1;
    const states = net ? replayStates(net, v.track, frozen ? 1 : last) : [];
    const acc = { sum: 0, count: 0 };
    for (const c of v.commits) {
      const adapter = net ? net.adapterFor(Float32Array.from(states[frozen ? 0 : c.t].data), model.config) : null;
      addTargetLoss(acc, model, c.seqs, padId, batch, adapter);
    }
    sum += acc.sum / acc.count;
  }
  return sum / val.length;
}

export function evoSpec(
  cfg: Readonly<EvoTrainConfig>,
  baseModelSha256: string,
  tok: TextTokenizer,
  training?: Record<string, unknown>,
): EvoSpec {
  return {
    format: EVO_FORMAT,
    version: 1,
    baseModelSha256,
    tokenizer: tokenizerFingerprint(tok),
    encoder: { kind: 'base-mean-pool', window: cfg.encoder, repo: cfg.repo },
    diff: cfg.diff,
    dtype: cfg.dtype,
    training,
  };
}

function sampleRepos(repos: string[], max: number, rng: Rng): string[] {
  return max > 0 && repos.length > max
    ? rng
        .shuffle([...repos])
        .slice(0, max)
        .sort()
    : repos;
}

export async function trainEvo(run: EvoTrainRun): Promise<EvoTrainSummary | null> {
  const model = run.model,
    tok = run.tokenizer,
    padId = tok.padId;
  let cfg = validateEvoTrainConfig(run.config, 'evo train', model.config.hiddenSize, model.config.maxPositionEmbeddings);
  if (run.initHead) cfg = Object.freeze({ ...cfg, head: run.initHead.config });
  if (run.train.length === 0) throw new Error('evo train: no training tasks');
  if (run.val.length === 0) throw new Error('evo train: no cr-val tasks (the cross-repo validation loss chooses the checkpoint)');
  model.setTrainable(false);
  mkdirSync(run.out, { recursive: true });
  const rng0 = new Rng(cfg.seed);
  const head = run.initHead ?? HyperHead.init(cfg.head, model.config, rng0.fork('head-init'));
  const net = EvoNet.init(head, 2 * model.config.hiddenSize, rng0.fork('evo-init'));
  const evo = new EvoNetwork(net, evoSpec(cfg, run.baseModelSha256, tok), model, tok);

  const seqCache = new SequenceCache(tok, cfg.maxTokens);
  const trainRepos = sampleRepos([...new Set(run.train.map((t) => t.repo))].sort(), cfg.maxRepos, rng0.fork('repos'));
  const valRepos = sampleRepos([...new Set(run.val.map((t) => t.repo))].sort(), cfg.valMaxRepos, rng0.fork('val-repos'));
  const t0 = performance.now();
  const prepOpts = { commits: run.commits, repoDirs: run.repoDirs, cacheDir: run.cacheDir, maxCommitsPerRepo: cfg.maxCommitsPerRepo };
  const total = trainRepos.length + valRepos.length;
  const trainPrep = await prepareEvoTracks(evo, trainRepos, {
    ...prepOpts,
    tasks: run.train,
    onPrepare: (d, _n, r) => run.onPrepare?.(d, total, r),
  });
  const valPrep = await prepareEvoTracks(evo, valRepos, {
    ...prepOpts,
    tasks: run.val,
    onPrepare: (d, _n, r) => run.onPrepare?.(trainRepos.length + d, total, r),
  });
  const prepareSeconds = (performance.now() - t0) / 1000;
  // training windows need tasks that fit maxTokens; keep the tracks that have any
  const fits = (t: EvoTask) => seqCache.get(t) !== null;
  const tracks = trainPrep.tracks.filter((tr) => tr.tasks.some((ts) => ts.some(fits)));
  if (tracks.length === 0) throw new Error('evo train: no training repository has a task that fits maxTokens');
  // a fixed seeded validation subset: at most valTasksPerRepo tasks per repository, grouped by commit
  const vrng = new Rng(cfg.seed).fork('validation');
  const val: ValRepo[] = [];
  let valTasks = 0;
  for (const tr of valPrep.tracks) {
    const all = tr.tasks.flat().filter(fits);
    const pick =
      cfg.valTasksPerRepo > 0 && all.length > cfg.valTasksPerRepo
        ? vrng
            .fork(tr.repo)
            .shuffle([...all])
            .slice(0, cfg.valTasksPerRepo)
        : all;
    if (pick.length === 0) continue;
    const byT = new Map<number, TaskSequence[]>();
    for (const t of pick) byT.set(t.commitIndex, [...(byT.get(t.commitIndex) ?? []), seqCache.get(t)!]);
    val.push({ track: tr, commits: [...byT.entries()].sort(([a], [b]) => a - b).map(([t, seqs]) => ({ t, seqs })) });
    valTasks += pick.length;
  }
  if (val.length === 0) throw new Error('evo train: no cr-val repository could be embedded with a task that fits');
  const baseValLoss = evoValidationLoss(model, null, val, padId, cfg.valBatch);

  const rec = new RunRecord({ out: run.out, bestDirName: 'evo', evalEvery: cfg.evalEvery, steps: cfg.steps });
  const writeCurve = () => rec.writeCurve(crValChart('Code2LoRA-Evo: target-token loss', 'train (target tokens, per window)', baseValLoss));
  const W = cfg.window;
  const params = net.parameters();
  const loop = trainLoop(params, taskTrainLoopConfig(cfg, { accumulation: 1, checkpointPath: rec.statePath, stopAfter: run.stopAfter }), {
    microStep(tape, rng) {
      // a repository, then a window [s, e) of its commits with at least one task that fits
      for (;;) {
        const tr = tracks[rng.int(tracks.length)];
        const n = tr.commits.length;
        const s = rng.int(Math.ceil(n / W)) * W,
          e = Math.min(n, s + W);
        const draws = [];
        for (let t = s; t < e; t++) {
          const seqs = tr.tasks[t].map((x) => seqCache.get(x)).filter((x): x is TaskSequence => x !== null);
          draws.push({ t, seqs: drawWithoutReplacement(seqs, cfg.tasksPerCommit, rng) });
        }
        if (draws.every((d) => d.seqs.length === 0)) continue;
        // the state entering the window, off the tape (truncated BPTT), then W steps on it
        let h: Tensor;
        if (s === 0) h = net.initState(tape, vec(tr.embedding));
        else {
          h = replayStates(net, tr, s)[s - 1];
          h = net.step(tape, h, vec(tr.diffs[s]));
        }
        const states: Tensor[] = [];
        for (let t = s; t < e; t++) {
          if (t > s) h = net.step(tape, h, vec(tr.diffs[t]));
          if (draws[t - s].seqs.length > 0) states.push(h);
        }
        const used = draws.filter((d) => d.seqs.length > 0);
        const tb = taskBatch(
          used.flatMap((d) => d.seqs),
          padId,
        );
        const outputs = net.readout(tape, states); // one adapter per commit with tasks, on the tape
        const adapter = hyperSegmentAdapter(
          head,
          outputs,
          used.map((d) => d.seqs.length),
          tb.batch.T,
        );
        const r = model.loss(tape, tb.batch, tb.targets, adapter);
        rec.targetTokens += r.count;
        return { loss: r.loss, tokens: tb.tokens };
      }
    },
    onStep(info) {
      const point = rec.step(
        info,
        () => evoValidationLoss(model, net, val, padId, cfg.valBatch),
        (tmp) => evo.save(tmp),
      );
      run.onStep?.({ ...info, valLoss: point.valLoss });
    },
    onCheckpoint: () => writeCurve(),
  });
  if (loop.steps < cfg.steps) return null;
  writeCurve();
  const bestNet = EvoNetwork.load(rec.bestDir, model, tok, run.baseModelSha256);
  const frozenStateValLoss = evoValidationLoss(model, bestNet.net, val, padId, cfg.valBatch, true);
  let parameters = 0;
  for (const t of params.values()) parameters += t.size;
  const summary: EvoTrainSummary = {
    bestStep: rec.best.step,
    bestValLoss: rec.best.valLoss,
    baseValLoss,
    frozenStateValLoss,
    tokensSeen: rec.tokens,
    targetTokensSeen: rec.targetTokens,
    tokenBudget: evoTokenBudget(cfg),
    seconds: rec.seconds,
    prepareSeconds,
    parameters,
    best: rec.bestDir,
  };
  const training = {
    command: run.command,
    config: cfg,
    initHead: run.initHead ? 'given (a trained Static head)' : null,
    trainRepos: tracks.map((t) => ({ repo: t.repo, commits: t.commits.length, tasks: t.tasks.flat().length })),
    droppedRepos: [...trainPrep.dropped, ...valPrep.dropped],
    valRepos: val.map((v) => v.track.repo),
    valTasks,
    ...summary,
  };
  replaceDirAtomicSync(rec.bestDir, (tmp) =>
    new EvoNetwork(bestNet.net, { ...bestNet.spec, training: { ...training, best: undefined } }, model, tok).save(tmp),
  );
  writeFileAtomicSync(join(run.out, 'training.json'), `${JSON.stringify(training, null, 2)}\n`);
  rmSync(rec.statePath, { force: true });
  return summary;
}
