// Forward kernels must write every output element: ops hand them uninitialised memory
// (Tensor `empty`). Outputs are pre-filled with NaN; any NaN left behind fails.
import { describe, expect, it } from 'vitest';
import { loadNative } from './index.js';
import { randF32, seeded } from './testing.js';

const k = loadNative();
const rand = (n: number, seed = 1) => randF32(seeded(seed), n, 0.5);
const nan = (n: number) => new Float32Array(n).fill(NaN);
const clean = (a: Float32Array) => a.every((x) => !Number.isNaN(x));

describe('forward kernels overwrite their outputs', () => {
  it('matmul with beta = 0, every transpose and the skinny (decode) path', () => {
    for (const [M, N, K] of [
      [1, 40, 24],
      [3, 17, 9],
      [64, 48, 32],
      [600, 70, 300],
    ]) {
      for (const tA of [false, true])
        for (const tB of [false, true]) {
          const C = nan(M * N);
          k.matmul(C, rand(M * K), rand(N * K, 2), M, N, K, tA, tB, 1, 0);
          expect(clean(C), `M=${M} N=${N} K=${K} tA=${tA} tB=${tB}`).toBe(true);
        }
    }
  });
  it('rmsnorm, layernorm, rope, swiglu, gelu, add, embedding', () => {
    const n = 6 * 32;
    let o = nan(n),
      r = nan(6);
    k.rmsnormForward(o, r, rand(n), rand(32), 6, 32, 1e-5);
    expect(clean(o) && clean(r)).toBe(true);
    o = nan(n);
    const m = nan(6);
    r = nan(6);
    k.layernormForward(o, m, r, rand(n), null, null, 6, 32, 1e-5);
    expect(clean(o) && clean(m) && clean(r)).toBe(true);
    o = nan(n);
    k.ropeForward(o, rand(n), rand(16 * 8), rand(16 * 8, 3), Int32Array.from([0, 1, 2, 3, 4, 5]), 6, 2, 16);
    expect(clean(o)).toBe(true);
    o = nan(n);
    k.swigluForward(o, rand(n), rand(n, 2), n);
    expect(clean(o)).toBe(true);
    o = nan(n);
    k.geluForward(o, rand(n), n);
    expect(clean(o)).toBe(true);
    o = nan(n);
    k.add(o, rand(n), rand(n, 2), n);
    expect(clean(o)).toBe(true);
    o = nan(n);
    k.embeddingForward(o, rand(10 * 32), Int32Array.from([1, 2, 3, 4, 5, 9]), 6, 32);
    expect(clean(o)).toBe(true);
  });
  it('attention, including a fully padded query row (zeros)', () => {
    const [B, T, H, KV, D] = [2, 5, 4, 2, 8];
    const out = nan(B * T * H * D);
    const mask = Uint8Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    k.attentionForward(out, null, rand(B * T * H * D), rand(B * T * KV * D, 2), rand(B * T * KV * D, 3), mask, B, T, T, T, H, KV, D, 0.35);
    expect(clean(out)).toBe(true);
    expect(out.subarray(0, H * D).every((x) => x === 0)).toBe(true);
  });
});
