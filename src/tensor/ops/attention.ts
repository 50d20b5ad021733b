// Causal grouped-query self-attention over q[B,T,H,D], k/v[B,T,KV,D] with a key padding mask.
import { kernelsFor } from '../../native/index.js';
import { Tape, needsGrad } from '../tape.js';
import { Tensor, empty, newArrayUninitialized, sameDtype, scratchArray } from '../tensor.js';

export function attention(tape: Tape | null, q: Tensor, k: Tensor, v: Tensor, keyMask: Uint8Array | null): Tensor {
  if (q.shape.length !== 4 || k.shape.length !== 4) {
    throw new Error(`attention: expects q [B,T,H,D] and k/v [B,T,KV,D], got [${q.shape.join(',')}] and [${k.shape.join(',')}]`);
  }
  const [B, T, H, D] = q.shape;
  const KV = k.shape[2];
  if (k.shape[0] !== B || k.shape[1] !== T || k.shape[3] !== D || v.shape.join() !== k.shape.join()) {
    throw new Error(`attention: q [${q.shape.join(',')}], k [${k.shape.join(',')}], v [${v.shape.join(',')}] do not agree`);
  }
  if (H % KV !== 0) throw new Error(`attention: ${H} query heads not divisible by ${KV} key/value heads`);
  if (keyMask && keyMask.length !== B * T) throw new Error(`attention: key mask has ${keyMask.length} entries, need B*T=${B * T}`);
  sameDtype('attention', q, k, v);
  const kern = kernelsFor(q.data);
  const scale = 1 / Math.sqrt(D);
  const out = empty(q.shape, q.dtype);
  const train = needsGrad(tape, q, k, v);
  // probs [B, H, T, T] is what backward needs; inference skips it. The kernel writes every entry
  // (zeros beyond the causal limit), so it needs no zero fill.
  const probs = train ? newArrayUninitialized(q.dtype, B * H * T * T) : null;
  kern.attentionForward(out.data, probs, q.data, k.data, v.data, keyMask, B, T, T, T, H, KV, D, scale);
  if (train) {
    out.requiresGrad = true;
    tape!.record(() => {
      if (!out.grad) return;
      const dq = q.requiresGrad ? q.gradBuffer() : scratchArray(q.dtype, q.size);
      const dk = k.requiresGrad ? k.gradBuffer() : scratchArray(k.dtype, k.size);
      const dv = v.requiresGrad ? v.gradBuffer() : scratchArray(v.dtype, v.size);
      kern.attentionBackward(dq, dk, dv, out.grad, probs!, q.data, k.data, v.data, B, T, H, KV, D, scale);
    });
  }
  return out;
}
