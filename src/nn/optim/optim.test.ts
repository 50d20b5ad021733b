// Schedule shape, gradient clipping and one hand-worked AdamW step.
import { describe, expect, it } from 'vitest';
import { fromArray } from '../../tensor/index.js';
import { cosineLr } from './schedule.js';
import { AdamW, clipGradNorm } from './adamw.js';

describe('cosineLr', () => {
  const s = { lr: 1, minLr: 0.1, warmupSteps: 4, totalSteps: 14 };
  it('warms up linearly, peaks, decays along a cosine to minLr', () => {
    expect(cosineLr(s, 1)).toBeCloseTo(0.25, 12);
    expect(cosineLr(s, 4)).toBeCloseTo(1, 12);
    expect(cosineLr(s, 9)).toBeCloseTo(0.55, 12); // halfway: (1 + 0.1) / 2
    expect(cosineLr(s, 14)).toBeCloseTo(0.1, 12);
    expect(cosineLr(s, 20)).toBeCloseTo(0.1, 12);
  });
});

describe('clipGradNorm', () => {
  it('scales all gradients to the max norm and reports the norm before', () => {
    const a = fromArray([0, 0], [2], 'f64', { requiresGrad: true });
    const b = fromArray([0], [1], 'f64', { requiresGrad: true });
    a.gradBuffer().set([3, 0]);
    b.gradBuffer().set([4]);
    expect(clipGradNorm([a, b], 1)).toBeCloseTo(5, 12);
    expect(a.grad![0]).toBeCloseTo(0.6, 5);
    expect(b.grad![0]).toBeCloseTo(0.8, 5);
  });
  it('refuses a non-finite norm', () => {
    const a = fromArray([0], [1], 'f64', { requiresGrad: true });
    a.gradBuffer()[0] = NaN;
    expect(() => clipGradNorm([a], 1)).toThrow(/diverged/);
  });
});

describe('AdamW', () => {
  it('first step moves each weight by lr * sign(grad) plus decoupled decay on matrices only', () => {
    const w = fromArray([1, -1, 2, 0.5], [2, 2], 'f32', { requiresGrad: true });
    const g = fromArray([1], [1], 'f32', { requiresGrad: true });
    w.gradBuffer().set([0.5, -2, 0, 3]);
    g.gradBuffer().set([-1]);
    const opt = new AdamW(
      new Map([
        ['w', w],
        ['g', g],
      ]),
      { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5 },
    );
    opt.update(0.1);
    // bias-corrected m/sqrt(v) = sign(grad) on step 1; decay 0.1 * 0.5 * w on the matrix only
    expect(w.data[0]).toBeCloseTo(1 - 0.1 - 0.05, 5);
    expect(w.data[1]).toBeCloseTo(-1 + 0.1 + 0.05, 5);
    expect(w.data[2]).toBeCloseTo(2 - 0.1, 5); // zero grad: only decay
    expect(g.data[0]).toBeCloseTo(1 + 0.1, 5); // vector: no decay
  });
});
