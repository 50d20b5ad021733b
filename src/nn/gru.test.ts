// GRU cell: a hand-worked step, forward against a plain float64 transcription of PyTorch's GRUCell
// equations, gradients of the fused op and of the cell against float64 central differences, float32
// against float64, and truncated BPTT (detach at window ends cuts exactly the gradient it should).
import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.js';
import { Tape, Tensor, fromArray, gruGates, linear } from '../tensor/index.js';
import { gradCheck, randomTensor } from '../tensor/gradcheck.js';
import { GRUCell, detachState, unrollGRU } from './gru.js';

const TOL = 1e-6;
const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** PyTorch GRUCell, written out per element in float64. */
function referenceStep(cell: GRUCell, x: ArrayLike<number>, h: ArrayLike<number>, N: number): number[] {
  const I = cell.inputSize,
    H = cell.hiddenSize;
  const Wi = cell.weightIh.data,
    Wh = cell.weightHh.data,
    bi = cell.biasIh.data,
    bh = cell.biasHh.data;
  const out: number[] = [];
  for (let s = 0; s < N; s++) {
    const gi = (row: number) => bi[row] + Array.from({ length: I }, (_, k) => Wi[row * I + k] * x[s * I + k]).reduce((a, b) => a + b, 0);
    const gh = (row: number) => bh[row] + Array.from({ length: H }, (_, k) => Wh[row * H + k] * h[s * H + k]).reduce((a, b) => a + b, 0);
    for (let j = 0; j < H; j++) {
      const r = sig(gi(j) + gh(j)),
        z = sig(gi(H + j) + gh(H + j));
      const n = Math.tanh(gi(2 * H + j) + r * gh(2 * H + j));
      out.push((1 - z) * n + z * h[s * H + j]);
    }
  }
  return out;
}

describe('GRU cell', () => {
  it('hand-worked step (I = H = 1)', () => {
    // W_ih = [1, 2, 3]^T, W_hh = [0.5, -1, 2]^T, b_ih = 0, b_hh = [0, 0, 1]; x = 1, h = 0.5
    const cell = new GRUCell(
      fromArray([1, 2, 3], [3, 1], 'f64'),
      fromArray([0.5, -1, 2], [3, 1], 'f64'),
      fromArray([0, 0, 0], [3], 'f64'),
      fromArray([0, 0, 1], [3], 'f64'),
    );
    const r = sig(1 + 0.25),
      z = sig(2 - 0.5),
      n = Math.tanh(3 + r * (1 + 1));
    const y = cell.forward(null, fromArray([1], [1, 1], 'f64'), fromArray([0.5], [1, 1], 'f64'));
    expect(y.data[0]).toBeCloseTo((1 - z) * n + z * 0.5, 14);
  });

  it('PyTorch names, shapes and init bounds; forward equals the written-out equations', () => {
    const rng = new Rng(1);
    const cell = GRUCell.init(5, 4, rng, { dtype: 'f64' });
    expect([...cell.parameters().keys()]).toEqual(['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']);
    expect(cell.weightIh.shape).toEqual([12, 5]);
    expect(cell.weightHh.shape).toEqual([12, 4]);
    for (const t of cell.parameters().values()) expect([...t.data].every((v) => Math.abs(v) <= 0.5)).toBe(true);
    const x = randomTensor([3, 5], rng),
      h = randomTensor([3, 4], rng);
    const got = cell.forward(null, x, h);
    const want = referenceStep(cell, x.data, h.data, 3);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got.data[i] - want[i])).toBeLessThan(1e-13);
    expect(() => cell.forward(null, randomTensor([3, 4], rng), h)).toThrow(/x is \[3,4\], expected \[N,5\]/);
  });

  it('fused gate op: gradients of gi, gh, h against central differences', () => {
    const rng = new Rng(2);
    const gi = randomTensor([3, 12], rng),
      gh = randomTensor([3, 12], rng),
      h = randomTensor([3, 4], rng);
    const r = gradCheck((t, [a, b, c]) => gruGates(t, a, b, c), [gi, gh, h], { samples: 36 });
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });

  it('cell: gradients of x, h and every parameter against central differences', () => {
    const rng = new Rng(3);
    const cell = GRUCell.init(5, 4, rng, { dtype: 'f64' });
    const x = randomTensor([2, 5], rng),
      h = randomTensor([2, 4], rng);
    const r = gradCheck((t, [xx, hh]) => cell.forward(t, xx, hh), [x, h, cell.weightIh, cell.weightHh, cell.biasIh, cell.biasHh]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
    // three steps unrolled (backprop through time), gradient into h0 and the weights
    const xs = [randomTensor([2, 5], rng), randomTensor([2, 5], rng), randomTensor([2, 5], rng)];
    const r3 = gradCheck((t, [h0]) => unrollGRU(t, cell, xs, h0).at(-1)!, [h, cell.weightHh, cell.weightIh]);
    expect(r3.maxRelError, r3.worst).toBeLessThan(TOL);
  });

  it('float32 agrees with float64', () => {
    const rng = new Rng(4);
    const c64 = GRUCell.init(6, 8, rng, { dtype: 'f64' });
    const f32 = (t: Tensor) => new Tensor(Float32Array.from(t.data), t.shape, { requiresGrad: true });
    const c32 = new GRUCell(f32(c64.weightIh), f32(c64.weightHh), f32(c64.biasIh), f32(c64.biasHh));
    const x = randomTensor([4, 6], rng),
      h = randomTensor([4, 8], rng);
    const a = c64.forward(null, x, h),
      b = c32.forward(null, f32(x), f32(h));
    for (let i = 0; i < a.size; i++) expect(Math.abs(a.data[i] - b.data[i])).toBeLessThan(1e-6);
  });

  it('truncated BPTT: detaching at window ends equals a prefix run without the tape', () => {
    const rng = new Rng(5);
    const cell = GRUCell.init(3, 4, rng, { dtype: 'f64' });
    const xs = Array.from({ length: 5 }, () => randomTensor([1, 3], rng));
    const h0 = randomTensor([1, 4], rng);
    const w = randomTensor([1, 4], rng);
    const grads = (run: (tape: Tape) => Tensor) => {
      for (const p of cell.parameters().values()) p.zeroGrad();
      h0.zeroGrad();
      const tape = new Tape();
      tape.backward(linear(tape, run(tape), w));
      return { W: Array.from(cell.weightHh.grad!), h0: h0.grad ? Array.from(h0.grad) : [] };
    };
    // window 2 over 5 steps: only the last step (index 4) is inside the final window
    const truncated = grads((tape) => unrollGRU(tape, cell, xs, h0, 2).at(-1)!);
    const manual = grads((tape) => {
      const prefix = unrollGRU(null, cell, xs.slice(0, 4), h0).at(-1)!; // no tape: detached
      return cell.forward(tape, xs[4], prefix);
    });
    expect(truncated.W).toEqual(manual.W);
    expect(truncated.h0.every((v) => v === 0)).toBe(true); // nothing reaches h0 across a boundary
    const full = grads((tape) => unrollGRU(tape, cell, xs, h0, 0).at(-1)!);
    expect(full.h0.some((v) => v !== 0)).toBe(true);
    expect(full.W).not.toEqual(truncated.W);
    const d = detachState(h0);
    expect(d.requiresGrad).toBe(false);
    expect(Array.from(d.data)).toEqual(Array.from(h0.data));
  });
});
