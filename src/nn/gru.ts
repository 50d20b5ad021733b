// GRU cell (PyTorch torch.nn.GRUCell: same parameter names, shapes, chunk order r, z, n and init)
// and the one piece of truncated backpropagation through time the callers need: `detachState`.
//   gi = x W_ih^T + b_ih [N, 3H];  gh = h W_hh^T + b_hh [N, 3H];  h' = gruGates(gi, gh, h) [N, H]
// Letters: N rows, I input width, H hidden width.
import { Tape, Tensor, addBias, gruGates, linear, zeros, type DType } from '../tensor/index.js';
import type { Rng } from '../util/rng.js';
import type { Module } from './module.js';

export class GRUCell implements Module {
  /** [3H, I], [3H, H], [3H], [3H] (PyTorch: weight_ih, weight_hh, bias_ih, bias_hh) */
  readonly weightIh: Tensor;
  readonly weightHh: Tensor;
  readonly biasIh: Tensor;
  readonly biasHh: Tensor;

  constructor(weightIh: Tensor, weightHh: Tensor, biasIh: Tensor, biasHh: Tensor) {
    const H = weightHh.shape[1];
    const ok =
      weightHh.shape.length === 2 &&
      weightHh.shape[0] === 3 * H &&
      weightIh.shape.length === 2 &&
      weightIh.shape[0] === 3 * H &&
      biasIh.shape.length === 1 &&
      biasIh.shape[0] === 3 * H &&
      biasHh.shape.length === 1 &&
      biasHh.shape[0] === 3 * H;
    if (!ok) {
      throw new Error(
        `GRUCell: expected weight_ih [3H,I], weight_hh [3H,H], biases [3H]; got [${weightIh.shape.join(',')}], ` +
          `[${weightHh.shape.join(',')}], [${biasIh.shape.join(',')}], [${biasHh.shape.join(',')}]`,
      );
    }
    this.weightIh = weightIh;
    this.weightHh = weightHh;
    this.biasIh = biasIh;
    this.biasHh = biasHh;
  }

  /** PyTorch's init: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)). */
  static init(I: number, H: number, rng: Rng, opts: { dtype?: DType } = {}): GRUCell {
    const dtype = opts.dtype ?? 'f32';
    const bound = 1 / Math.sqrt(H);
    const u = (shape: number[], name: string) => {
      const t = zeros(shape, dtype, { requiresGrad: true, name });
      for (let i = 0; i < t.size; i++) t.data[i] = (rng.next() * 2 - 1) * bound;
      return t;
    };
    return new GRUCell(u([3 * H, I], 'weight_ih'), u([3 * H, H], 'weight_hh'), u([3 * H], 'bias_ih'), u([3 * H], 'bias_hh'));
  }

  get inputSize(): number {
    return this.weightIh.shape[1];
  }
  get hiddenSize(): number {
    return this.weightHh.shape[1];
  }

  /** One step: x [N, I], h [N, H] -> h' [N, H]. */
  forward(tape: Tape | null, x: Tensor, h: Tensor): Tensor {
    const I = this.inputSize,
      H = this.hiddenSize;
    if (x.shape.length !== 2 || x.shape[1] !== I) throw new Error(`GRUCell.forward: x is [${x.shape.join(',')}], expected [N,${I}]`);
    if (h.shape.length !== 2 || h.shape[1] !== H || h.shape[0] !== x.shape[0])
      throw new Error(`GRUCell.forward: h is [${h.shape.join(',')}], expected [${x.shape[0]},${H}]`);
    const gi = addBias(tape, linear(tape, x, this.weightIh), this.biasIh); // [N, 3H]
    const gh = addBias(tape, linear(tape, h, this.weightHh), this.biasHh); // [N, 3H]
    return gruGates(tape, gi, gh, h); // [N, H]
  }

  parameters(): Map<string, Tensor> {
    return new Map([
      ['weight_ih', this.weightIh],
      ['weight_hh', this.weightHh],
      ['bias_ih', this.biasIh],
      ['bias_hh', this.biasHh],
    ]);
  }
}

/** Truncated BPTT: the same values with no history (a window end). Gradients stop here. */
export function detachState(h: Tensor): Tensor {
  return new Tensor(h.data.slice(), h.shape);
}

/**
 * Runs the cell over xs (each [N, I]) from h0, detaching the state every `window` steps (0 = never):
 * the states after every step, in order. Steps before the last window boundary still run on the
 * tape but their gradient is cut at the boundary, exactly as if the state had been carried in.
 */
export function unrollGRU(tape: Tape | null, cell: GRUCell, xs: readonly Tensor[], h0: Tensor, window = 0): Tensor[] {
  if (!Number.isInteger(window) || window < 0) throw new Error(`unrollGRU: window must be an integer >= 0, got ${window}`);
  const out: Tensor[] = [];
  let h = h0;
  xs.forEach((x, t) => {
    if (window > 0 && t > 0 && t % window === 0) h = detachState(h);
    h = cell.forward(tape, x, h);
    out.push(h);
  });
  return out;
}
