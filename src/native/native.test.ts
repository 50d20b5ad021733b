// Native float32 kernels against the float64 reference run on copies of the same inputs, forward and
// backward, with a tolerance per kernel; plus accumulate semantics, subarray views, thread counts
// and argument errors. Needs the addon: `npm run build:native`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from './index.js';
import { referenceKernels as R } from './reference.js';
import { f32, f64, mismatch, randF32, randInts, seeded } from './testing.js';

const N = loadNative();
const initialThreads = N.getNumThreads();
afterAll(() => N.setNumThreads(initialThreads));

function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol: number): void {
  const m = mismatch(got, want, rtol);
  expect(m, `${what}: ${m}`).toBeNull();
}

// Per-kernel tolerances (relative, with an rms floor; see testing.ts).
const TOL = {
  matmul: 2e-5,
  rmsnorm: 2e-5,
  rope: 1e-5,
  attention: 5e-5,
  swiglu: 1e-5,
  crossEntropy: 2e-5,
  embedding: 1e-6,
  elementwise: 1e-6,
  gelu: 2e-5,
  layernorm: 5e-5,
  adamw: 2e-5,
};

describe('native addon', () => {
  it('reports its GEMM library, ISA and threads', () => {
    N.setIsa('best');
    const info = N.info();
    expect(info.gemm).toMatch(/blis/);
    expect(info.threads).toBe(N.getNumThreads());
    expect(['avx512', 'avx2', 'base']).toContain(info.isa);
  });
});

// Every instruction-set build this CPU can run (avx512 / avx2 / base) goes through the same checks.
const ISAS = ['avx512', 'avx2', 'base'].filter((isa) => {
  try {
    N.setIsa(isa);
    return true;
  } catch {
    return false;
  }
});
N.setIsa('best');

