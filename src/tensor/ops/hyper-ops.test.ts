// The hypernetwork's ops (rows, pooling, L2 normalisation, pointwise): backward vs float64 central
// finite differences, a hand-worked forward case each, and float32 against float64.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { gradCheck, randomTensor } from '../gradcheck.js';
import { Tensor, fromArray } from '../tensor.js';
import { Tape } from '../tape.js';
import { concatCols, concatRows, sliceRows } from './rows.js';
import { maxRows, meanRows } from './pool.js';
import { l2NormalizeRows } from './l2norm.js';
import { addBias, clamp, exp, mul, scaleBy, tanh } from './pointwise.js';
import { linear } from './linear.js';

const TOL = 1e-6;
const f64 = (v: number[], shape: number[]) => fromArray(v, shape, 'f64');

describe('hyper ops: gradient checks (float64, central differences)', () => {
  const rng = new Rng(11);
  it('sliceRows', () => {
    const r = gradCheck((t, [x]) => sliceRows(t, x, 1, 3), [randomTensor([4, 3], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('concatRows (three inputs, one reused)', () => {
    const r = gradCheck((t, [a, b]) => concatRows(t, [a, b, a]), [randomTensor([2, 3], rng), randomTensor([1, 3], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('concatCols', () => {
    const r = gradCheck((t, [a, b]) => concatCols(t, a, b), [randomTensor([3, 2], rng), randomTensor([3, 4], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('meanRows', () => {
    const r = gradCheck((t, [x]) => meanRows(t, x), [randomTensor([5, 3], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('maxRows (distinct values, so the arg-max is stable under the perturbation)', () => {
    const r = gradCheck((t, [x]) => maxRows(t, x), [randomTensor([5, 4], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('l2NormalizeRows', () => {
    const r = gradCheck((t, [x]) => l2NormalizeRows(t, x), [randomTensor([3, 5], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('l2NormalizeRows below eps is x / eps', () => {
    const r = gradCheck((t, [x]) => l2NormalizeRows(t, x, 1), [randomTensor([2, 3], rng, { scale: 0.1 })]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('tanh', () => {
    const r = gradCheck((t, [x]) => tanh(t, x), [randomTensor([3, 4], rng, { scale: 1.5 })]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('exp', () => {
    const r = gradCheck((t, [x]) => exp(t, x), [randomTensor([3, 4], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('clamp (values inside and outside the bounds)', () => {
    const x = randomTensor([4, 5], rng, { scale: 2 });
    for (let i = 0; i < x.size; i++) if (Math.abs(Math.abs(x.data[i]) - 1) < 1e-3) x.data[i] += 0.01; // keep FD off the kinks
    const r = gradCheck((t, [v]) => clamp(t, v, -1, 1), [x]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
    expect([...x.data].some((v) => v > 1) && [...x.data].some((v) => v < -1)).toBe(true);
  });
  it('mul', () => {
    const r = gradCheck((t, [a, b]) => mul(t, a, b), [randomTensor([3, 4], rng), randomTensor([3, 4], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('scaleBy (gradient into x and s)', () => {
    const r = gradCheck((t, [x, s]) => scaleBy(t, x, s), [randomTensor([3, 4], rng), randomTensor([1], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('addBias (3-D x)', () => {
    const r = gradCheck((t, [x, b]) => addBias(t, x, b), [randomTensor([2, 3, 4], rng), randomTensor([4], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('a chain of them: exp -> clamp -> scaleBy(tanh(l2norm(concatCols)))', () => {
    const r = gradCheck(
      (t, [a, b, ls]) => {
        const s = clamp(t, exp(t, ls), 1e-5, 10);
        return scaleBy(t, tanh(t, l2NormalizeRows(t, concatCols(t, a, b))), s);
      },
      [randomTensor([2, 3], rng), randomTensor([2, 2], rng), randomTensor([1], rng)],
    );
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
});

describe('hyper ops: hand-worked cases', () => {
  it('sliceRows / concatRows / concatCols', () => {
    const x = f64([1, 2, 3, 4, 5, 6], [3, 2]);
    expect([...sliceRows(null, x, 1, 3).data]).toEqual([3, 4, 5, 6]);
    expect(sliceRows(null, x, 2, 2).shape).toEqual([0, 2]);
    expect([...concatRows(null, [f64([1, 2], [1, 2]), f64([3, 4, 5, 6], [2, 2])]).data]).toEqual([1, 2, 3, 4, 5, 6]);
    const c = concatCols(null, f64([1, 2], [2, 1]), f64([3, 4, 5, 6], [2, 2]));
    expect(c.shape).toEqual([2, 3]);
    expect([...c.data]).toEqual([1, 3, 4, 2, 5, 6]);
  });
  it('meanRows / maxRows, and max sends the gradient to the first arg-max', () => {
    const x = fromArray([1, 5, 3, 2, 3, 5], [3, 2], 'f64', { requiresGrad: true });
    expect([...meanRows(null, x).data]).toEqual([7 / 3, 4]);
    const tape = new Tape();
    const m = maxRows(tape, x);
    expect([...m.data]).toEqual([3, 5]);
    tape.backward(linear(tape, m, f64([10, 20], [1, 2]))); // d loss / d m = [10, 20]
    expect([...x.grad!]).toEqual([0, 20, 10, 0, 0, 0]);
  });
  it('l2NormalizeRows of [3,4] is [0.6,0.8]; a zero row stays zero', () => {
    const y = l2NormalizeRows(null, f64([3, 4, 0, 0], [2, 2]));
    expect(y.data[0]).toBeCloseTo(0.6, 15);
    expect(y.data[1]).toBeCloseTo(0.8, 15);
    expect([y.data[2], y.data[3]]).toEqual([0, 0]);
  });
  it('tanh, exp, clamp, mul, scaleBy, addBias', () => {
    expect([...tanh(null, f64([0, 1], [2])).data]).toEqual([0, Math.tanh(1)]);
    expect([...exp(null, f64([0, Math.log(3)], [2])).data]).toEqual([1, Math.exp(Math.log(3))]);
    expect([...clamp(null, f64([-2, 0.5, 7], [3]), 0, 1).data]).toEqual([0, 0.5, 1]);
    expect([...mul(null, f64([1, 2, 3], [3]), f64([4, 5, 6], [3])).data]).toEqual([4, 10, 18]);
    expect([...scaleBy(null, f64([1, -2], [2]), f64([3], [1])).data]).toEqual([3, -6]);
    expect([...addBias(null, f64([1, 2, 3, 4], [2, 2]), f64([10, 20], [2])).data]).toEqual([11, 22, 13, 24]);
  });
  it('clamp passes no gradient outside its bounds', () => {
    const x = fromArray([-2, 0.5, 7], [3], 'f64', { requiresGrad: true });
    const tape = new Tape();
    const y = clamp(tape, x, 0, 1);
    tape.backward(linear(tape, y.view([1, 3]), f64([1, 1, 1], [1, 3])));
    expect([...x.grad!]).toEqual([0, 1, 0]);
  });
  it('float32 matches float64 (same code path, both dtypes)', () => {
    const rng = new Rng(2);
    const a = randomTensor([3, 4], rng, { requiresGrad: false });
    const a32 = new Tensor(Float32Array.from(a.data), a.shape);
    const run = (x: Tensor) => [...tanh(null, l2NormalizeRows(null, concatRows(null, [x, sliceRows(null, x, 0, 1)]))).data];
    const y64 = run(a),
      y32 = run(a32);
    y64.forEach((v, i) => expect(y32[i]).toBeCloseTo(v, 6));
  });
  it('errors name the op and the shapes', () => {
    expect(() => sliceRows(null, f64([1, 2], [1, 2]), 0, 2)).toThrow(/sliceRows: rows \[0, 2\) do not fit x \[1,2\]/);
    expect(() => concatRows(null, [f64([1, 2], [1, 2]), f64([1, 2, 3], [1, 3])])).toThrow(/concatRows: xs\[1\] has 3 columns/);
    expect(() => concatCols(null, f64([1, 2], [2, 1]), f64([1], [1, 1]))).toThrow(/concatCols: row counts differ, a=\[2,1\] b=\[1,1\]/);
    expect(() => addBias(null, f64([1, 2], [1, 2]), f64([1, 2, 3], [3]))).toThrow(/addBias: bias .*\[3\].*needs \[2\]/);
    expect(() => scaleBy(null, f64([1, 2], [1, 2]), f64([1, 2], [2]))).toThrow(/scaleBy: s must have one element/);
    expect(() => mul(null, f64([1, 2], [1, 2]), f64([1, 2], [2, 1]))).toThrow(/mul: b has shape \[2,1\], expected \[1,2\]/);
  });
});
