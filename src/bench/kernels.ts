// Timings of the native core at the shapes of the target model (Llama-style, hidden 256, 6 layers,
// 8 heads of 32, MLP 1024, vocab 8192, batch 8 x 256 tokens). A library for `code2lora bench core`:
// benchSgemm() gives GFLOP/s per model matmul, benchKernels() the time of every other kernel.
// Each figure is the best of several runs (other processes on a 2-core machine only add time).
import { loadNative, type NativeAddon } from '../native/index.js';
import { Rng } from '../util/rng.js';

export interface SgemmShape {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** Where the shape occurs in a training step. */
  label?: string;
}

export interface SgemmResult extends SgemmShape {
  gflops: number;
  /** Best time of one call, milliseconds. */
  ms: number;
}

export interface BenchOptions {
  /** Timed calls per shape (after one warm-up); default 7. Threads: as the CLI set them (--threads). */
  repeats?: number;
}

const TOKENS = 8 * 256; // batch 8 x 256 tokens
const HIDDEN = 256,
  QKV = 768,
  MLP = 1024,
  VOCAB = 8192;

/** Matmuls of one training step of the target model (weights stored [out, in] like nn.Linear,
 *  except the fused qkv weight, stored [in, out]). */
export const MODEL_SGEMM_SHAPES: readonly SgemmShape[] = Object.freeze([
  { M: TOKENS, N: QKV, K: HIDDEN, transA: false, transB: false, label: 'qkv forward' },
  { M: TOKENS, N: HIDDEN, K: QKV, transA: false, transB: true, label: 'qkv dX' },
  { M: HIDDEN, N: QKV, K: TOKENS, transA: true, transB: false, label: 'qkv dW' },
  { M: TOKENS, N: HIDDEN, K: HIDDEN, transA: false, transB: true, label: 'attn out forward' },
  { M: TOKENS, N: MLP, K: HIDDEN, transA: false, transB: true, label: 'gate/up forward' },
  { M: TOKENS, N: HIDDEN, K: MLP, transA: false, transB: false, label: 'gate/up dX, down forward' },
  { M: MLP, N: HIDDEN, K: TOKENS, transA: true, transB: false, label: 'gate/up dW' },
  { M: TOKENS, N: MLP, K: HIDDEN, transA: false, transB: true, label: 'down dX' },
  { M: TOKENS, N: VOCAB, K: HIDDEN, transA: false, transB: true, label: 'lm head forward' },
  { M: TOKENS, N: HIDDEN, K: VOCAB, transA: false, transB: false, label: 'lm head dX' },
  { M: VOCAB, N: HIDDEN, K: TOKENS, transA: true, transB: false, label: 'lm head dW' },
]);

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function bestMs(fn: () => void, repeats: number): number {
  fn(); // warm-up: first-touch page faults, BLIS pack buffers, thread wake-up
  let best = Infinity;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

function filled(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) a[i] = (rng.next() - 0.5) * 0.2;
  return a;
}

/** GFLOP/s of native matmul at each shape (2*M*N*K flops per call). */
export async function benchSgemm(shapes: readonly SgemmShape[] = MODEL_SGEMM_SHAPES, options: BenchOptions = {}): Promise<SgemmResult[]> {
  const native = loadNative();
  const repeats = options.repeats ?? 7;
  const results: SgemmResult[] = [];
  for (const s of shapes) {
    const A = filled(s.M * s.K, 1),
      B = filled(s.K * s.N, 2),
      C = new Float32Array(s.M * s.N);
    const ms = bestMs(() => native.matmul(C, A, B, s.M, s.N, s.K, s.transA, s.transB, 1, 0), repeats);
    results.push({ ...s, ms, gflops: (2 * s.M * s.N * s.K) / (ms * 1e6) });
    await yieldToLoop();
  }
  return results;
}

export interface KernelTiming {
  kernel: string;
  shape: string;
  ms: number;
}

