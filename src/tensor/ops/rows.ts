// Row slicing and joining: sliceRows, concatRows, concatCols. Dimension letters: N rows, C columns.
// These serve the hypernetwork and the mixed-adapter batch; their tensors are small (thousands to
// ~100k values, once per step), so plain TypeScript loops are used instead of native kernels.
import { Tape, needsGrad } from '../tape.js';
import { Tensor, empty, sameDtype } from '../tensor.js';

function rowsCols(op: string, what: string, x: Tensor): [N: number, C: number] {
  if (x.shape.length !== 2) throw new Error(`${op}: ${what} must be 2-D [N,C], got [${x.shape.join(',')}]`);
  return [x.shape[0], x.shape[1]];
}

/** out[end-start, C] = x[start:end, :] (a copy). */
export function sliceRows(tape: Tape | null, x: Tensor, start: number, end: number): Tensor {
  const [N, C] = rowsCols('sliceRows', 'x', x);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > N || start > end) {
    throw new Error(`sliceRows: rows [${start}, ${end}) do not fit x [${x.shape.join(',')}]`);
  }
  const out = empty([end - start, C], x.dtype);
  out.data.set(x.data.subarray(start * C, end * C));
  if (needsGrad(tape, x)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dx = x.gradBuffer(),
        dy = out.grad,
        off = start * C;
      for (let i = 0; i < dy.length; i++) dx[off + i] += dy[i];
    });
  }
  return out;
}

/** out[sum N_i, C] = the xs stacked top to bottom. */
export function concatRows(tape: Tape | null, xs: readonly Tensor[]): Tensor {
  if (xs.length === 0) throw new Error('concatRows: no tensors to join');
  const C = rowsCols('concatRows', 'xs[0]', xs[0])[1];
  let N = 0;
  xs.forEach((x, i) => {
    const [n, c] = rowsCols('concatRows', `xs[${i}]`, x);
    if (c !== C) throw new Error(`concatRows: xs[${i}] has ${c} columns [${x.shape.join(',')}], xs[0] has ${C}`);
    N += n;
  });
  sameDtype('concatRows', ...xs);
  const out = empty([N, C], xs[0].dtype);
  let off = 0;
  for (const x of xs) {
    out.data.set(x.data, off);
    off += x.size;
  }
  if (needsGrad(tape, ...xs)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dy = out.grad;
      let o = 0;
      for (const x of xs) {
        if (x.requiresGrad) {
          const dx = x.gradBuffer();
          for (let i = 0; i < x.size; i++) dx[i] += dy[o + i];
        }
        o += x.size;
      }
    });
  }
  return out;
}

/** out[N, Ca+Cb] = [a | b] row by row. */
export function concatCols(tape: Tape | null, a: Tensor, b: Tensor): Tensor {
  const [N, Ca] = rowsCols('concatCols', 'a', a);
  const [Nb, Cb] = rowsCols('concatCols', 'b', b);
  if (Nb !== N) throw new Error(`concatCols: row counts differ, a=[${a.shape.join(',')}] b=[${b.shape.join(',')}]`);
  sameDtype('concatCols', a, b);
  const C = Ca + Cb;
  const out = empty([N, C], a.dtype);
  for (let n = 0; n < N; n++) {
    out.data.set(a.data.subarray(n * Ca, (n + 1) * Ca), n * C);
    out.data.set(b.data.subarray(n * Cb, (n + 1) * Cb), n * C + Ca);
  }
  if (needsGrad(tape, a, b)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dy = out.grad;
      if (a.requiresGrad) {
        const da = a.gradBuffer();
        for (let n = 0; n < N; n++) for (let c = 0; c < Ca; c++) da[n * Ca + c] += dy[n * C + c];
      }
      if (b.requiresGrad) {
        const db = b.gradBuffer();
        for (let n = 0; n < N; n++) for (let c = 0; c < Cb; c++) db[n * Cb + c] += dy[n * C + Ca + c];
      }
    });
  }
  return out;
}
