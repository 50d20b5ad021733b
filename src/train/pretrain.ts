// Pretraining the base code model on Python source: token streams from files, random windows,
// periodic held-out loss, atomic checkpoints with exact resume, a loss curve, and a Hugging Face
// directory (config.json, model.safetensors, tokenizer.json) as the result.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { validateLlamaConfig, llamaConfigToHf, type LlamaConfig, type LlamaConfigInput } from '../model/llama/config.js';
import { LlamaModel } from '../model/llama/model.js';
import { saveLlama } from '../model/llama/io.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import { Rng } from '../util/rng.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import { lineChartSvg } from '../util/svg-plot.js';
import { trainLoop, type StepInfo } from './loop.js';

export interface PretrainConfig {
  model: LlamaConfigInput;
  /** tokens per training sequence */
  seq: number;
  batch: number;
  accumulation: number;
  steps: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  clip: number;
  weightDecay: number;
  seed: number;
  threads: number;
  evalEvery: number;
  /** held-out windows per evaluation */
  evalWindows: number;
  checkpointEvery: number;
  /** Share of training windows drawn from the extra corpus's test files (the rest from all other
   *  training code); null draws windows uniformly over all training tokens. Assertions live in
   *  test files, so this is how much of the model's diet is assertion idiom. */
  testShare: number | null;
}

export function defaultPretrainConfig(): PretrainConfig {
  return {
    model: {
      hiddenSize: 256,
      numLayers: 6,
      numHeads: 8,
      numKvHeads: 4,
      intermediateSize: 768,
      vocabSize: 8192,
      maxPositionEmbeddings: 1024,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
      tieWordEmbeddings: true,
    },
    seq: 256,
    batch: 16,
    accumulation: 1,
    steps: 2000,
    lr: 2e-3,
    minLr: 2e-4,
    warmupSteps: 100,
    clip: 1,
    weightDecay: 0.1,
    seed: 0,
    threads: 2,
    evalEvery: 100,
    evalWindows: 64,
    checkpointEvery: 100,
    testShare: null,
  };
}

const KEYS = Object.keys(defaultPretrainConfig());

export function validatePretrainConfig(c: PretrainConfig, source: string): Readonly<PretrainConfig> {
  for (const k of Object.keys(c))
    if (!KEYS.includes(k)) throw new Error(`pretrain config ${source}: unknown key "${k}" (known: ${KEYS.join(', ')})`);
  for (const k of ['seq', 'batch', 'accumulation', 'steps', 'threads', 'evalEvery', 'evalWindows', 'checkpointEvery'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`pretrain config ${source}: ${k} must be a positive integer, got ${c[k]}`);
  }
  for (const k of ['lr', 'minLr', 'clip'] as const) if (!(c[k] > 0)) throw new Error(`pretrain config ${source}: ${k} must be > 0`);
  if (c.testShare !== null && !(c.testShare > 0 && c.testShare < 1))
    throw new Error(`pretrain config ${source}: testShare must be null or between 0 and 1 (exclusive), got ${c.testShare}`);
  const model = validateLlamaConfig(c.model, `${source} (model)`);
  if (c.seq > model.maxPositionEmbeddings) throw new Error(`pretrain config ${source}: seq ${c.seq} exceeds max_position_embeddings`);
  return Object.freeze({ ...c, model });
}

export interface TokenStream {
  tokens: Int32Array;
  bytes: number;
  files: number;
}

/** Files larger than this are data or generated code, not source worth learning from. */
export const MAX_SOURCE_FILE_BYTES = 1_000_000;

/** Concatenates the files' tokens, each followed by EOS. Files that are not valid UTF-8 or larger
 *  than MAX_SOURCE_FILE_BYTES are skipped. */
export function tokenizeFiles(files: string[], tok: TextTokenizer, onProgress?: (done: number) => void): TokenStream {
  const chunks: number[][] = [];
  let total = 0,
    bytes = 0,
    kept = 0;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  files.forEach((f, i) => {
    let text: string;
    try {
      if (statSync(f).size > MAX_SOURCE_FILE_BYTES) return;
      text = decoder.decode(readFileSync(f));
    } catch {
      return; // non-UTF-8: skipped, as the corpus layer does
    }
    const ids = tok.encode(text);
    ids.push(tok.eosId);
    chunks.push(ids);
    total += ids.length;
    bytes += Buffer.byteLength(text, 'utf8');
    kept++;
    onProgress?.(i + 1);
  });
  const tokens = new Int32Array(total);
  let o = 0;
  for (const c of chunks) {
    tokens.set(c, o);
    o += c.length;
  }
  return { tokens, bytes, files: kept };
}