/** Best time of each non-GEMM kernel at the target model's shapes. */
export async function benchKernels(options: BenchOptions = {}): Promise<KernelTiming[]> {
  const native = loadNative();
  const repeats = options.repeats ?? 7;
  const B = 8,
    T = 256,
    H = 8,
    KV = 8,
    D = 32,
    C = HIDDEN,
    rows = TOKENS;
  const params = VOCAB * HIDDEN * 2 + 6 * (HIDDEN * QKV + HIDDEN * HIDDEN + 3 * HIDDEN * MLP + 2 * HIDDEN);
  const out: KernelTiming[] = [];
  const time = async (kernel: string, shape: string, fn: () => void) => {
    out.push({ kernel, shape, ms: bestMs(fn, repeats) });
    await yieldToLoop();
  };
  const x = filled(rows * C, 3),
    y = new Float32Array(rows * C),
    dx = new Float32Array(rows * C);
  const w = filled(C, 4),
    dw = new Float32Array(C),
    rstd = new Float32Array(rows),
    mean = new Float32Array(rows);
  const norm = `rows=${rows} C=${C}`;
  await time('rmsnormForward', norm, () => native.rmsnormForward(y, rstd, x, w, rows, C, 1e-5));
  await time('rmsnormBackward', norm, () => native.rmsnormBackward(dx, dw, y, x, w, rstd, rows, C));
  await time('layernormForward', norm, () => native.layernormForward(y, mean, rstd, x, w, w, rows, C, 1e-5));
  await time('layernormBackward', norm, () => native.layernormBackward(dx, dw, dw, y, x, w, mean, rstd, rows, C));
  await time('add', `n=${rows * C}`, () => native.add(y, x, dx, rows * C));
  await time('axpy', `n=${rows * C}`, () => native.axpy(y, x, 0.5, rows * C));

  const half = D / 2,
    maxPos = T;
  const cos = filled(maxPos * half, 5),
    sin = filled(maxPos * half, 6);
  const positions = new Int32Array(rows).map((_, i) => i % T);
  const q = filled(rows * H * D, 7),
    qr = new Float32Array(rows * H * D);
  const ropeShape = `BT=${rows} H=${H} D=${D}`;
  await time('ropeForward', ropeShape, () => native.ropeForward(qr, q, cos, sin, positions, rows, H, D));
  await time('ropeBackward', ropeShape, () => native.ropeBackward(qr, q, cos, sin, positions, rows, H, D));

  const k = filled(B * T * KV * D, 8),
    v = filled(B * T * KV * D, 9);
  const att = new Float32Array(rows * H * D),
    probs = new Float32Array(B * H * T * T);
  const mask = new Uint8Array(B * T).fill(1);
  mask.fill(0, 0, 17); // one left-padded sequence
  const dq = new Float32Array(q.length),
    dk = new Float32Array(k.length),
    dv = new Float32Array(v.length);
  const attShape = `B=${B} H=${H} KV=${KV} T=${T} D=${D}`;
  await time('attentionForward', attShape, () =>
    native.attentionForward(att, probs, q, k, v, mask, B, T, T, T, H, KV, D, 1 / Math.sqrt(D)),
  );
  await time('attentionBackward', attShape, () =>
    native.attentionBackward(dq, dk, dv, att, probs, q, k, v, B, T, H, KV, D, 1 / Math.sqrt(D)),
  );

  const nm = rows * MLP;
  const gate = filled(nm, 10),
    up = filled(nm, 11),
    act = new Float32Array(nm);
  const dgate = new Float32Array(nm),
    dup = new Float32Array(nm);
  await time('swigluForward', `n=${nm}`, () => native.swigluForward(act, gate, up, nm));
  await time('swigluBackward', `n=${nm}`, () => native.swigluBackward(dgate, dup, act, gate, up, nm));
  await time('geluForward', `n=${nm}`, () => native.geluForward(act, gate, nm));
  await time('geluBackward', `n=${nm}`, () => native.geluBackward(dgate, act, gate, nm));

  const logits = filled(rows * VOCAB, 12),
    dlogits = new Float32Array(rows * VOCAB);
  const targets = new Int32Array(rows).map((_, i) => (i * 7919) % VOCAB);
  const losses = new Float32Array(rows),
    lse = new Float32Array(rows),
    dl = new Float32Array(rows).fill(1 / rows);
  const ceShape = `rows=${rows} V=${VOCAB}`;
  await time('crossEntropyForward', ceShape, () => native.crossEntropyForward(losses, lse, logits, targets, rows, VOCAB));
  await time('crossEntropyBackward', ceShape, () => native.crossEntropyBackward(dlogits, dl, logits, lse, targets, rows, VOCAB));

  const table = filled(VOCAB * C, 13),
    dtable = new Float32Array(VOCAB * C);
  const embShape = `n=${rows} C=${C} vocab=${VOCAB}`;
  await time('embeddingForward', embShape, () => native.embeddingForward(y, table, targets, rows, C));
  await time('embeddingBackward', embShape, () => native.embeddingBackward(dtable, x, targets, rows, C));

  const p = filled(params, 14),
    g = filled(params, 15),
    m1 = new Float32Array(params),
    m2 = new Float32Array(params);
  let step = 1;
  await time('adamw', `n=${params}`, () => native.adamw(p, g, m1, m2, params, 1e-3, 0.9, 0.95, 1e-8, 0.1, step++));
  await time('sumSquares', `n=${params}`, () => {
    native.sumSquares(g, params);
  });
  return out;
}

/** The addon's self-description (GEMM library, BLIS sub-configuration, ISA, threads). */
export function coreInfo(): ReturnType<NativeAddon['info']> {
  return loadNative().info();
}
