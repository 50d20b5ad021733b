// Embedding lookup: out[n, C] = table[ids[n], :].
import { kernelsFor } from '../../native/index.js';
import { Tape, needsGrad } from '../tape.js';
import { Tensor, empty } from '../tensor.js';

export function embedding(tape: Tape | null, table: Tensor, ids: Int32Array, shape: readonly number[]): Tensor {
  const [V, C] = table.shape;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] < 0 || ids[i] >= V) throw new Error(`embedding: token id ${ids[i]} at position ${i} is outside the vocabulary [0, ${V})`);
  }
  const k = kernelsFor(table.data);
  const out = empty([...shape, C], table.dtype);
  if (out.size !== ids.length * C) throw new Error(`embedding: ${ids.length} ids do not fill shape [${shape.join(',')}]`);
  k.embeddingForward(out.data, table.data, ids, ids.length, C);
  if (needsGrad(tape, table)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (out.grad) k.embeddingBackward(table.gradBuffer(), out.grad, ids, ids.length, C);
    });
  }
  return out;
}
