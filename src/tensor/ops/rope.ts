// Rotary position embedding (Hugging Face rotate_half pairs) on x[B, T, H, D].
import { kernelsFor, type FloatArray } from '../../native/index.js';
import { Tape, needsGrad } from '../tape.js';
import { Tensor, empty, newArray, type DType } from '../tensor.js';

export interface RopeTables {
  cos: FloatArray;
  sin: FloatArray;
  maxPos: number;
  half: number;
}

/** cos/sin of pos * theta^(-2i/D), i < D/2, for every position below maxPos. */
export function ropeTables(D: number, maxPos: number, theta: number, dtype: DType = 'f32'): RopeTables {
  const half = D / 2;
  const cos = newArray(dtype, maxPos * half);
  const sin = newArray(dtype, maxPos * half);
  for (let i = 0; i < half; i++) {
    // Computed in float32 like PyTorch's inv_freq, then the angle in double.
    const invFreq = dtype === 'f32' ? Math.fround(1 / Math.pow(theta, (2 * i) / D)) : 1 / Math.pow(theta, (2 * i) / D);
    for (let p = 0; p < maxPos; p++) {
      const angle = dtype === 'f32' ? Math.fround(p * invFreq) : p * invFreq;
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin, maxPos, half };
}

export function rope(tape: Tape | null, x: Tensor, tables: RopeTables, positions: Int32Array): Tensor {
  if (x.shape.length !== 4) throw new Error(`rope: expects [B,T,H,D], got [${x.shape.join(',')}]`);
  const [B, T, H, D] = x.shape;
  if (D !== tables.half * 2) throw new Error(`rope: head dim ${D} does not match tables for ${tables.half * 2}`);
  if (positions.length !== B * T) throw new Error(`rope: ${positions.length} positions for B*T=${B * T}`);
  for (const p of positions) {
    if (p < 0 || p >= tables.maxPos) throw new Error(`rope: position ${p} outside [0, ${tables.maxPos}) (max_position_embeddings)`);
  }
  const k = kernelsFor(x.data);
  const out = empty(x.shape, x.dtype);
  k.ropeForward(out.data, x.data, tables.cos, tables.sin, positions, B * T, H, D);
  if (needsGrad(tape, x)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (out.grad) k.ropeBackward(x.gradBuffer(), out.grad, tables.cos, tables.sin, positions, B * T, H, D);
    });
  }
  return out;
}
