// A tensor is a shape over one contiguous row-major buffer, plus an optional gradient buffer.
// Float32 tensors run on the native core; Float64 tensors run on the reference kernels (tests).
import type { FloatArray } from '../native/index.js';

export type DType = 'f32' | 'f64';

/** Data and gradient live here; views of one tensor share one storage, so gradients accumulate once. */
interface Storage {
  data: FloatArray;
  grad: FloatArray | null;
  requiresGrad: boolean;
}

export class Tensor {
  readonly shape: readonly number[];
  name: string;
  private readonly storage: Storage;

  constructor(data: FloatArray, shape: readonly number[], opts: { requiresGrad?: boolean; name?: string } = {}, storage?: Storage) {
    const n = shapeSize(shape);
    if (data.length !== n) {
      throw new Error(`Tensor${opts.name ? ` ${opts.name}` : ''}: data has ${data.length} elements, shape [${shape.join(',')}] needs ${n}`);
    }
    this.shape = Object.freeze([...shape]);
    this.name = opts.name ?? '';
    this.storage = storage ?? { data, grad: null, requiresGrad: opts.requiresGrad ?? false };
  }

  get data(): FloatArray {
    return this.storage.data;
  }
  get grad(): FloatArray | null {
    return this.storage.grad;
  }
  set grad(g: FloatArray | null) {
    this.storage.grad = g;
  }
  get requiresGrad(): boolean {
    return this.storage.requiresGrad;
  }
  set requiresGrad(v: boolean) {
    this.storage.requiresGrad = v;
  }
  get size(): number {
    return this.storage.data.length;
  }
  get dtype(): DType {
    return this.storage.data instanceof Float64Array ? 'f64' : 'f32';
  }

  /** The gradient buffer, allocated (zeros) on first use. A gradient lives as long as its data:
   *  step-scoped data (from the active arena) gets a step-scoped gradient, anything else a heap one. */
  gradBuffer(): FloatArray {
    if (!this.storage.grad) {
      const arena = activeArena;
      this.storage.grad = arena?.owns(this.storage.data) ? arena.take(this.dtype, this.size, true) : newArray(this.dtype, this.size);
    }
    return this.storage.grad;
  }

  zeroGrad(): void {
    if (this.storage.grad) this.storage.grad.fill(0);
  }

  /** Same buffer and gradient, new shape (no copy). */
  view(shape: readonly number[]): Tensor {
    return new Tensor(this.storage.data, shape, { name: this.name }, this.storage);
  }

