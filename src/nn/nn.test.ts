// nn modules: parameter names, shapes, init, and gradients (float64 central differences).
import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.js';
import { fromArray } from '../tensor/index.js';
import { gradCheck, randomTensor } from '../tensor/gradcheck.js';
import { Linear } from './linear.js';
import { MLP } from './mlp.js';
import { LayerNorm } from './layernorm.js';
import { Embedding } from './embedding.js';
import { collectParameters, parameterCount } from './module.js';

const TOL = 1e-6;

describe('nn modules', () => {
  it('Linear: hand-worked forward with bias, names and PyTorch-default init bounds', () => {
    const lin = new Linear(fromArray([1, 0, 2, 3], [2, 2], 'f64'), fromArray([10, 20], [2], 'f64'));
    expect([...lin.forward(null, fromArray([1, 2], [1, 2], 'f64')).data]).toEqual([11, 28]);
    const l = Linear.init(16, 4, new Rng(1), { name: 'fc' });
    expect([...l.parameters().keys()]).toEqual(['weight', 'bias']);
    expect(l.weight.name).toBe('fc.weight');
    expect(l.weight.shape).toEqual([4, 16]);
    expect([...l.weight.data].every((v) => Math.abs(v) <= 0.25)).toBe(true);
    expect(Linear.init(3, 2, new Rng(1), { bias: false }).bias).toBeNull();
    const z = Linear.init(3, 2, new Rng(1), { init: { kind: 'zeros' } });
    expect([...z.weight.data, ...z.bias!.data].every((v) => v === 0)).toBe(true);
  });
  it('Linear gradients (x, W, b)', () => {
    const rng = new Rng(2);
    const l = Linear.init(5, 3, rng, { dtype: 'f64' });
    const r = gradCheck((t, [x]) => l.forward(t, x), [randomTensor([4, 5], rng), l.weight, l.bias!]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('MLP: names fc1..fck, GELU between (and after, with activateLast), gradients', () => {
    const rng = new Rng(3);
    const m = MLP.init([4, 6, 3], rng, { dtype: 'f64', activateLast: true });
    expect([...m.parameters().keys()]).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    expect(parameterCount(m)).toBe(4 * 6 + 6 + 6 * 3 + 3);
    const x = randomTensor([2, 4], rng);
    const y = m.forward(null, x);
    expect(y.shape).toEqual([2, 3]);
    expect([...y.data].every((v) => v >= -0.17)).toBe(true); // GELU's minimum is about -0.17
    const r = gradCheck((t, [xx]) => m.forward(t, xx), [x, ...m.parameters().values()]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
    expect(() => MLP.init([4], rng)).toThrow(/MLP: sizes needs at least/);
  });
  it('LayerNorm: unit gain and zero bias give zero-mean unit-variance rows; gradients', () => {
    const rng = new Rng(4);
    const ln = LayerNorm.init(6, { dtype: 'f64' });
    const x = randomTensor([3, 6], rng, { scale: 3 });
    const y = ln.forward(null, x);
    for (let n = 0; n < 3; n++) {
      const row = [...y.data.subarray(n * 6, n * 6 + 6)];
      const mean = row.reduce((a, b) => a + b, 0) / 6;
      expect(mean).toBeCloseTo(0, 12);
      expect(row.reduce((a, b) => a + (b - mean) ** 2, 0) / 6).toBeCloseTo(1, 4);
    }
    for (let i = 0; i < 6; i++) {
      ln.weight.data[i] = rng.normal();
      ln.bias.data[i] = rng.normal();
    }
    const r = gradCheck((t, [xx]) => ln.forward(t, xx), [x, ln.weight, ln.bias]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
  });
  it('Embedding: gathers rows; repeated ids accumulate gradients', () => {
    const rng = new Rng(5);
    const e = Embedding.init(4, 3, rng, { dtype: 'f64', name: 'emb' });
    const ids = Int32Array.from([2, 0, 2]);
    const y = e.forward(null, ids);
    expect(y.shape).toEqual([3, 3]);
    expect([...y.data.subarray(0, 3)]).toEqual([...e.weight.data.subarray(6, 9)]);
    const r = gradCheck((t) => e.forward(t, ids), [e.weight]);
    expect(r.maxRelError, r.worst).toBeLessThan(TOL);
    expect(() => e.forward(null, Int32Array.from([4]))).toThrow(/outside/);
  });
  it('collectParameters prefixes names and refuses duplicates', () => {
    const rng = new Rng(6);
    const m = new Map();
    collectParameters(m, 'a', Linear.init(2, 2, rng));
    expect([...m.keys()]).toEqual(['a.weight', 'a.bias']);
    expect(() => collectParameters(m, 'a', Linear.init(2, 2, rng))).toThrow(/two parameters named a.weight/);
  });
  it('float32 modules run on the native core and agree with float64', () => {
    const rng = new Rng(7);
    const m64 = MLP.init([5, 8, 4], rng, { dtype: 'f64' });
    const m32 = new MLP(
      m64.layers.map((l) => new Linear(fromArray(l.weight.data, l.weight.shape, 'f32'), fromArray(l.bias!.data, l.bias!.shape, 'f32'))),
      false,
    );
    const x = randomTensor([3, 5], rng, { requiresGrad: false });
    const y64 = m64.forward(null, x),
      y32 = m32.forward(null, fromArray(x.data, x.shape, 'f32'));
    for (let i = 0; i < y64.size; i++) expect(y32.data[i]).toBeCloseTo(y64.data[i], 5);
  });
});
