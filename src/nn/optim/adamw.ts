// AdamW over a named set of tensors; the update itself is one native kernel call per tensor.
import { kernelsFor, type FloatArray } from '../../native/index.js';
import type { Tensor } from '../../tensor/index.js';

export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export function defaultAdamWConfig(): AdamWConfig {
  return { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 };
}

export function validateAdamWConfig(c: AdamWConfig): Readonly<AdamWConfig> {
  if (!(c.lr > 0)) throw new Error(`AdamW: lr must be > 0, got ${c.lr}`);
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1))
    throw new Error(`AdamW: betas must be in [0,1), got ${c.beta1}, ${c.beta2}`);
  if (!(c.eps > 0)) throw new Error(`AdamW: eps must be > 0, got ${c.eps}`);
  if (!(c.weightDecay >= 0)) throw new Error(`AdamW: weight decay must be >= 0, got ${c.weightDecay}`);
  return Object.freeze({ ...c });
}

export class AdamW {
  readonly config: Readonly<AdamWConfig>;
  readonly params: ReadonlyMap<string, Tensor>;
  /** first and second moments, keyed like params */
  readonly m = new Map<string, FloatArray>();
  readonly v = new Map<string, FloatArray>();
  step = 0;

  constructor(params: Map<string, Tensor>, config: AdamWConfig) {
    this.config = validateAdamWConfig(config);
    this.params = params;
    for (const [name, p] of params) {
      if (!p.requiresGrad) throw new Error(`AdamW: ${name} does not require a gradient`);
      this.m.set(name, new Float32Array(p.size));
      this.v.set(name, new Float32Array(p.size));
    }
  }

  /** One update at learning rate lr. Vectors (norm gains) get no weight decay, as is usual. */
  update(lr: number): void {
    this.step++;
    const c = this.config;
    for (const [name, p] of this.params) {
      if (!p.grad) continue; // no gradient reached it this step
      const wd = p.shape.length >= 2 ? c.weightDecay : 0;
      kernelsFor(p.data).adamw(p.data, p.grad, this.m.get(name)!, this.v.get(name)!, p.size, lr, c.beta1, c.beta2, c.eps, wd, this.step);
    }
  }

  zeroGrad(): void {
    for (const p of this.params.values()) p.zeroGrad();
  }
}

/** Scales all gradients so their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  const list = [...params].filter((p) => p.grad);
  let ss = 0;
  for (const p of list) ss += kernelsFor(p.grad!).sumSquares(p.grad!, p.size);
  const norm = Math.sqrt(ss);
  if (!Number.isFinite(norm)) throw new Error(`clipGradNorm: gradient norm is ${norm} (training diverged)`);
  if (maxNorm > 0 && norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (const p of list) {
      const g = p.grad!;
      // y += (s-1) * y scales in place with the same kernel
      kernelsFor(g).axpy(g, g, s - 1, p.size);
    }
  }
  return norm;
}