  toString(): string {
    return `Tensor(${this.name || '?'}, [${this.shape.join(',')}], ${this.dtype})`;
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape.join(',')}]`);
    n *= d;
  }
  return n;
}

export function newArray(dtype: DType, n: number): FloatArray {
  return dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
}

/** Uninitialised memory (Buffer.allocUnsafe: no zero fill), for outputs a kernel overwrites in full.
 *  With the addon's allocator tuning this skips both page faults and a memset per activation.
 *  Inside `withArena` it comes from the arena instead. */
export function newArrayUninitialized(dtype: DType, n: number): FloatArray {
  if (activeArena) return activeArena.take(dtype, n, false);
  const bytes = n * (dtype === 'f64' ? 8 : 4);
  const buf = Buffer.allocUnsafe(bytes);
  // Large buffers own their memory at offset 0; small ones come from Node's 8-byte-aligned pool.
  return dtype === 'f64' ? new Float64Array(buf.buffer, buf.byteOffset, n) : new Float32Array(buf.buffer, buf.byteOffset, n);
}

/** A zeroed buffer that dies with the op's backward pass (saved statistics, temporaries): from the
 *  active arena when there is one, else the heap. */
export function scratchArray(dtype: DType, n: number): FloatArray {
  return activeArena ? activeArena.take(dtype, n, true) : newArray(dtype, n);
}

/**
 * Buffers for one training step, reused by the next. A step allocates the same sequence of
 * activations, gradients and temporaries every time (hundreds of MB at seq 512); fresh typed
 * arrays for each cost a zero fill, page faults and V8 garbage collection of external memory.
 * `reset()` hands every buffer out again, so nothing taken before it may be read after it: only
 * code that keeps no tensor across steps (a training step's forward and backward) runs inside.
 * Parameters, their gradients and anything made outside `withArena` stay on the heap.
 *
 * Shapes may vary between steps (task batches are padded to their longest sequence), so buffers
 * are pooled by size class (8 per octave, at most 1/8 unused) and handed out as exact-length views,
 * and a class no step has used for KEEP_STEPS steps is dropped: memory stays near a few steps' worth.
 */
export class BufferArena {
  private static readonly KEEP_STEPS = 2;
  private readonly pools = new Map<string, { bufs: FloatArray[]; next: number; lastUsed: number }>();
  private readonly mine = new WeakSet<FloatArray>();
  private step = 0;
  private heldBytes = 0;

  take(dtype: DType, n: number, zero: boolean): FloatArray {
    const cap = sizeClass(n);
    const key = `${dtype}:${cap}`;
    let pool = this.pools.get(key);
    if (!pool) this.pools.set(key, (pool = { bufs: [], next: 0, lastUsed: this.step }));
    pool.lastUsed = this.step;
    let buf = pool.bufs[pool.next];
    if (!buf) {
      buf = newArray(dtype, cap); // zeroed once, when the pool grows
      pool.bufs.push(buf);
      this.heldBytes += buf.byteLength;
    } else if (zero) buf.fill(0, 0, n);
    pool.next++;
    const view = buf.length === n ? buf : buf.subarray(0, n);
    this.mine.add(view);
    return view;
  }

  owns(buf: FloatArray): boolean {
    return this.mine.has(buf);
  }

  /** Every buffer is free again (the previous step's tensors must not be used after this). */
  reset(): void {
    this.step++;
    for (const [key, pool] of this.pools) {
      pool.next = 0;
      if (this.step - pool.lastUsed > BufferArena.KEEP_STEPS) {
        for (const b of pool.bufs) this.heldBytes -= b.byteLength;
        this.pools.delete(key);
      }
    }
  }

  /** Bytes the arena holds now. */
  get bytes(): number {
    return this.heldBytes;
  }
}

/** n rounded up to m * 2^e with 8 <= m < 16: eight classes per octave. */
function sizeClass(n: number): number {
  if (n <= 16) return n;
  const e = Math.floor(Math.log2(n)) - 3;
  const unit = 2 ** e;
  return Math.ceil(n / unit) * unit;
}

let activeArena: BufferArena | null = null;

/** Runs fn with allocations of activations, their gradients and op temporaries drawn from arena. */
export function withArena<T>(arena: BufferArena, fn: () => T): T {
  const prev = activeArena;
  activeArena = arena;
  try {
    return fn();
  } finally {
    activeArena = prev;
  }
}

/** A tensor whose every element the caller's kernel will write (forward outputs). */
export function empty(shape: readonly number[], dtype: DType = 'f32'): Tensor {
  return new Tensor(newArrayUninitialized(dtype, shapeSize(shape)), shape);
}

export function zeros(shape: readonly number[], dtype: DType = 'f32', opts: { requiresGrad?: boolean; name?: string } = {}): Tensor {
  return new Tensor(newArray(dtype, shapeSize(shape)), shape, opts);
}

export function fromArray(
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: DType = 'f32',
  opts: { requiresGrad?: boolean; name?: string } = {},
): Tensor {
  const data = newArray(dtype, values.length);
  data.set(values as ArrayLike<number>);
  return new Tensor(data, shape, opts);
}

/** Throws a clear error when a tensor's shape differs from what an op expects. */
export function expectShape(op: string, what: string, t: Tensor, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${op}: ${what} has shape [${t.shape.join(',')}], expected [${shape.join(',')}]`);
  }
}

export function sameDtype(op: string, ...ts: Tensor[]): void {
  const d = ts[0].dtype;
  for (const t of ts) if (t.dtype !== d) throw new Error(`${op}: mixed dtypes ${ts.map((x) => x.dtype).join(',')}`);
}
