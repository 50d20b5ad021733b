// RMSNorm and LayerNorm over the last dimension.
import { kernelsFor } from '../../native/index.js';
import { Tape, needsGrad } from '../tape.js';
import { Tensor, empty, newArrayUninitialized, sameDtype, scratchArray } from '../tensor.js';

function lastDim(op: string, x: Tensor, w: Tensor | null): [rows: number, C: number] {
  const C = x.shape[x.shape.length - 1];
  if (w && (w.shape.length !== 1 || w.shape[0] !== C)) {
    throw new Error(`${op}: weight ${w.name || ''} has shape [${w.shape.join(',')}], expected [${C}]`);
  }
  return [x.size / C, C];
}

export function rmsnorm(tape: Tape | null, x: Tensor, weight: Tensor, eps: number): Tensor {
  const [rows, C] = lastDim('rmsnorm', x, weight);
  sameDtype('rmsnorm', x, weight);
  const k = kernelsFor(x.data);
  const out = empty(x.shape, x.dtype);
  const rstd = newArrayUninitialized(x.dtype, rows); // the forward kernel writes every row
  k.rmsnormForward(out.data, rstd, x.data, weight.data, rows, C, eps);
  if (needsGrad(tape, x, weight)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dx = x.requiresGrad ? x.gradBuffer() : scratchArray(x.dtype, x.size);
      k.rmsnormBackward(dx, weight.requiresGrad ? weight.gradBuffer() : null, out.grad, x.data, weight.data, rstd, rows, C);
    });
  }
  return out;
}

export function layernorm(tape: Tape | null, x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const [rows, C] = lastDim('layernorm', x, weight);
  if (bias) lastDim('layernorm', x, bias);
  const k = kernelsFor(x.data);
  const out = empty(x.shape, x.dtype);
  const mean = newArrayUninitialized(x.dtype, rows); // the forward kernel writes every row
  const rstd = newArrayUninitialized(x.dtype, rows);
  k.layernormForward(out.data, mean, rstd, x.data, weight?.data ?? null, bias?.data ?? null, rows, C, eps);
  if (needsGrad(tape, x, weight, bias)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      const dx = x.requiresGrad ? x.gradBuffer() : scratchArray(x.dtype, x.size);
      k.layernormBackward(
        dx,
        weight?.requiresGrad ? weight.gradBuffer() : null,
        bias?.requiresGrad ? bias.gradBuffer() : null,
        out.grad,
        x.data,
        weight?.data ?? null,
        mean,
        rstd,
        rows,
        C,
      );
    });
  }
  return out;
}
