// Pooling over rows: meanRows and maxRows, x[N, C] -> [1, C]. Dimension letters: N rows, C columns.
// Small tensors (repository/file vectors), so plain TypeScript loops, no native kernels.
import { Tape, needsGrad } from '../tape.js';
import { Tensor, zeros } from '../tensor.js';

function rowsCols(op: string, x: Tensor): [N: number, C: number] {
  if (x.shape.length !== 2 || x.shape[0] === 0) throw new Error(`${op}: x must be 2-D [N,C] with N >= 1, got [${x.shape.join(',')}]`);
  return [x.shape[0], x.shape[1]];
}

/** out[1, C] = mean over the N rows of x. */
export function meanRows(tape: Tape | null, x: Tensor): Tensor {
  const [N, C] = rowsCols('meanRows', x);
  const out = zeros([1, C], x.dtype);
  const y = out.data,
    xd = x.data;
  // Accumulate in a float64 row so f32 inputs of many rows lose no precision.
  const acc = new Float64Array(C);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) acc[c] += xd[n * C + c];
  for (let c = 0; c < C; c++) y[c] = acc[c] / N;
  if (needsGrad(tape, x)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dx = x.gradBuffer(),
        dy = out.grad;
      for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) dx[n * C + c] += dy[c] / N;
    });
  }
  return out;
}

/** out[1, C] = max over the N rows of x; the gradient goes to the arg-max row (the first on ties). */
export function maxRows(tape: Tape | null, x: Tensor): Tensor {
  const [N, C] = rowsCols('maxRows', x);
  const out = zeros([1, C], x.dtype);
  const arg = new Int32Array(C);
  const y = out.data,
    xd = x.data;
  for (let c = 0; c < C; c++) y[c] = xd[c];
  for (let n = 1; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const v = xd[n * C + c];
      if (v > y[c]) {
        y[c] = v;
        arg[c] = n;
      }
    }
  }
  if (needsGrad(tape, x)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dx = x.gradBuffer(),
        dy = out.grad;
      for (let c = 0; c < C; c++) dx[arg[c] * C + c] += dy[c];
    });
  }
  return out;
}
