// LayerNorm over the last dimension with a learned gain (init 1) and bias (init 0); the native
// layernorm kernel through the tensor op.
import { Tape, Tensor, layernorm, zeros, type DType } from '../tensor/index.js';
import type { Module } from './module.js';

export class LayerNorm implements Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly eps: number;

  constructor(weight: Tensor, bias: Tensor, eps = 1e-5) {
    if (weight.shape.length !== 1 || bias.shape.length !== 1 || bias.shape[0] !== weight.shape[0]) {
      throw new Error(`LayerNorm: weight [${weight.shape.join(',')}] and bias [${bias.shape.join(',')}] must be the same [C]`);
    }
    if (!(eps > 0)) throw new Error(`LayerNorm: eps must be > 0, got ${eps}`);
    this.weight = weight;
    this.bias = bias;
    this.eps = eps;
  }

  static init(C: number, opts: { eps?: number; dtype?: DType; name?: string } = {}): LayerNorm {
    const pre = opts.name ? `${opts.name}.` : '';
    const w = zeros([C], opts.dtype ?? 'f32', { requiresGrad: true, name: `${pre}weight` });
    w.data.fill(1);
    const b = zeros([C], opts.dtype ?? 'f32', { requiresGrad: true, name: `${pre}bias` });
    return new LayerNorm(w, b, opts.eps);
  }

  /** x[.., C] -> [.., C] */
  forward(tape: Tape | null, x: Tensor): Tensor {
    return layernorm(tape, x, this.weight, this.bias, this.eps);
  }

  parameters(): Map<string, Tensor> {
    return new Map([
      ['weight', this.weight],
      ['bias', this.bias],
    ]);
  }
}
