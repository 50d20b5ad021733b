// Row-wise L2 normalisation: y[n, :] = x[n, :] / max(||x[n, :]||_2, eps) (torch.nn.functional.normalize).
// Dimension letters: N rows, C columns. Small tensors, so a plain TypeScript loop, no native kernel.
import { Tape, needsGrad } from '../tape.js';
import { Tensor, empty } from '../tensor.js';

export function l2NormalizeRows(tape: Tape | null, x: Tensor, eps = 1e-12): Tensor {
  if (x.shape.length !== 2) throw new Error(`l2NormalizeRows: x must be 2-D [N,C], got [${x.shape.join(',')}]`);
  if (!(eps > 0)) throw new Error(`l2NormalizeRows: eps must be > 0, got ${eps}`);
  const [N, C] = x.shape;
  const out = empty([N, C], x.dtype);
  const denom = new Float64Array(N); // max(||x_n||, eps), kept for backward
  const xd = x.data,
    y = out.data;
  for (let n = 0; n < N; n++) {
    let ss = 0;
    for (let c = 0; c < C; c++) {
      const v = xd[n * C + c];
      ss += v * v;
    }
    const d = Math.max(Math.sqrt(ss), eps);
    denom[n] = d;
    for (let c = 0; c < C; c++) y[n * C + c] = xd[n * C + c] / d;
  }
  if (needsGrad(tape, x)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dx = x.gradBuffer(),
        dy = out.grad;
      for (let n = 0; n < N; n++) {
        const d = denom[n];
        if (d > eps) {
          // dx = (dy - y (y . dy)) / ||x||
          let dot = 0;
          for (let c = 0; c < C; c++) dot += y[n * C + c] * dy[n * C + c];
          for (let c = 0; c < C; c++) dx[n * C + c] += (dy[n * C + c] - y[n * C + c] * dot) / d;
        } else {
          for (let c = 0; c < C; c++) dx[n * C + c] += dy[n * C + c] / eps; // the norm is the constant eps here
        }
      }
    });
  }
  return out;
}
