// Embedding table [n, C]: forward(ids) gathers rows; repeated ids accumulate their gradients.
import { Tape, Tensor, embedding, zeros, type DType } from '../tensor/index.js';
import type { Rng } from '../util/rng.js';
import type { Module } from './module.js';

export class Embedding implements Module {
  readonly weight: Tensor;

  constructor(weight: Tensor) {
    if (weight.shape.length !== 2) throw new Error(`Embedding: table ${weight.name} must be [n,C], got [${weight.shape.join(',')}]`);
    this.weight = weight;
  }

  /** Rows ~ N(0, std^2) (default std 1, as torch.nn.Embedding). */
  static init(n: number, C: number, rng: Rng, opts: { std?: number; dtype?: DType; name?: string } = {}): Embedding {
    const pre = opts.name ? `${opts.name}.` : '';
    const w = zeros([n, C], opts.dtype ?? 'f32', { requiresGrad: true, name: `${pre}weight` });
    const std = opts.std ?? 1;
    for (let i = 0; i < w.size; i++) w.data[i] = rng.normal() * std;
    return new Embedding(w);
  }

  /** ids (length N) -> [N, C] */
  forward(tape: Tape | null, ids: Int32Array): Tensor {
    return embedding(tape, this.weight, ids, [ids.length]);
  }

  parameters(): Map<string, Tensor> {
    return new Map([['weight', this.weight]]);
  }
}
