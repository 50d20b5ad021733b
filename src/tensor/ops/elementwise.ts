// add, scale and swiglu: elementwise ops, all on the kernel table (no JS loops on hot paths).
import { kernelsFor } from '../../native/index.js';
import { Tape, needsGrad } from '../tape.js';
import { Tensor, empty, expectShape, sameDtype, scratchArray } from '../tensor.js';

/** out = a + b (same shapes). */
export function add(tape: Tape | null, a: Tensor, b: Tensor): Tensor {
  expectShape('add', 'b', b, a.shape);
  sameDtype('add', a, b);
  const k = kernelsFor(a.data);
  const out = empty(a.shape, a.dtype);
  k.add(out.data, a.data, b.data, a.size);
  if (needsGrad(tape, a, b)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      if (a.requiresGrad) k.axpy(a.gradBuffer(), out.grad, 1, a.size);
      if (b.requiresGrad) k.axpy(b.gradBuffer(), out.grad, 1, b.size);
    });
  }
  return out;
}

/** out = s * x. */
export function scale(tape: Tape | null, x: Tensor, s: number): Tensor {
  const k = kernelsFor(x.data);
  const out = new Tensor(scratchArray(x.dtype, x.size), x.shape); // zeroed: axpy accumulates
  k.axpy(out.data, x.data, s, x.size);
  if (needsGrad(tape, x)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (out.grad) k.axpy(x.gradBuffer(), out.grad, s, x.size);
    });
  }
  return out;
}

/** SwiGLU: silu(gate) * up. */
export function swiglu(tape: Tape | null, gate: Tensor, up: Tensor): Tensor {
  expectShape('swiglu', 'up', up, gate.shape);
  sameDtype('swiglu', gate, up);
  const k = kernelsFor(gate.data);
  const out = empty(gate.shape, gate.dtype);
  k.swigluForward(out.data, gate.data, up.data, gate.size);
  if (needsGrad(tape, gate, up)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      // The kernel writes both gradients; a frozen input gets a scratch buffer.
      const dg = gate.requiresGrad ? gate.gradBuffer() : scratchArray(gate.dtype, gate.size);
      const du = up.requiresGrad ? up.gradBuffer() : scratchArray(up.dtype, up.size);
      k.swigluBackward(dg, du, out.grad, gate.data, up.data, gate.size);
    });
  }
  return out;
}

/** GELU (exact erf form). */
export function gelu(tape: Tape | null, x: Tensor): Tensor {
  const k = kernelsFor(x.data);
  const out = empty(x.shape, x.dtype);
  k.geluForward(out.data, x.data, x.size);
  if (needsGrad(tape, x)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (out.grad) k.geluBackward(x.gradBuffer(), out.grad, x.data, x.size);
    });
  }
  return out;
}
