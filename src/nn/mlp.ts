// Multi-layer perceptron: Linear, GELU, Linear, GELU, ... over `sizes` [d0, d1, ..., dk].
import { Tape, Tensor, gelu } from '../tensor/index.js';
import type { Rng } from '../util/rng.js';
import { Linear, type LinearInitOptions } from './linear.js';
import { collectParameters, type Module } from './module.js';

export interface MLPOptions extends LinearInitOptions {
  /** GELU after the last Linear too (the hypernetwork trunk has it); default false. */
  activateLast?: boolean;
}

export class MLP implements Module {
  readonly layers: readonly Linear[];
  readonly activateLast: boolean;

  constructor(layers: Linear[], activateLast: boolean) {
    if (layers.length === 0) throw new Error('MLP: needs at least one Linear');
    for (let i = 1; i < layers.length; i++) {
      if (layers[i].inFeatures !== layers[i - 1].outFeatures) {
        throw new Error(`MLP: layer fc${i + 1} takes ${layers[i].inFeatures} inputs, fc${i} gives ${layers[i - 1].outFeatures}`);
      }
    }
    this.layers = layers;
    this.activateLast = activateLast;
  }

  /** Layers are named fc1, fc2, ... (parameters "fc1.weight", "fc1.bias", ...). */
  static init(sizes: readonly number[], rng: Rng, opts: MLPOptions = {}): MLP {
    if (sizes.length < 2) throw new Error(`MLP: sizes needs at least [in, out], got [${sizes.join(',')}]`);
    const pre = opts.name ? `${opts.name}.` : '';
    const layers = sizes.slice(1).map((out, i) => Linear.init(sizes[i], out, rng, { ...opts, name: `${pre}fc${i + 1}` }));
    return new MLP(layers, opts.activateLast ?? false);
  }

  /** x[N, d0] -> [N, dk] */
  forward(tape: Tape | null, x: Tensor): Tensor {
    let h = x;
    this.layers.forEach((l, i) => {
      h = l.forward(tape, h);
      if (i < this.layers.length - 1 || this.activateLast) h = gelu(tape, h);
    });
    return h;
  }

  parameters(): Map<string, Tensor> {
    const m = new Map<string, Tensor>();
    this.layers.forEach((l, i) => collectParameters(m, `fc${i + 1}`, l));
    return m;
  }
}