describe.each(ISAS)('kernels, %s build', (isa) => {
  beforeAll(() => {
    N.setIsa(isa);
  });
  afterAll(() => {
    N.setIsa('best');
  });

  describe('matmul', () => {
    const shapes: Array<[number, number, number]> = [
      [1, 1, 1],
      [1, 17, 5],
      [13, 1, 7],
      [17, 19, 23],
      [33, 65, 31],
      [5, 3, 300],
      [160, 130, 110],
      [110, 160, 130], // large enough to be split over threads (rows / columns)
    ];
    for (const [M, Nn, Kk] of shapes) {
      it(`M=${M} N=${Nn} K=${Kk}, all transposes, beta 0 and != 0`, () => {
        const r = seeded(M * 10007 + Nn * 101 + Kk);
        for (const transA of [false, true])
          for (const transB of [false, true]) {
            for (const [alpha, beta] of [
              [1, 0],
              [0.5, -1.5],
            ]) {
              const A = randF32(r, M * Kk),
                B = randF32(r, Kk * Nn);
              const C0 = randF32(r, M * Nn);
              const want = f64(C0);
              R.matmul(want, f64(A), f64(B), M, Nn, Kk, transA, transB, alpha, beta);
              const got = beta === 0 ? new Float32Array(M * Nn).fill(NaN) : f32(C0); // beta 0 never reads C
              N.matmul(got, A, B, M, Nn, Kk, transA, transB, alpha, beta);
              expectClose(`tA=${transA} tB=${transB} a=${alpha} b=${beta}`, got, want, TOL.matmul);
            }
          }
      });
    }

    it('honours subarray offsets', () => {
      const r = seeded(99);
      const M = 6,
        Nn = 5,
        Kk = 4;
      const bufA = randF32(r, M * Kk + 3),
        bufB = randF32(r, Kk * Nn + 7),
        bufC = new Float32Array(M * Nn + 11);
      const A = bufA.subarray(3),
        B = bufB.subarray(7),
        C = bufC.subarray(11);
      N.matmul(C, A, B, M, Nn, Kk, false, true, 1, 0);
      const want = new Float64Array(M * Nn);
      R.matmul(want, f64(A), f64(B), M, Nn, Kk, false, true, 1, 0);
      expectClose('subarray', C, want, TOL.matmul);
      expect(Array.from(bufC.subarray(0, 11))).toEqual(new Array(11).fill(0));
    });
  });

  describe('rmsnorm', () => {
    for (const [rows, C] of [
      [1, 1],
      [7, 17],
      [300, 256],
    ]) {
      it(`rows=${rows} C=${C}: forward, backward (accumulating, with and without dweight)`, () => {
        const r = seeded(rows * 31 + C);
        const eps = 1e-5;
        const x = randF32(r, rows * C, 2),
          w = randF32(r, C),
          dout = randF32(r, rows * C);
        const out = new Float32Array(rows * C),
          rstd = new Float32Array(rows);
        N.rmsnormForward(out, rstd, x, w, rows, C, eps);
        const out64 = new Float64Array(rows * C),
          rstd64 = new Float64Array(rows);
        R.rmsnormForward(out64, rstd64, f64(x), f64(w), rows, C, eps);
        expectClose('out', out, out64, TOL.rmsnorm);
        expectClose('rstd', rstd, rstd64, TOL.rmsnorm);

        const dx0 = randF32(r, rows * C),
          dw0 = randF32(r, C);
        const dx = f32(dx0),
          dw = f32(dw0),
          dx64 = f64(dx0),
          dw64 = f64(dw0);
        N.rmsnormBackward(dx, dw, dout, x, w, f32(rstd64), rows, C);
        R.rmsnormBackward(dx64, dw64, f64(dout), f64(x), f64(w), rstd64, rows, C);
        expectClose('dx', dx, dx64, TOL.rmsnorm);
        expectClose('dweight', dw, dw64, TOL.rmsnorm);
        const dxOnly = f32(dx0);
        N.rmsnormBackward(dxOnly, null, dout, x, w, f32(rstd64), rows, C);
        expectClose('dx (dweight null)', dxOnly, dx64, TOL.rmsnorm);
      });
    }
  });

  describe('rope', () => {
    it('forward and accumulating backward, positions out of order', () => {
      const r = seeded(3);
      const BT = 37,
        H = 3,
        D = 16,
        maxPos = 64,
        half = D / 2;
      const cos = new Float32Array(maxPos * half),
        sin = new Float32Array(maxPos * half);
      for (let p = 0; p < maxPos; p++)
        for (let i = 0; i < half; i++) {
          const th = p / 10000 ** (i / half);
          cos[p * half + i] = Math.cos(th);
          sin[p * half + i] = Math.sin(th);
        }
      const pos = randInts(r, BT, 0, maxPos);
      const x = randF32(r, BT * H * D),
        g = randF32(r, BT * H * D),
        dx0 = randF32(r, BT * H * D);
      const out = new Float32Array(BT * H * D),
        out64 = new Float64Array(BT * H * D);
      N.ropeForward(out, x, cos, sin, pos, BT, H, D);
      R.ropeForward(out64, f64(x), f64(cos), f64(sin), pos, BT, H, D);
      expectClose('out', out, out64, TOL.rope);
      const dx = f32(dx0),
        dx64 = f64(dx0);
      N.ropeBackward(dx, g, cos, sin, pos, BT, H, D);
      R.ropeBackward(dx64, f64(g), f64(cos), f64(sin), pos, BT, H, D);
      expectClose('dx', dx, dx64, TOL.rope);
      const inPlace = f32(x);
      N.ropeForward(inPlace, inPlace, cos, sin, pos, BT, H, D);
      expectClose('in place', inPlace, out64, TOL.rope);
    });
  });

  interface AttnCase {
    B: number;
    Tq: number;
    Tk: number;
    Tkv: number;
    H: number;
    KV: number;
    D: number;
    pad: number[] | null;
  }

  function runAttentionForward(c: AttnCase, seed: number, withProbs: boolean) {
    const r = seeded(seed);
    const { B, Tq, Tk, Tkv, H, KV, D } = c;
    const scale = 1 / Math.sqrt(D);
    const q = randF32(r, B * Tq * H * D, 2),
      k = randF32(r, B * Tkv * KV * D, 2),
      v = randF32(r, B * Tkv * KV * D);
    let mask: Uint8Array | null = null;
    if (c.pad) {
      mask = new Uint8Array(B * Tk).fill(1);
      c.pad.forEach((p, b) => mask!.fill(0, b * Tk, b * Tk + p)); // left padding
    }
    const out = new Float32Array(B * Tq * H * D).fill(NaN);
    const probs = withProbs ? new Float32Array(B * H * Tq * Tk).fill(NaN) : null;
    N.attentionForward(out, probs, q, k, v, mask, B, Tq, Tk, Tkv, H, KV, D, scale);
    const out64 = new Float64Array(out.length),
      probs64 = new Float64Array(B * H * Tq * Tk);
    R.attentionForward(out64, probs64, f64(q), f64(k), f64(v), mask, B, Tq, Tk, Tkv, H, KV, D, scale);
    return { q, k, v, mask, out, probs, out64, probs64, scale };
  }

  describe('attention', () => {
    const cases: Array<[string, AttnCase]> = [
      ['GQA H=4 KV=2, left padding, T=70 (two query blocks)', { B: 2, Tq: 70, Tk: 70, Tkv: 70, H: 4, KV: 2, D: 8, pad: [0, 5] }],
      ['model-sized heads D=32, T=130, no mask', { B: 2, Tq: 130, Tk: 130, Tkv: 130, H: 8, KV: 8, D: 32, pad: null }],
      ['decode with cache: Tq=3 < Tk=10 < Tkv=16, padded', { B: 2, Tq: 3, Tk: 10, Tkv: 16, H: 4, KV: 2, D: 6, pad: [2, 0] }],
      [
        'decode with cache, D=16 (vector path): Tq=5 < Tk=40 < Tkv=48, H=4 KV=1',
        { B: 2, Tq: 5, Tk: 40, Tkv: 48, H: 4, KV: 1, D: 16, pad: [3, 0] },
      ],
      ['one token', { B: 1, Tq: 1, Tk: 1, Tkv: 1, H: 2, KV: 1, D: 4, pad: null }],
    ];
    for (const [name, c] of cases) {
      it(`forward: ${name}`, () => {
        for (const withProbs of [true, false]) {
          const t = runAttentionForward(c, c.Tq * 7 + c.H, withProbs);
          expectClose('out', t.out, t.out64, TOL.attention);
          if (t.probs) expectClose('probs', t.probs, t.probs64, TOL.attention);
        }
      });
    }

    it('forward: a query that sees only padding outputs zeros', () => {
      const c: AttnCase = { B: 2, Tq: 6, Tk: 6, Tkv: 6, H: 2, KV: 2, D: 4, pad: [3, 0] };
      const t = runAttentionForward(c, 5, true);
      const { H, D, Tq, Tk } = c;
      for (let i = 0; i < 3; i++)
        for (let h = 0; h < H; h++) {
          expect(Array.from(t.out.subarray((i * H + h) * D, (i * H + h + 1) * D))).toEqual(new Array(D).fill(0));
          expect(Array.from(t.probs!.subarray((h * Tq + i) * Tk, (h * Tq + i + 1) * Tk))).toEqual(new Array(Tk).fill(0));
        }
      expectClose('out', t.out, t.out64, TOL.attention);
    });

    const bwdCases: Array<[string, AttnCase]> = [
      ['GQA H=4 KV=2, left padding (fully padded rows), T=70', { B: 2, Tq: 70, Tk: 70, Tkv: 70, H: 4, KV: 2, D: 8, pad: [0, 5] }],
      ['D=32, T=130, H=8, KV=4', { B: 2, Tq: 130, Tk: 130, Tkv: 130, H: 8, KV: 4, D: 32, pad: [0, 17] }],
      ['one token', { B: 1, Tq: 1, Tk: 1, Tkv: 1, H: 2, KV: 1, D: 4, pad: null }],
    ];
    for (const [name, c] of bwdCases) {
      it(`backward (accumulating): ${name}`, () => {
        const t = runAttentionForward(c, 11 + c.Tq, true);
        const { B, Tq: T, H, KV, D } = c;
        const r = seeded(17);
        const dout = randF32(r, B * T * H * D);
        const dq0 = randF32(r, B * T * H * D),
          dk0 = randF32(r, B * T * KV * D),
          dv0 = randF32(r, B * T * KV * D);
        const dq = f32(dq0),
          dk = f32(dk0),
          dv = f32(dv0);
        const dq64 = f64(dq0),
          dk64 = f64(dk0),
          dv64 = f64(dv0);
        N.attentionBackward(dq, dk, dv, dout, f32(t.probs64), t.q, t.k, t.v, B, T, H, KV, D, t.scale);
        R.attentionBackward(dq64, dk64, dv64, f64(dout), t.probs64, f64(t.q), f64(t.k), f64(t.v), B, T, H, KV, D, t.scale);
        expectClose('dq', dq, dq64, TOL.attention);
        expectClose('dk', dk, dk64, TOL.attention);
        expectClose('dv', dv, dv64, TOL.attention);
      });
    }
  });

  describe('swiglu, gelu, add, axpy, sumSquares', () => {
    for (const n of [1, 1000, 100_003]) {
      it(`n=${n}`, () => {
        const r = seeded(n);
        const gate = randF32(r, n, 8),
          up = randF32(r, n, 2),
          dout = randF32(r, n);
        const out = new Float32Array(n),
          out64 = new Float64Array(n);
        N.swigluForward(out, gate, up, n);
        R.swigluForward(out64, f64(gate), f64(up), n);
        expectClose('swiglu out', out, out64, TOL.swiglu);
        const dg0 = randF32(r, n),
          du0 = randF32(r, n);
        const dg = f32(dg0),
          du = f32(du0),
          dg64 = f64(dg0),
          du64 = f64(du0);
        N.swigluBackward(dg, du, dout, gate, up, n);
        R.swigluBackward(dg64, du64, f64(dout), f64(gate), f64(up), n);
        expectClose('swiglu dgate', dg, dg64, TOL.swiglu);
        expectClose('swiglu dup', du, du64, TOL.swiglu);

        const x = randF32(r, n, 6);
        if (n > 10) x.set([-12, -7.5, -4, -1e-3, 0, 1e-3, 2.5, 7.5, 12].slice(0, n));
        N.geluForward(out, x, n);
        R.geluForward(out64, f64(x), n);
        expectClose('gelu out', out, out64, TOL.gelu);
        const dx0 = randF32(r, n),
          dx = f32(dx0),
          dx64 = f64(dx0);
        N.geluBackward(dx, dout, x, n);
        R.geluBackward(dx64, f64(dout), f64(x), n);
        expectClose('gelu dx', dx, dx64, TOL.gelu);

        N.add(out, gate, up, n);
        R.add(out64, f64(gate), f64(up), n);
        expectClose('add', out, out64, TOL.elementwise);
        const y = f32(up),
          y64 = f64(up);
        N.axpy(y, gate, -0.75, n);
        R.axpy(y64, f64(gate), -0.75, n);
        expectClose('axpy', y, y64, TOL.elementwise);
        expect(N.sumSquares(gate, n)).toBeCloseTo(R.sumSquares(f64(gate), n), 6);
        const ss = N.sumSquares(gate, n),
          ss64 = R.sumSquares(f64(gate), n);
        expect(Math.abs(ss - ss64) / ss64).toBeLessThan(1e-12);
      });
    }
    it('GELU keeps relative accuracy in the left tail', () => {
      // (Below about -7 the float64 reference itself loses relative accuracy: 1 + erf cancels.)
      const x = Float32Array.from([-6.5, -6, -5, -4, -3]);
      const out = new Float32Array(x.length),
        out64 = new Float64Array(x.length);
      N.geluForward(out, x, x.length);
      R.geluForward(out64, f64(x), x.length);
      for (let i = 0; i < x.length; i++) expect(Math.abs(out[i] - out64[i]) / Math.abs(out64[i])).toBeLessThan(2e-5);
    });
  });

  describe('cross-entropy', () => {
    for (const [rows, V] of [
      [1, 3],
      [6, 1000],
      [40, 8192],
    ]) {
      it(`rows=${rows} V=${V}, ignored targets, accumulating backward`, () => {
        const r = seeded(rows + V);
        const logits = randF32(r, rows * V, 6);
        const targets = randInts(r, rows, 0, V);
        if (rows > 1) {
          targets[1] = -1;
          targets[rows - 1] = V - 1;
        }
        const losses = new Float32Array(rows),
          lse = new Float32Array(rows);
        N.crossEntropyForward(losses, lse, logits, targets, rows, V);
        const losses64 = new Float64Array(rows),
          lse64 = new Float64Array(rows);
        R.crossEntropyForward(losses64, lse64, f64(logits), targets, rows, V);
        expectClose('losses', losses, losses64, TOL.crossEntropy);
        expectClose('lse', lse, lse64, TOL.crossEntropy);
        if (rows > 1) expect(losses[1]).toBe(0);

        const dl0 = randF32(r, rows * V),
          dlosses = randF32(r, rows);
        const dl = f32(dl0),
          dl64 = f64(dl0);
        N.crossEntropyBackward(dl, dlosses, logits, f32(lse64), targets, rows, V);
        R.crossEntropyBackward(dl64, f64(dlosses), f64(logits), lse64, targets, rows, V);
        expectClose('dlogits', dl, dl64, TOL.crossEntropy);
        if (rows > 1) expect(Array.from(dl.subarray(V, 2 * V))).toEqual(Array.from(dl0.subarray(V, 2 * V)));
      });
    }
  });

  describe('embedding', () => {
    for (const [n, C, vocab] of [
      [1, 1, 1],
      [9, 5, 4],
      [600, 64, 50],
    ]) {
      it(`n=${n} C=${C} vocab=${vocab}: forward, accumulating backward with repeated ids`, () => {
        const r = seeded(n * C);
        const table = randF32(r, vocab * C),
          ids = randInts(r, n, 0, vocab),
          dout = randF32(r, n * C);
        const out = new Float32Array(n * C),
          out64 = new Float64Array(n * C);
        N.embeddingForward(out, table, ids, n, C);
        R.embeddingForward(out64, f64(table), ids, n, C);
        expectClose('out', out, out64, 0);
        const dt0 = randF32(r, vocab * C),
          dt = f32(dt0),
          dt64 = f64(dt0);
        N.embeddingBackward(dt, dout, ids, n, C);
        R.embeddingBackward(dt64, f64(dout), ids, n, C);
        expectClose('dtable', dt, dt64, TOL.embedding);
      });
    }
  });

  describe('layernorm', () => {
    for (const [rows, C] of [
      [1, 3],
      [5, 33],
      [300, 256],
    ]) {
      it(`rows=${rows} C=${C}, affine and plain, accumulating backward`, () => {
        const r = seeded(rows * 3 + C);
        const eps = 1e-5;
        const x = randF32(r, rows * C, 3),
          w = randF32(r, C),
          b = randF32(r, C),
          dout = randF32(r, rows * C);
        for (const [useW, useB] of [
          [true, true],
          [true, false],
          [false, true],
          [false, false],
        ]) {
          const wt = useW ? w : null,
            bs = useB ? b : null;
          const out = new Float32Array(rows * C),
            mean = new Float32Array(rows),
            rstd = new Float32Array(rows);
          N.layernormForward(out, mean, rstd, x, wt, bs, rows, C, eps);
          const out64 = new Float64Array(rows * C),
            mean64 = new Float64Array(rows),
            rstd64 = new Float64Array(rows);
          R.layernormForward(out64, mean64, rstd64, f64(x), wt && f64(wt), bs && f64(bs), rows, C, eps);
          const tag = `w=${useW} b=${useB}`;
          expectClose(`out ${tag}`, out, out64, TOL.layernorm);
          expectClose(`mean ${tag}`, mean, mean64, TOL.layernorm);
          expectClose(`rstd ${tag}`, rstd, rstd64, TOL.layernorm);
          const dx0 = randF32(r, rows * C),
            dw0 = randF32(r, C),
            db0 = randF32(r, C);
          const dx = f32(dx0),
            dw = f32(dw0),
            db = f32(db0),
            dx64 = f64(dx0),
            dw64 = f64(dw0),
            db64 = f64(db0);
          N.layernormBackward(dx, useW ? dw : null, useB ? db : null, dout, x, wt, f32(mean64), f32(rstd64), rows, C);
          R.layernormBackward(dx64, useW ? dw64 : null, useB ? db64 : null, f64(dout), f64(x), wt && f64(wt), mean64, rstd64, rows, C);
          expectClose(`dx ${tag}`, dx, dx64, TOL.layernorm);
          if (useW) expectClose(`dweight ${tag}`, dw, dw64, TOL.layernorm);
          if (useB) expectClose(`dbias ${tag}`, db, db64, TOL.layernorm);
        }
      });
    }
  });

  describe('adamw', () => {
    it('three steps on 100003 parameters', () => {
      const r = seeded(21);
      const n = 100_003;
      const p = randF32(r, n),
        m = new Float32Array(n),
        v = new Float32Array(n);
      const p64 = f64(p),
        m64 = new Float64Array(n),
        v64 = new Float64Array(n);
      for (let step = 1; step <= 3; step++) {
        const g = randF32(r, n, 0.1);
        N.adamw(p, g, m, v, n, 1e-3, 0.9, 0.95, 1e-8, 0.1, step);
        R.adamw(p64, f64(g), m64, v64, n, 1e-3, 0.9, 0.95, 1e-8, 0.1, step);
      }
      expectClose('param', p, p64, TOL.adamw);
      expectClose('m', m, m64, TOL.adamw);
      expectClose('v', v, v64, TOL.adamw);
    });
  });
});