/** Cached token stream: <cache>/<name>.i32 + .json, keyed by the tokenizer and the file list. */
export function cachedTokenStream(
  cacheDir: string,
  name: string,
  files: string[],
  tok: TextTokenizer,
  tokenizerPath: string,
  onProgress?: (done: number) => void,
): TokenStream {
  const key = createHash('sha256')
    .update(readFileSync(tokenizerPath))
    .update(JSON.stringify(files.map((f) => [f, statSync(f).size])))
    .digest('hex')
    .slice(0, 16);
  const bin = join(cacheDir, `${name}-${key}.i32`),
    meta = join(cacheDir, `${name}-${key}.json`);
  if (existsSync(bin) && existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as { bytes: number; files: number };
    const buf = readFileSync(bin);
    return { tokens: new Int32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice(), bytes: m.bytes, files: m.files };
  }
  const s = tokenizeFiles(files, tok, onProgress);
  mkdirSync(cacheDir, { recursive: true });
  writeFileAtomicSync(bin, new Uint8Array(s.tokens.buffer, s.tokens.byteOffset, s.tokens.byteLength));
  writeFileAtomicSync(meta, JSON.stringify({ bytes: s.bytes, files: s.files, tokens: s.tokens.length }));
  return s;
}

function window(stream: Int32Array, start: number, T: number, ids: Int32Array, targets: Int32Array, at: number) {
  for (let t = 0; t < T; t++) {
    ids[at + t] = stream[start + t];
    targets[at + t] = stream[start + t + 1];
  }
}

/** B training windows of T tokens (+1 for the targets) at seeded random offsets: from `tests` with
 *  probability `testShare`, else from `train`. Without tests no extra draw is made, so runs made
 *  before testShare existed resume and replay exactly. */
export function drawWindows(
  train: Int32Array,
  tests: Int32Array | null,
  testShare: number | null,
  r: Rng,
  B: number,
  T: number,
): { ids: Int32Array; targets: Int32Array } {
  const ids = new Int32Array(B * T),
    targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const src = tests && r.next() < testShare! ? tests : train;
    window(src, r.int(src.length - T - 1), T, ids, targets, b * T);
  }
  return { ids, targets };
}

/** Mean next-token loss (nats/token) over fixed, evenly spaced held-out windows. */
export function heldOutLoss(model: LlamaModel, stream: Int32Array, T: number, windows: number, batch: number): number {
  const n = Math.min(windows, Math.floor((stream.length - 1) / T));
  if (n < 1) throw new Error(`held-out stream of ${stream.length} tokens is shorter than one window of ${T + 1}`);
  const stride = Math.floor((stream.length - T - 1) / Math.max(1, n - 1));
  let sum = 0,
    count = 0;
  for (let w0 = 0; w0 < n; w0 += batch) {
    const B = Math.min(batch, n - w0);
    const ids = new Int32Array(B * T),
      targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) window(stream, (w0 + b) * stride, T, ids, targets, b * T);
    const r = model.loss(null, { ids, B, T }, targets);
    sum += r.loss.data[0] * r.count;
    count += r.count;
  }
  return sum / count;
}

export interface PretrainRun {
  config: PretrainConfig;
  out: string;
  tokenizerPath: string;
  tokenizer: TextTokenizer;
  train: TokenStream;
  /** test files, drawn from with probability config.testShare (required when it is set) */
  trainTests?: TokenStream;
  val: TokenStream;
  /** Assertion tasks of the cross-repo validation repositories: at every evaluation, `loss` (the
   *  mean loss of their target tokens, the benchmark's own quantity; built by the caller from
   *  eval/target-loss) is recorded. */
  valTasks?: { count: number; loss: (model: LlamaModel) => number };
  /** recorded next to the checkpoint */
  command: string;
  dataManifest: unknown;
  onStep?: (info: StepInfo & { valLoss?: number; valTaskLoss?: number }) => void;
  /** Start from these weights (same architecture) instead of a random init: a warm start. */
  init?: LlamaModel;
  /** Everything that defines the run (config, data, init); a resume with a different one refuses. */
  fingerprint?: Record<string, unknown>;
  /** Stop after this step with a checkpoint, as a killed run would (tests); null result then. */
  stopAfter?: number;
}

