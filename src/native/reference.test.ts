// The reference kernels are ground truth for the native ones, so their backward passes are checked
// here against float64 central finite differences of their forward passes. Each check takes the
// scalar L = sum(forward(inputs) * R) for fixed random R, runs backward with dout = R into zeroed
// gradients, and compares every gradient entry with (L(x + h) - L(x - h)) / 2h.
import { describe, expect, it } from 'vitest';
import { referenceKernels as K } from './reference.js';
import { mismatch, randF64, randInts, seeded } from './testing.js';

const H_STEP = 1e-5;
const RTOL = 1e-6;

/** Finite-difference gradient of loss() with respect to every entry of x (x is modified and restored). */
function numericGrad(x: Float64Array, loss: () => number): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const keep = x[i];
    x[i] = keep + H_STEP;
    const up = loss();
    x[i] = keep - H_STEP;
    const down = loss();
    x[i] = keep;
    g[i] = (up - down) / (2 * H_STEP);
  }
  return g;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

function expectGrad(name: string, analytic: Float64Array, numeric: Float64Array, rtol = RTOL): void {
  const m = mismatch(analytic, numeric, rtol);
  expect(m, `${name}: ${m}`).toBeNull();
}

describe('reference kernels: backward = finite differences (float64)', () => {
  it('rmsnorm', () => {
    const r = seeded(1);
    const rows = 3,
      C = 7,
      eps = 1e-5;
    const x = randF64(r, rows * C),
      w = randF64(r, C),
      R = randF64(r, rows * C);
    const out = new Float64Array(rows * C),
      rstd = new Float64Array(rows);
    const loss = () => {
      K.rmsnormForward(out, rstd, x, w, rows, C, eps);
      return dot(out, R);
    };
    loss();
    const dx = new Float64Array(rows * C),
      dw = new Float64Array(C);
    K.rmsnormBackward(dx, dw, R, x, w, rstd, rows, C);
    expectGrad('dx', dx, numericGrad(x, loss));
    expectGrad('dweight', dw, numericGrad(w, loss));
  });

  it('rope', () => {
    const r = seeded(2);
    const BT = 4,
      H = 2,
      D = 6,
      maxPos = 9;
    const x = randF64(r, BT * H * D),
      R = randF64(r, BT * H * D);
    const cos = new Float64Array((maxPos * D) / 2),
      sin = new Float64Array((maxPos * D) / 2);
    for (let p = 0; p < maxPos; p++)
      for (let i = 0; i < D / 2; i++) {
        const theta = p / 10000 ** ((2 * i) / D);
        cos[(p * D) / 2 + i] = Math.cos(theta);
        sin[(p * D) / 2 + i] = Math.sin(theta);
      }
    const pos = randInts(r, BT, 0, maxPos);
    const out = new Float64Array(BT * H * D);
    const loss = () => {
      K.ropeForward(out, x, cos, sin, pos, BT, H, D);
      return dot(out, R);
    };
    const dx = new Float64Array(BT * H * D);
    K.ropeBackward(dx, R, cos, sin, pos, BT, H, D);
    expectGrad('dx', dx, numericGrad(x, loss));
  });

  it('attention (GQA, left-padded key mask, fully padded query rows)', () => {
    const r = seeded(3);
    const B = 2,
      T = 5,
      H = 4,
      KV = 2,
      D = 3,
      scale = 1 / Math.sqrt(D);
    const q = randF64(r, B * T * H * D, 2),
      k = randF64(r, B * T * KV * D, 2),
      v = randF64(r, B * T * KV * D);
    const mask = new Uint8Array(B * T).fill(1);
    mask[T] = 0;
    mask[T + 1] = 0; // batch 1: two left-padding tokens
    const R = randF64(r, B * T * H * D);
    const out = new Float64Array(B * T * H * D),
      probs = new Float64Array(B * H * T * T);
    const loss = () => {
      K.attentionForward(out, probs, q, k, v, mask, B, T, T, T, H, KV, D, scale);
      return dot(out, R);
    };
    loss();
    const dq = new Float64Array(q.length),
      dk = new Float64Array(k.length),
      dv = new Float64Array(v.length);
    K.attentionBackward(dq, dk, dv, R, probs, q, k, v, B, T, H, KV, D, scale);
    expectGrad('dq', dq, numericGrad(q, loss));
    expectGrad('dk', dk, numericGrad(k, loss));
    expectGrad('dv', dv, numericGrad(v, loss));
  });

  it('swiglu', () => {
    const r = seeded(4);
    const n = 11;
    const gate = randF64(r, n, 4),
      up = randF64(r, n, 2),
      R = randF64(r, n);
    const out = new Float64Array(n);
    const loss = () => {
      K.swigluForward(out, gate, up, n);
      return dot(out, R);
    };
    const dg = new Float64Array(n),
      du = new Float64Array(n);
    K.swigluBackward(dg, du, R, gate, up, n);
    expectGrad('dgate', dg, numericGrad(gate, loss));
    expectGrad('dup', du, numericGrad(up, loss));
  });

  it('cross-entropy (with an ignored row)', () => {
    const r = seeded(5);
    const rows = 4,
      V = 6;
    const logits = randF64(r, rows * V, 3),
      R = randF64(r, rows);
    const targets = Int32Array.from([2, -1, 0, 5]);
    const losses = new Float64Array(rows),
      lse = new Float64Array(rows);
    const loss = () => {
      K.crossEntropyForward(losses, lse, logits, targets, rows, V);
      return dot(losses, R);
    };
    loss();
    expect(losses[1]).toBe(0);
    const dl = new Float64Array(rows * V);
    K.crossEntropyBackward(dl, R, logits, lse, targets, rows, V);
    expectGrad('dlogits', dl, numericGrad(logits, loss));
  });

  it('embedding (repeated ids)', () => {
    const r = seeded(6);
    const vocab = 5,
      n = 7,
      C = 3;
    const table = randF64(r, vocab * C),
      ids = Int32Array.from([0, 3, 3, 1, 4, 3, 0]);
    const R = randF64(r, n * C),
      out = new Float64Array(n * C);
    const loss = () => {
      K.embeddingForward(out, table, ids, n, C);
      return dot(out, R);
    };
    const dt = new Float64Array(vocab * C);
    K.embeddingBackward(dt, R, ids, n, C);
    expectGrad('dtable', dt, numericGrad(table, loss));
  });

  it('gelu (both erf branches)', () => {
    const r = seeded(7);
    const x = Float64Array.from([-5, -3.7, -2, -0.5, 0, 0.3, 1.2, 3.6, 4.5, ...randF64(r, 8, 3)]);
    const n = x.length,
      R = randF64(r, n),
      out = new Float64Array(n);
    const loss = () => {
      K.geluForward(out, x, n);
      return dot(out, R);
    };
    const dx = new Float64Array(n);
    K.geluBackward(dx, R, x, n);
    expectGrad('dx', dx, numericGrad(x, loss));
  });

  it('layernorm (with and without affine)', () => {
    const r = seeded(8);
    const rows = 3,
      C = 5,
      eps = 1e-5;
    const x = randF64(r, rows * C, 2),
      w = randF64(r, C),
      b = randF64(r, C),
      R = randF64(r, rows * C);
    for (const affine of [true, false]) {
      const out = new Float64Array(rows * C),
        mean = new Float64Array(rows),
        rstd = new Float64Array(rows);
      const wt = affine ? w : null,
        bs = affine ? b : null;
      const loss = () => {
        K.layernormForward(out, mean, rstd, x, wt, bs, rows, C, eps);
        return dot(out, R);
      };
      loss();
      const dx = new Float64Array(rows * C),
        dw = new Float64Array(C),
        db = new Float64Array(C);
      K.layernormBackward(dx, affine ? dw : null, affine ? db : null, R, x, wt, mean, rstd, rows, C);
      expectGrad(`dx (affine=${affine})`, dx, numericGrad(x, loss));
      if (affine) {
        expectGrad('dweight', dw, numericGrad(w, loss));
        expectGrad('dbias', db, numericGrad(b, loss));
      }
    }
  });

  it('adamw matches a hand-worked step', () => {
    // step 1 with m = v = 0: mhat = g, vhat = g^2, so p -= lr * (sign(g) * |g|/(|g|+eps) + wd p).
    const p = Float64Array.from([1, -2]),
      g = Float64Array.from([0.5, -4]);
    const m = new Float64Array(2),
      v = new Float64Array(2);
    K.adamw(p, g, m, v, 2, 0.1, 0.9, 0.999, 0, 0.01, 1);
    expect(p[0]).toBeCloseTo(1 - 0.1 * (1 + 0.01 * 1), 12);
    expect(p[1]).toBeCloseTo(-2 - 0.1 * (-1 + 0.01 * -2), 12);
    expect(m[0]).toBeCloseTo(0.05, 12);
    expect(v[1]).toBeCloseTo(0.001 * 16, 12);
  });
});
