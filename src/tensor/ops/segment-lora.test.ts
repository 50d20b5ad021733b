// segmentLora: backward vs float64 central finite differences (x, y and every segment's A and B,
// a segment without an update in the middle), a hand-worked case, and equality with the composed ops
// (slice, two linears, concatenate, add) it replaces, float32 and float64.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { gradCheck, randomTensor } from '../gradcheck.js';
import { Tensor, fromArray } from '../tensor.js';
import { Tape } from '../tape.js';
import { segmentLora } from './segment-lora.js';
import { concatRows, sliceRows } from './rows.js';
import { linear } from './linear.js';
import { add } from './elementwise.js';
import { zeros } from '../tensor.js';

const TOL = 1e-6;

describe('segmentLora', () => {
  it('gradients of x, y and each segment A, B (float64 central differences)', () => {
    const rng = new Rng(5);
    const x = randomTensor([7, 4], rng),
      y = randomTensor([7, 3], rng);
    const A1 = randomTensor([2, 4], rng),
      B1 = randomTensor([3, 2], rng),
      A2 = randomTensor([3, 4], rng),
      B2 = randomTensor([3, 3], rng);
    const r = gradCheck(
      (t, [x_, y_, a1, b1, a2, b2]) =>
        segmentLora(t, x_, y_, [
          { rows: 3, lora: { A: a1, B: b1, scale: 0.5 } },
          { rows: 1, lora: null },
          { rows: 3, lora: { A: a2, B: b2, scale: 2 } },
        ]),
      [x, y, A1, B1, A2, B2],
      { samples: 30 },
    );
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
    expect(r.checked).toBeGreaterThan(60);
  });

  it('hand-worked: one row, rank 1', () => {
    // x = [1, 2], A = [[3, 4]] -> u = 11; B = [[1], [-1]], scale 2 -> delta = [22, -22]; y = [1, 1]
    const out = segmentLora(null, fromArray([1, 2], [1, 2], 'f64'), fromArray([1, 1], [1, 2], 'f64'), [
      { rows: 1, lora: { A: fromArray([3, 4], [1, 2], 'f64'), B: fromArray([1, -1], [2, 1], 'f64'), scale: 2 } },
    ]);
    expect([...out.data]).toEqual([23, -21]);
  });

  for (const dtype of ['f32', 'f64'] as const) {
    it(`equals the composed ops it replaces, outputs and gradients (${dtype})`, () => {
      const rng = new Rng(9);
      const mk = (shape: number[]) => randomTensor(shape, rng, { dtype });
      const x = mk([6, 5]),
        y = mk([6, 4]),
        A1 = mk([2, 5]),
        B1 = mk([4, 2]),
        A2 = mk([2, 5]),
        B2 = mk([4, 2]),
        w = mk([6, 4]);
      const segs = (a1: Tensor, b1: Tensor, a2: Tensor, b2: Tensor) => [
        { rows: 2, lora: { A: a1, B: b1, scale: 1.5 } },
        { rows: 1, lora: null },
        { rows: 3, lora: { A: a2, B: b2, scale: 0.25 } },
      ];
      const run = (fused: boolean) => {
        const ins = [x, y, A1, B1, A2, B2].map((t) => new Tensor(t.data.slice(), t.shape, { requiresGrad: true }));
        const [x_, y_, a1, b1, a2, b2] = ins;
        const tape = new Tape();
        let out: Tensor;
        if (fused) out = segmentLora(tape, x_, y_, segs(a1, b1, a2, b2));
        else {
          const d1 = linear(tape, linear(tape, sliceRows(tape, x_, 0, 2), a1), b1, 1.5);
          const d3 = linear(tape, linear(tape, sliceRows(tape, x_, 3, 6), a2), b2, 0.25);
          out = add(tape, y_, concatRows(tape, [d1, zeros([1, 4], dtype), d3]));
        }
        const loss = linear(tape, out.view([1, 24]), w.view([1, 24]));
        tape.backward(loss);
        return { out: [...out.data], grads: ins.map((t) => [...t.grad!]) };
      };
      const a = run(true),
        b = run(false);
      const tol = dtype === 'f32' ? 1e-5 : 1e-12;
      a.out.forEach((v, i) => expect(Math.abs(v - b.out[i])).toBeLessThan(tol));
      a.grads.forEach((g, j) => g.forEach((v, i) => expect(Math.abs(v - b.grads[j][i]), `input ${j}`).toBeLessThan(tol)));
    });
  }

  it('refuses segments that do not tile the rows and adapters of the wrong shape, naming them', () => {
    const x = zeros([4, 3], 'f64'),
      y = zeros([4, 2], 'f64');
    expect(() => segmentLora(null, x, y, [{ rows: 3, lora: null }])).toThrow(/segments cover 3 rows, x has 4/);
    expect(() => segmentLora(null, x, y, [{ rows: 4, lora: { A: zeros([2, 2], 'f64'), B: zeros([2, 2], 'f64'), scale: 1 } }])).toThrow(
      /segment 0: A \[2,2\]/,
    );
  });
});
