// segmentLora: y plus a different low-rank update on each block of rows, in one op (the mixed-adapter
// forward of multi-LoRA training). Rows [n0_s, n0_s + n_s) of x [N, in] get
//   out_s = y_s + scale_s * (x_s A_s^T) B_s^T          A_s [r_s, in], B_s [out, r_s]
// and a segment without (A, B) passes y through. The kernels read and write the row blocks in place,
// so nothing is sliced, zero-filled or concatenated (the composed version copies x and the update
// once each way per projection, and that was a quarter of a mixed training step).
// Backward, with u_s = x_s A_s^T kept from the forward:
//   dy += dout;  du_s = scale_s dout_s B_s;  dB_s += scale_s dout_s^T u_s;
//   dA_s += du_s^T x_s;  dx_s += du_s A_s.
// Letters: N rows, r rank of a segment, in / out the projection's widths.
import { kernelsFor } from '../../native/index.js';
import { Tape, needsGrad } from '../tape.js';
import { Tensor, empty, sameDtype } from '../tensor.js';

export interface RowSegment {
  /** rows of x / y this segment covers (consecutive segments tile the rows) */
  rows: number;
  /** the segment's update, or null for none */
  lora: { A: Tensor; B: Tensor; scale: number } | null;
}

export function segmentLora(tape: Tape | null, x: Tensor, y: Tensor, segments: readonly RowSegment[]): Tensor {
  const inF = x.shape[x.shape.length - 1],
    outF = y.shape[y.shape.length - 1];
  const N = x.size / inF;
  if (y.size !== N * outF) throw new Error(`segmentLora: x [${x.shape.join(',')}] and y [${y.shape.join(',')}] have different row counts`);
  const total = segments.reduce((a, s) => a + s.rows, 0);
  if (total !== N) throw new Error(`segmentLora: segments cover ${total} rows, x has ${N}`);
  sameDtype('segmentLora', x, y);
  const starts: number[] = [];
  let n0 = 0;
  for (const [i, s] of segments.entries()) {
    starts.push(n0);
    n0 += s.rows;
    if (!s.lora) continue;
    const { A, B } = s.lora;
    sameDtype('segmentLora', x, A, B);
    const r = A.shape[0];
    if (A.shape.length !== 2 || A.shape[1] !== inF || B.shape.length !== 2 || B.shape[0] !== outF || B.shape[1] !== r) {
      throw new Error(
        `segmentLora: segment ${i}: A [${A.shape.join(',')}] and B [${B.shape.join(',')}] do not fit x [${N},${inF}] -> y [${N},${outF}] (need A [r,${inF}], B [${outF},r])`,
      );
    }
  }
  const k = kernelsFor(x.data);
  const out = empty(y.shape, y.dtype);
  out.data.set(y.data);
  const us: (Float32Array | Float64Array | null)[] = segments.map((s, i) => {
    if (!s.lora) return null;
    const { A, B, scale } = s.lora,
      r = A.shape[0],
      n = s.rows,
      a = starts[i];
    const u = x.data instanceof Float64Array ? new Float64Array(n * r) : new Float32Array(n * r); // [n, r]
    k.matmul(u, x.data.subarray(a * inF, (a + n) * inF), A.data, n, r, inF, false, true, 1, 0);
    k.matmul(out.data.subarray(a * outF, (a + n) * outF), u, B.data, n, outF, r, false, true, scale, 1);
    return u;
  });
  const loras = segments.flatMap((s) => (s.lora ? [s.lora.A, s.lora.B] : []));
  if (needsGrad(tape, x, y, ...loras)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dOut = out.grad;
      if (y.requiresGrad) {
        const dy = y.gradBuffer();
        for (let i = 0; i < dOut.length; i++) dy[i] += dOut[i];
      }
      segments.forEach((s, i) => {
        if (!s.lora) return;
        const { A, B, scale } = s.lora,
          r = A.shape[0],
          n = s.rows,
          a = starts[i];
        const dO = dOut.subarray(a * outF, (a + n) * outF), // [n, out]
          xs = x.data.subarray(a * inF, (a + n) * inF); // [n, in]
        const du = x.data instanceof Float64Array ? new Float64Array(n * r) : new Float32Array(n * r); // [n, r]
        k.matmul(du, dO, B.data, n, r, outF, false, false, scale, 0);
        if (B.requiresGrad) k.matmul(B.gradBuffer(), dO, us[i]!, outF, r, n, true, false, scale, 1);
        if (A.requiresGrad) k.matmul(A.gradBuffer(), du, xs, r, inF, n, true, false, 1, 1);
        if (x.requiresGrad) k.matmul(x.gradBuffer().subarray(a * inF, (a + n) * inF), du, A.data, n, inF, r, false, false, 1, 1);
      });
    });
  }
  return out;
}
