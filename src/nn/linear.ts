// Linear layer: y[N, out] = x[N, in] W[out, in]^T + b[out] (PyTorch layout).
import { Tape, Tensor, addBias, linear, zeros, type DType } from '../tensor/index.js';
import type { Rng } from '../util/rng.js';
import type { Module } from './module.js';

/** How a fresh weight is drawn. 'kaiming-uniform' is PyTorch's nn.Linear default: W and b ~
 *  U(-1/sqrt(in), 1/sqrt(in)). 'normal' draws W ~ N(0, std^2) with b = 0. 'zeros' zeroes both. */
export type LinearInit = { kind: 'kaiming-uniform' } | { kind: 'normal'; std: number } | { kind: 'zeros' };

export interface LinearInitOptions {
  bias?: boolean;
  init?: LinearInit;
  dtype?: DType;
  /** Prefix for the tensors' names in errors ("trunk.fc1" -> "trunk.fc1.weight"). */
  name?: string;
}

export class Linear implements Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(weight: Tensor, bias: Tensor | null) {
    if (weight.shape.length !== 2) throw new Error(`Linear: weight ${weight.name} must be [out,in], got [${weight.shape.join(',')}]`);
    if (bias && (bias.shape.length !== 1 || bias.shape[0] !== weight.shape[0])) {
      throw new Error(
        `Linear: bias ${bias.name} has shape [${bias.shape.join(',')}], weight [${weight.shape.join(',')}] needs [${weight.shape[0]}]`,
      );
    }
    this.weight = weight;
    this.bias = bias;
  }

  static init(inF: number, outF: number, rng: Rng, opts: LinearInitOptions = {}): Linear {
    const dtype = opts.dtype ?? 'f32';
    const init = opts.init ?? { kind: 'kaiming-uniform' };
    const pre = opts.name ? `${opts.name}.` : '';
    const W = zeros([outF, inF], dtype, { requiresGrad: true, name: `${pre}weight` });
    const b = (opts.bias ?? true) ? zeros([outF], dtype, { requiresGrad: true, name: `${pre}bias` }) : null;
    if (init.kind === 'kaiming-uniform') {
      const bound = 1 / Math.sqrt(inF);
      for (let i = 0; i < W.size; i++) W.data[i] = (rng.next() * 2 - 1) * bound;
      if (b) for (let i = 0; i < b.size; i++) b.data[i] = (rng.next() * 2 - 1) * bound;
    } else if (init.kind === 'normal') {
      for (let i = 0; i < W.size; i++) W.data[i] = rng.normal() * init.std;
    }
    return new Linear(W, b);
  }

  get inFeatures(): number {
    return this.weight.shape[1];
  }
  get outFeatures(): number {
    return this.weight.shape[0];
  }

  /** x[.., in] -> [.., out] */
  forward(tape: Tape | null, x: Tensor): Tensor {
    const y = linear(tape, x, this.weight);
    return this.bias ? addBias(tape, y, this.bias) : y;
  }

  parameters(): Map<string, Tensor> {
    const m = new Map<string, Tensor>([['weight', this.weight]]);
    if (this.bias) m.set('bias', this.bias);
    return m;
  }
}