describe('threads', () => {
  it('1 and 2 threads give the same results', () => {
    const r = seeded(5);
    const M = 200,
      Nn = 150,
      Kk = 120,
      rows = 300,
      C = 256;
    const A = randF32(r, M * Kk),
      B = randF32(r, Kk * Nn),
      x = randF32(r, rows * C),
      w = randF32(r, C);
    const run = (threads: number) => {
      N.setNumThreads(threads);
      expect(N.getNumThreads()).toBe(threads);
      const Cm = new Float32Array(M * Nn),
        out = new Float32Array(rows * C),
        rstd = new Float32Array(rows);
      N.matmul(Cm, A, B, M, Nn, Kk, false, false, 1, 0);
      N.rmsnormForward(out, rstd, x, w, rows, C, 1e-5);
      return [Cm, out];
    };
    const [c1, o1] = run(1),
      [c2, o2] = run(2);
    expectClose('matmul', c2, f64(c1), 1e-6);
    expect(Array.from(o2)).toEqual(Array.from(o1));
    N.setNumThreads(initialThreads);
  });
});

describe('argument errors throw JS Errors naming the kernel', () => {
  const f = (n: number) => new Float32Array(n);
  const cases: Array<[string, () => void, RegExp]> = [
    ['short C', () => N.matmul(f(12), f(8), f(8), 4, 4, 2, false, false, 1, 0), /^matmul: C has 12 elements, need M\*N=16/],
    [
      'Float64Array',
      () => N.matmul(f(16), new Float64Array(8) as unknown as Float32Array, f(8), 4, 4, 2, false, false, 1, 0),
      /^matmul: A must be a Float32Array, got Float64Array/,
    ],
    ['plain array', () => N.add(f(2), [1, 2] as unknown as Float32Array, f(2), 2), /^add: a must be a Float32Array, got Array/],
    ['fractional dim', () => N.add(f(2), f(2), f(2), 1.5), /^add: n must be a positive integer/],
    ['zero dim', () => N.axpy(f(2), f(2), 1, 0), /^axpy: n must be a positive integer/],
    ['missing args', () => (N.sumSquares as unknown as (x: Float32Array) => number)(f(2)), /^sumSquares: expected 2 arguments/],
    [
      'null weight',
      () => N.rmsnormForward(f(4), f(1), f(4), null as unknown as Float32Array, 1, 4, 1e-5),
      /^rmsnormForward: weight must be a Float32Array, got null/,
    ],
    ['odd D', () => N.ropeForward(f(6), f(6), f(3), f(3), new Int32Array(1), 1, 2, 3), /^ropeForward: D must be even/],
    [
      'position out of range',
      () => N.ropeForward(f(4), f(4), f(4), f(4), Int32Array.from([2]), 1, 1, 4),
      /^ropeForward: positions\[0\]=2 is outside/,
    ],
    [
      'H % KV',
      () => N.attentionForward(f(12), null, f(12), f(8), f(8), null, 1, 1, 1, 1, 3, 2, 4, 1),
      /^attentionForward: H=3 must be a multiple of KV=2/,
    ],
    [
      'Tq > Tk',
      () => N.attentionForward(f(8), null, f(8), f(4), f(4), null, 1, 2, 1, 1, 1, 1, 4, 1),
      /^attentionForward: Tq=2 must not exceed Tk=1/,
    ],
    [
      'short cache',
      () => N.attentionForward(f(4), null, f(4), f(4), f(4), null, 1, 1, 1, 2, 1, 1, 4, 1),
      /^attentionForward: k has 4 elements, need B\*Tkv\*KV\*D=8/,
    ],
    [
      'mask type',
      () => N.attentionForward(f(4), null, f(4), f(4), f(4), new Int32Array(1) as unknown as Uint8Array, 1, 1, 1, 1, 1, 1, 4, 1),
      /^attentionForward: keyMask must be a Uint8Array or null, got Int32Array/,
    ],
    [
      'aliased output',
      () => {
        const q = f(4);
        N.attentionForward(q, null, q, f(4), f(4), null, 1, 1, 1, 1, 1, 1, 4, 1);
      },
      /^attentionForward: out and q overlap/,
    ],
    [
      'short probs',
      () => N.attentionBackward(f(8), f(8), f(8), f(8), f(3), f(8), f(8), f(8), 1, 2, 1, 1, 4, 1),
      /^attentionBackward: probs has 3 elements, need B\*H\*T\*T=4/,
    ],
    [
      'target >= V',
      () => N.crossEntropyForward(f(1), f(1), f(4), Int32Array.from([4]), 1, 4),
      /^crossEntropyForward: targets\[0\]=4 is outside \[-1, V=4\)/,
    ],
    [
      'id out of range',
      () => N.embeddingBackward(f(6), f(3), Int32Array.from([2]), 1, 3),
      /^embeddingBackward: ids\[0\]=2 is outside \[0, dtable.length\/C=2\)/,
    ],
    [
      'ids type',
      () => N.embeddingForward(f(3), f(6), new Float32Array(1) as unknown as Int32Array, 1, 3),
      /^embeddingForward: ids must be a Int32Array, got Float32Array/,
    ],
    ['NaN scalar', () => N.adamw(f(1), f(1), f(1), f(1), 1, NaN, 0.9, 0.99, 1e-8, 0, 1), /^adamw: lr must be a finite number/],
    ['threads', () => N.setNumThreads(0), /^setNumThreads: n must be a positive integer/],
  ];
  for (const [name, call, pattern] of cases) {
    it(name, () => {
      expect(call).toThrow(Error);
      expect(call).toThrow(pattern);
    });
  }
});
