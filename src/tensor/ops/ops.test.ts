// Every differentiable op: backward vs float64 central finite differences, plus hand-worked cases.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { gradCheck, randomTensor } from '../gradcheck.js';
import { fromArray } from '../tensor.js';
import { Tape } from '../tape.js';
import { linear, matmul } from './linear.js';
import { add, gelu, scale, swiglu } from './elementwise.js';
import { layernorm, rmsnorm } from './norm.js';
import { embedding } from './embedding.js';
import { rope, ropeTables } from './rope.js';
import { attention } from './attention.js';
import { crossEntropy } from './cross-entropy.js';

const TOL = 1e-6;

describe('gradient checks (float64, central differences)', () => {
  const rng = new Rng(1);
  it('linear (x and W, alpha)', () => {
    const r = gradCheck((t, [x, w]) => linear(t, x, w, 0.7), [randomTensor([3, 5], rng), randomTensor([4, 5], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`matmul transA=${ta} transB=${tb}`, () => {
      const A = randomTensor(ta ? [5, 3] : [3, 5], rng),
        B = randomTensor(tb ? [4, 5] : [5, 4], rng);
      const r = gradCheck((t, [a, b]) => matmul(t, a, b, ta, tb), [A, B]);
      expect(r.maxRelError, r.worst).toBeLessThan(TOL);
    });
  }
  it('add and scale', () => {
    const r = gradCheck((t, [a, b]) => scale(t, add(t, a, b), -1.5), [randomTensor([2, 3], rng), randomTensor([2, 3], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('swiglu', () => {
    const r = gradCheck((t, [g, u]) => swiglu(t, g, u), [randomTensor([3, 6], rng, { scale: 2 }), randomTensor([3, 6], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('gelu', () => {
    const r = gradCheck((t, [x]) => gelu(t, x), [randomTensor([4, 5], rng, { scale: 2 })]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('rmsnorm (x and weight)', () => {
    const r = gradCheck((t, [x, w]) => rmsnorm(t, x, w, 1e-5), [randomTensor([3, 8], rng), randomTensor([8], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('layernorm (x, weight, bias)', () => {
    const r = gradCheck(
      (t, [x, w, b]) => layernorm(t, x, w, b, 1e-5),
      [randomTensor([3, 8], rng), randomTensor([8], rng), randomTensor([8], rng)],
    );
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('embedding (repeated ids accumulate)', () => {
    const ids = Int32Array.from([2, 0, 2, 1]);
    const r = gradCheck((t, [tab]) => embedding(t, tab, ids, [2, 2]), [randomTensor([3, 4], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('rope', () => {
    const tables = ropeTables(8, 16, 10000, 'f64');
    const pos = Int32Array.from([0, 1, 2, 0, 0, 5]);
    const r = gradCheck((t, [x]) => rope(t, x, tables, pos), [randomTensor([2, 3, 2, 8], rng)]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('attention: causal, GQA (H=4, KV=2), left padding', () => {
    const [B, T, H, KV, D] = [2, 5, 4, 2, 4];
    const mask = Uint8Array.from([1, 1, 1, 1, 1, 0, 0, 1, 1, 1]);
    const r = gradCheck(
      (t, [q, k, v]) => attention(t, q, k, v, mask),
      [randomTensor([B, T, H, D], rng), randomTensor([B, T, KV, D], rng), randomTensor([B, T, KV, D], rng)],
      { samples: 40 },
    );
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('cross-entropy with ignored targets', () => {
    const targets = Int32Array.from([3, -1, 0, 4]);
    const r = gradCheck((t, [x]) => crossEntropy(t, x, targets).loss, [randomTensor([4, 6], rng, { scale: 3 })]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
});

describe('hand-worked cases', () => {
  it('linear: [1,2] @ [[1,0],[2,3]]^T = [1, 8]', () => {
    const y = linear(null, fromArray([1, 2], [1, 2], 'f64'), fromArray([1, 0, 2, 3], [2, 2], 'f64'));
    expect([...y.data]).toEqual([1, 8]);
  });
  it('rmsnorm of [3,4] with unit gain is [3,4]/sqrt(12.5)', () => {
    const y = rmsnorm(null, fromArray([3, 4], [1, 2], 'f64'), fromArray([1, 1], [2], 'f64'), 0);
    expect(y.data[0]).toBeCloseTo(3 / Math.sqrt(12.5), 12);
    expect(y.data[1]).toBeCloseTo(4 / Math.sqrt(12.5), 12);
  });
  it('cross-entropy of uniform logits is log(V), ignoring masked rows', () => {
    const { loss, count } = crossEntropy(null, fromArray(new Array(8).fill(0.5), [2, 4], 'f64'), Int32Array.from([1, -1]));
    expect(count).toBe(1);
    expect(loss.data[0]).toBeCloseTo(Math.log(4), 12);
  });
  it('attention: first position attends only to itself; a padded key is invisible', () => {
    const q = fromArray([1, 0, 1, 0], [1, 2, 1, 2], 'f64');
    const k = fromArray([1, 0, 0, 1], [1, 2, 1, 2], 'f64');
    const v = fromArray([5, 6, 7, 8], [1, 2, 1, 2], 'f64');
    const out = attention(null, q, k, v, Uint8Array.from([0, 1]));
    expect([...out.data]).toEqual([0, 0, 7, 8]); // pos 0 sees only a pad -> zeros; pos 1 sees only itself
  });
  it('rope at position 0 is the identity', () => {
    const x = fromArray([1, 2, 3, 4], [1, 1, 1, 4], 'f64');
    const y = rope(null, x, ropeTables(4, 4, 10000, 'f64'), Int32Array.from([0]));
    expect([...y.data]).toEqual([1, 2, 3, 4]);
  });
  it('a tensor used twice receives both gradients', () => {
    const tape = new Tape();
    const a = fromArray([1, 2], [1, 2], 'f64', { requiresGrad: true });
    const s = add(tape, a, a);
    const loss = linear(tape, s, fromArray([1, 1], [1, 2], 'f64'));
    tape.backward(loss);
    expect([...a.grad!]).toEqual([2, 2]);
  });
  it('errors name the op and both shapes', () => {
    expect(() => matmul(null, fromArray([1, 2], [1, 2], 'f64'), fromArray([1, 2, 3], [3, 1], 'f64'))).toThrow(
      /matmul: inner dims differ, a=\[1,2\] b=\[3,1\]/,
    );
  });
});
