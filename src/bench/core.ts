// `bench core`: one full training step (forward + backward + AdamW) of the same Llama model in
// code2lora and in PyTorch CPU, in one run, plus sgemm GFLOP/s at the model's shapes. Both frameworks
// run with the native core's thread count, which the CLI sets (--threads).
import { loadNative } from '../native/index.js';
import { validateLlamaConfig, llamaConfigToHf, type LlamaConfig } from '../model/llama/config.js';
import { LlamaModel } from '../model/llama/model.js';
import { AdamW } from '../nn/optim/adamw.js';
import { BufferArena, Tape, withArena } from '../tensor/index.js';
import { Rng } from '../util/rng.js';
import { findTorchPython, runTorchBench, TUNED_MALLOC_ENV } from './torch-peer.js';
import { benchSgemm } from './kernels.js';

export interface CoreBenchOptions {
  batch: number;
  seq: number;
  steps: number;
  warmup: number;
  seed: number;
  torch: boolean;
  python?: string;
  model?: Partial<LlamaConfig>;
  log?: (s: string) => void;
}

export function coreBenchModel(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return validateLlamaConfig(
    {
      hiddenSize: 256,
      numLayers: 6,
      numHeads: 8,
      numKvHeads: 8,
      intermediateSize: 1024,
      vocabSize: 8192,
      maxPositionEmbeddings: 1024,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
      tieWordEmbeddings: false,
      ...over,
    },
    'bench core',
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One training step, timed; `useArena` false allocates fresh buffers every step (the lever's A/B). */
export function benchOursTrainStep(cfg: LlamaConfig, o: CoreBenchOptions, useArena = true) {
  const rng = new Rng(o.seed);
  const model = LlamaModel.init(cfg, rng.fork('init'));
  model.setTrainable(true);
  const opt = new AdamW(new Map(model.params), { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  const { batch: B, seq: T } = o;
  const ids = new Int32Array(B * T),
    targets = new Int32Array(B * T);
  const data = rng.fork('data');
  for (let i = 0; i < B * T; i++) {
    ids[i] = data.int(cfg.vocabSize);
    targets[i] = data.int(cfg.vocabSize);
  }
  const tape = new Tape();
  // As pretraining runs it: one arena reused by every step (see BufferArena).
  const arena = new BufferArena();
  const times: number[] = [],
    fwd: number[] = [],
    bwd: number[] = [];
  let loss = 0;
  for (let s = 0; s < o.warmup + o.steps; s++) {
    const t0 = performance.now();
    opt.zeroGrad();
    if (useArena) arena.reset();
    const step = () => {
      const l = model.loss(tape, { ids, B, T }, targets).loss;
      const t1 = performance.now();
      tape.backward(l);
      return [l, t1, performance.now()] as const;
    };
    const [l, t1, t2] = useArena ? withArena(arena, step) : step();
    opt.update(1e-4);
    const t3 = performance.now();
    loss = l.data[0];
    if (s >= o.warmup) {
      times.push(t3 - t0);
      fwd.push(t1 - t0);
      bwd.push(t2 - t1);
    }
  }
  return {
    tokens_per_s: (B * T) / (median(times) / 1000),
    best_tokens_per_s: (B * T) / (Math.min(...times) / 1000),
    median_step_s: median(times) / 1000,
    forward_s: median(fwd) / 1000,
    backward_s: median(bwd) / 1000,
    loss,
    arena_mb: arena.bytes / 2 ** 20,
  };
}

/** Model FLOPs of one training token (forward + backward = 3 x forward), attention included:
 *  6 * (matmul parameters per token) + 6 * L * T * C (QK^T and PV, causal half of T x T, x3 for backward),
 *  with matmul parameters = L * (C*(H*D) + 2*C*(KV*D) + (H*D)*C + 3*C*I) + C*V (the LM head). */
export function modelFlopsPerToken(cfg: LlamaConfig, T: number): { flops: number; formula: string } {
  const { hiddenSize: C, numLayers: L, intermediateSize: I, vocabSize: V, numHeads: H, numKvHeads: KV, headDim: D } = cfg;
  const matmulParams = L * (C * H * D + 2 * C * KV * D + H * D * C + 3 * C * I) + C * V;
  const attention = 6 * L * T * H * D; // 2 matmuls x 2 FLOPs x T*(H*D)/2 keys on average (causal), x3 fwd+bwd
  return {
    flops: 6 * matmulParams + attention,
    formula: `6*${matmulParams} (matmul params) + 6*L*T*H*D (${attention}) = ${6 * matmulParams + attention}`,
  };
}

export async function runCoreBench(o: CoreBenchOptions) {
  const log = o.log ?? (() => {});
  const cfg = coreBenchModel(o.model);
  const native = loadNative();
  const threads = native.getNumThreads();
  log(
    `model: hidden ${cfg.hiddenSize}, ${cfg.numLayers} layers, ${cfg.numHeads} heads, MLP ${cfg.intermediateSize}, vocab ${cfg.vocabSize}; batch ${o.batch} x ${o.seq}; ${threads} threads`,
  );
  const C = cfg.hiddenSize,
    I = cfg.intermediateSize,
    V = cfg.vocabSize,
    N = o.batch * o.seq;
  const shapes = [
    { M: N, N: C, K: C, transA: false, transB: true, what: 'q/k/v/o forward' },
    { M: N, N: I, K: C, transA: false, transB: true, what: 'gate/up forward' },
    { M: N, N: C, K: I, transA: false, transB: true, what: 'down forward' },
    { M: N, N: V, K: C, transA: false, transB: true, what: 'lm_head forward' },
    { M: N, N: C, K: V, transA: false, transB: false, what: 'lm_head dx' },
    { M: V, N: C, K: N, transA: true, transB: false, what: 'lm_head dW' },
    { M: I, N: C, K: N, transA: true, transB: false, what: 'gate/up dW' },
  ];
  const sgemm = await benchSgemm(shapes);
  for (const s of sgemm) log(`sgemm ${s.M}x${s.N}x${s.K}${s.transA ? ' tA' : ''}${s.transB ? ' tB' : ''}: ${s.gflops.toFixed(0)} GFLOP/s`);
  const ours = benchOursTrainStep(cfg, o);
  log(
    `code2lora: ${ours.tokens_per_s.toFixed(0)} tok/s (step ${ours.median_step_s.toFixed(3)} s: forward ${ours.forward_s.toFixed(3)}, backward ${ours.backward_s.toFixed(3)})`,
  );
  const fresh = benchOursTrainStep(cfg, o, false);
  log(
    `code2lora without the buffer arena (fresh buffers every step): ${fresh.tokens_per_s.toFixed(0)} tok/s; the arena's speed-up ${(ours.tokens_per_s / fresh.tokens_per_s).toFixed(2)}x`,
  );
  let torch: Record<string, unknown> | null = null;
  let torchError: string | undefined;
  let torchRuns: Record<string, Record<string, unknown>> | undefined;
  if (o.torch) {
    const py = findTorchPython(o.python);
    if (!py) torchError = 'no python3 with torch found (apt-get install python3-torch)';
    else {
      const spec = { model: llamaConfigToHf(cfg), batch: o.batch, seq: o.seq, steps: o.steps, warmup: o.warmup, threads, seed: o.seed };
      // PyTorch's best configuration on these cores is the peer, so the ratio never flatters us:
      // as installed; with OpenBLAS kept single-threaded under torch's own threads (no nested
      // oversubscription) and our malloc tuning; and on one thread.
      const variants: Array<[string, Record<string, string>, number]> = [
        ['as_installed', {}, threads],
        ['openblas_1_thread_tuned_malloc', { OPENBLAS_NUM_THREADS: '1', ...TUNED_MALLOC_ENV }, threads],
        ['torch_1_thread', { OPENBLAS_NUM_THREADS: '1', ...TUNED_MALLOC_ENV }, 1],
      ];
      torchRuns = {};
      for (const [name, env, peerThreads] of variants) {
        const run = runTorchBench(py, { ...spec, threads: peerThreads }, 600_000, env);
        torchRuns[name] = { ...run, env };
        log(`pytorch ${run.torch} (${name}): ${(run.tokens_per_s as number).toFixed(0)} tok/s`);
        if (!torch || (run.tokens_per_s as number) > (torch.tokens_per_s as number)) torch = { ...run, variant: name };
      }
    }
  }
  const torchTps = torch ? (torch.tokens_per_s as number) : null;
  const result = {
    benchmark: 'core',
    ours_tokens_per_s: ours.tokens_per_s,
    torch_tokens_per_s: torchTps,
    ratio: torchTps ? ours.tokens_per_s / torchTps : null,
    goal_ratio: 3.0,
    goal_mfu: 0.6,
    ours,
    ours_without_arena: fresh,
    torch,
    torch_runs: torchRuns,
    torch_error: torchError,
    sgemm,
    config: { model: llamaConfigToHf(cfg), batch: o.batch, seq: o.seq, steps: o.steps, warmup: o.warmup, threads, dtype: 'fp32' },
    env: { OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null, native: native.info(), node: process.version },
  };
  // utilisation: achieved model FLOP/s over the sgemm rate measured at the model's own shapes
  const mf = modelFlopsPerToken(cfg, o.seq);
  const sgemmRate = sgemm.reduce((a, s) => a + s.gflops, 0) / sgemm.length;
  const mfu = (ours.tokens_per_s * mf.flops) / (sgemmRate * 1e9);
  log(`model FLOPs per token: ${mf.formula}`);
  log(
    `model-FLOPs utilisation: ${(100 * mfu).toFixed(1)}% of the mean sgemm rate ${sgemmRate.toFixed(0)} GFLOP/s (${((ours.tokens_per_s * mf.flops) / 1e9).toFixed(0)} GFLOP/s achieved)`,
  );
  if (result.ratio !== null) log(`ratio (ours / pytorch): ${result.ratio.toFixed(2)} (goal >= 3.0; utilisation goal >= 60%)`);
  return { ...result, model_flops_per_token: mf.flops, model_flops_formula: mf.formula, sgemm_mean_gflops: sgemmRate, mfu };
}