/** Copies every tensor of `from` into `to`; the architectures must match exactly. */
export function copyWeights(from: LlamaModel, to: LlamaModel): void {
  for (const [name, t] of to.params) {
    const src = from.params.get(name);
    if (!src) throw new Error(`pretrain --init: the initial model has no tensor ${name}`);
    if (src.shape.join() !== t.shape.join())
      throw new Error(`pretrain --init: ${name} is [${src.shape.join(',')}] in the initial model, [${t.shape.join(',')}] in the config`);
    t.data.set(src.data);
  }
}

/** A resumed run must be the same run: same config, data manifest and init. The fingerprint is
 *  written when a run starts; on resume every top-level key that differs is named. */
export function checkRunFingerprint(file: string, fp: Record<string, unknown>, resuming: boolean): void {
  if (resuming && existsSync(file)) {
    const old = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(old), ...Object.keys(fp)])];
    const diff = keys.filter((k) => JSON.stringify(old[k]) !== JSON.stringify(fp[k]));
    if (diff.length > 0) {
      throw new Error(
        `pretrain: refusing to resume ${file.replace(/run-fingerprint\.json$/, '')}: ${diff.map((k) => `${k} changed (was ${JSON.stringify(old[k]).slice(0, 120)}, now ${JSON.stringify(fp[k]).slice(0, 120)})`).join('; ')}. Use a new --out or delete the training state to start over.`,
      );
    }
    return;
  }
  writeFileAtomicSync(file, JSON.stringify(fp, null, 2) + '\n');
}

export interface PretrainResult {
  model: LlamaModel;
  valLoss: number;
  valBitsPerByte: number;
  /** mean target loss of the validation tasks at the end (nats/token), when valTasks was given */
  valTaskLoss?: number;
  curve: Array<{ step: number; loss: number; tokens: number; seconds: number; valLoss?: number; valTaskLoss?: number }>;
}

