// Helpers shared by the native and reference kernel tests: seeded random arrays and a comparison
// that reports the worst element. Not used outside tests.
import { Rng } from '../util/rng.js';
import type { FloatArray } from './kernels.js';

/** Uniform values in [0, 1) from the project's one generator (util/rng.ts), seeded. */
export function seeded(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** n values uniform in [-scale, scale), rounded to float32 (so f32 and f64 copies are equal). */
export function randF32(rand: () => number, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

export function randF64(rand: () => number, n: number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

export function randInts(rand: () => number, n: number, lo: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + Math.floor(rand() * (hi - lo));
  return a;
}

export const f64 = (a: FloatArray): Float64Array => Float64Array.from(a);
export const f32 = (a: FloatArray): Float32Array => Float32Array.from(a);

/** Largest violation of |got - want| <= rtol * (|want| + rms(want)), as a message, or null.
 *  The rms floor keeps entries near zero (cancellation) from failing on absolute noise. */
export function mismatch(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number): string | null {
  if (got.length < want.length) return `length ${got.length} < ${want.length}`;
  let ss = 0;
  for (let i = 0; i < want.length; i++) ss += want[i] * want[i];
  const rms = Math.sqrt(ss / Math.max(1, want.length)) || 1e-30;
  let worst = -1,
    worstRatio = 1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i],
      w = want[i];
    if (Number.isNaN(g) !== Number.isNaN(w)) return `element ${i}: got ${g}, want ${w}`;
    if (Number.isNaN(w)) continue;
    const diff = Math.abs(g - w);
    const ratio = diff === 0 ? 0 : diff / (rtol * (Math.abs(w) + rms));
    if (!(ratio <= worstRatio)) {
      worst = i;
      worstRatio = ratio;
    }
  }
  if (worst < 0) return null;
  return `element ${worst}: got ${got[worst]}, want ${want[worst]} (error ${(worstRatio).toFixed(1)}x the tolerance ${rtol})`;
}
