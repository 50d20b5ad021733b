// Pointwise ops for the hypernetwork: tanh, exp, clamp (unary); mul (elementwise, same shape),
// scaleBy (x times a 1-element tensor), addBias (x[.., C] + b[C]).
// The hypernetwork's tensors are small (thousands to ~100k values, once per step), so these are plain
// TypeScript loops over f32 or f64 buffers; no native kernels (none was measured to be needed).
import { Tape, needsGrad } from '../tape.js';
import { Tensor, empty, expectShape, sameDtype } from '../tensor.js';

/** out = tanh(x); dx += dy (1 - out^2). */
export function tanh(tape: Tape | null, x: Tensor): Tensor {
  const out = empty(x.shape, x.dtype);
  const xd = x.data,
    y = out.data;
  for (let i = 0; i < y.length; i++) y[i] = Math.tanh(xd[i]);
  if (needsGrad(tape, x)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dx = x.gradBuffer(),
        dy = out.grad;
      for (let i = 0; i < dy.length; i++) dx[i] += dy[i] * (1 - y[i] * y[i]);
    });
  }
  return out;
}

/** out = exp(x); dx += dy out. */
export function exp(tape: Tape | null, x: Tensor): Tensor {
  const out = empty(x.shape, x.dtype);
  const xd = x.data,
    y = out.data;
  for (let i = 0; i < y.length; i++) y[i] = Math.exp(xd[i]);
  if (needsGrad(tape, x)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dx = x.gradBuffer(),
        dy = out.grad;
      for (let i = 0; i < dy.length; i++) dx[i] += dy[i] * y[i];
    });
  }
  return out;
}

/** out = min(max(x, lo), hi); the gradient passes where lo <= x <= hi and is zero outside (as torch.clamp). */
export function clamp(tape: Tape | null, x: Tensor, lo: number, hi: number): Tensor {
  if (!(lo <= hi)) throw new Error(`clamp: lo ${lo} must be <= hi ${hi}`);
  const out = empty(x.shape, x.dtype);
  const xd = x.data,
    y = out.data;
  for (let i = 0; i < y.length; i++) y[i] = Math.min(Math.max(xd[i], lo), hi);
  if (needsGrad(tape, x)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dx = x.gradBuffer(),
        dy = out.grad;
      for (let i = 0; i < dy.length; i++) if (xd[i] >= lo && xd[i] <= hi) dx[i] += dy[i];
    });
  }
  return out;
}

/** out = a * b elementwise (same shapes). */
export function mul(tape: Tape | null, a: Tensor, b: Tensor): Tensor {
  expectShape('mul', 'b', b, a.shape);
  sameDtype('mul', a, b);
  const out = empty(a.shape, a.dtype);
  const ad = a.data,
    bd = b.data,
    y = out.data;
  for (let i = 0; i < y.length; i++) y[i] = ad[i] * bd[i];
  if (needsGrad(tape, a, b)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dy = out.grad;
      if (a.requiresGrad) {
        const da = a.gradBuffer();
        for (let i = 0; i < dy.length; i++) da[i] += dy[i] * bd[i];
      }
      if (b.requiresGrad) {
        const db = b.gradBuffer();
        for (let i = 0; i < dy.length; i++) db[i] += dy[i] * ad[i];
      }
    });
  }
  return out;
}

/** out = s[0] * x for a 1-element tensor s; ds += sum(dy x), dx += s dy. */
export function scaleBy(tape: Tape | null, x: Tensor, s: Tensor): Tensor {
  if (s.size !== 1) throw new Error(`scaleBy: s must have one element, got [${s.shape.join(',')}]`);
  sameDtype('scaleBy', x, s);
  const out = empty(x.shape, x.dtype);
  const xd = x.data,
    y = out.data,
    sv = s.data[0];
  for (let i = 0; i < y.length; i++) y[i] = sv * xd[i];
  if (needsGrad(tape, x, s)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dy = out.grad;
      if (x.requiresGrad) {
        const dx = x.gradBuffer();
        for (let i = 0; i < dy.length; i++) dx[i] += sv * dy[i];
      }
      if (s.requiresGrad) {
        let acc = 0;
        for (let i = 0; i < dy.length; i++) acc += dy[i] * xd[i];
        s.gradBuffer()[0] += acc;
      }
    });
  }
  return out;
}

/** out[.., C] = x[.., C] + b[C] on every row; db += the column sums of dy. */
export function addBias(tape: Tape | null, x: Tensor, b: Tensor): Tensor {
  const C = x.shape[x.shape.length - 1];
  if (b.shape.length !== 1 || b.shape[0] !== C) {
    throw new Error(`addBias: bias ${b.name || ''} has shape [${b.shape.join(',')}], x [${x.shape.join(',')}] needs [${C}]`);
  }
  sameDtype('addBias', x, b);
  const N = x.size / C;
  const out = empty(x.shape, x.dtype);
  const xd = x.data,
    bd = b.data,
    y = out.data;
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) y[n * C + c] = xd[n * C + c] + bd[c];
  if (needsGrad(tape, x, b)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dy = out.grad;
      if (x.requiresGrad) {
        const dx = x.gradBuffer();
        for (let i = 0; i < dy.length; i++) dx[i] += dy[i];
      }
      if (b.requiresGrad) {
        const db = b.gradBuffer();
        for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) db[c] += dy[n * C + c];
      }
    });
  }
  return out;
}