export function pretrain(run: PretrainRun): PretrainResult | null {
  const cfg = validatePretrainConfig(run.config, 'pretrain');
  const modelCfg: LlamaConfig = validateLlamaConfig({ ...cfg.model, eosTokenId: run.tokenizer.eosId }, 'pretrain');
  if (run.tokenizer.vocabSize > modelCfg.vocabSize) {
    throw new Error(`pretrain: tokenizer has ${run.tokenizer.vocabSize} ids but the model's vocabulary is ${modelCfg.vocabSize}`);
  }
  mkdirSync(run.out, { recursive: true });
  const rng = new Rng(cfg.seed);
  const model = LlamaModel.init(modelCfg, rng.fork('init'));
  if (run.init) copyWeights(run.init, model);
  model.setTrainable(true);
  const T = cfg.seq,
    B = cfg.batch;
  const train = run.train.tokens,
    val = run.val.tokens;
  if (train.length < T + 2) throw new Error(`pretrain: training stream has only ${train.length} tokens`);
  const tests = cfg.testShare === null ? null : (run.trainTests?.tokens ?? null);
  if (cfg.testShare !== null && (!tests || tests.length < T + 2))
    throw new Error(`pretrain: testShare ${cfg.testShare} needs a stream of test files (--extra-corpus) longer than one window`);
  const curvePath = join(run.out, 'loss-curve.json');
  const curve: PretrainResult['curve'] = existsSync(curvePath) ? JSON.parse(readFileSync(curvePath, 'utf8')) : [];
  const bytesPerToken = run.val.bytes / Math.max(1, val.length);
  let tokensSeen = curve.length ? curve[curve.length - 1].tokens : 0;
  let seconds = curve.length ? curve[curve.length - 1].seconds : 0;
  const statePath = join(run.out, 'training-state.safetensors');
  checkRunFingerprint(join(run.out, 'run-fingerprint.json'), run.fingerprint ?? {}, existsSync(statePath));
  const writeCurve = () => {
    writeFileAtomicSync(curvePath, JSON.stringify(curve));
    const trainPts = curve.map((c) => [c.tokens / 1e6, c.loss] as [number, number]);
    const valPts = curve.filter((c) => c.valLoss !== undefined).map((c) => [c.tokens / 1e6, c.valLoss!] as [number, number]);
    const taskPts = curve.filter((c) => c.valTaskLoss !== undefined).map((c) => [c.tokens / 1e6, c.valTaskLoss!] as [number, number]);
    writeFileAtomicSync(
      join(run.out, 'loss-curve.svg'),
      lineChartSvg(
        [
          { label: 'train (per step)', points: trainPts },
          { label: 'held-out (validation repos)', points: valPts },
          ...(taskPts.length ? [{ label: 'assertion targets (validation tasks)', points: taskPts }] : []),
        ],
        { title: 'code2lora base model: pretraining loss', xLabel: 'training tokens (millions)', yLabel: 'loss (nats/token)' },
      ),
    );
  };
  const loop = trainLoop(
    new Map(model.params),
    {
      steps: cfg.steps,
      accumulation: cfg.accumulation,
      lr: cfg.lr,
      minLr: cfg.minLr,
      warmupSteps: cfg.warmupSteps,
      clip: cfg.clip,
      adamw: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: cfg.weightDecay },
      seed: cfg.seed,
      checkpointEvery: cfg.checkpointEvery,
      checkpointPath: statePath,
      stopAfter: run.stopAfter,
      arena: true, // a micro-step keeps nothing: windows in, loss out
    },
    {
      microStep(tape, r) {
        const { ids, targets } = drawWindows(train, tests, cfg.testShare, r, B, T);
        return { loss: model.loss(tape, { ids, B, T }, targets).loss, tokens: B * T };
      },
      onStep(info) {
        tokensSeen += info.tokens;
        seconds += info.seconds;
        const point: PretrainResult['curve'][number] = { step: info.step, loss: info.loss, tokens: tokensSeen, seconds };
        if (info.step % cfg.evalEvery === 0 || info.step === cfg.steps) {
          point.valLoss = heldOutLoss(model, val, T, cfg.evalWindows, B);
          if (run.valTasks) point.valTaskLoss = run.valTasks.loss(model);
        }
        curve.push(point);
        run.onStep?.({ ...info, valLoss: point.valLoss, valTaskLoss: point.valTaskLoss });
      },
      // The curve is saved with each checkpoint, so a resumed run continues it.
      onCheckpoint: () => writeCurve(),
    },
  );
  if (loop.steps < cfg.steps) return null; // interrupted on purpose: the checkpoint holds the state
  writeCurve();
  // The last step always evaluates (see onStep); reuse it rather than run the same pass again.
  const valLoss = curve[curve.length - 1]?.valLoss ?? heldOutLoss(model, val, T, cfg.evalWindows, B);
  const valBitsPerByte = valLoss / Math.LN2 / bytesPerToken;
  const valTaskLoss = curve[curve.length - 1]?.valTaskLoss;
  saveLlama(run.out, model, { tokenizerJson: readFileSync(run.tokenizerPath, 'utf8') });
  const tcfg = join(run.tokenizerPath, '..', 'tokenizer_config.json');
  if (existsSync(tcfg)) copyFileSync(tcfg, join(run.out, 'tokenizer_config.json'));
  writeFileAtomicSync(
    join(run.out, 'training.json'),
    JSON.stringify(
      {
        command: run.command,
        config: { ...cfg, model: llamaConfigToHf(modelCfg) },
        data: run.dataManifest,
        trainTokens: train.length,
        valTokens: val.length,
        trainFiles: run.train.files,
        valFiles: run.val.files,
        tokensSeen,
        seconds,
        valLoss,
        valBitsPerByte,
        valTaskLoss: valTaskLoss ?? null,
        valTasks: run.valTasks?.count ?? null,
      },
      null,
      2,
    ) + '\n',
  );
  // The run is complete: the resumable state (3x the model's size) is no longer needed.
  rmSync(statePath, { force: true });
  return { model, valLoss, valBitsPerByte, valTaskLoss, curve };
}
