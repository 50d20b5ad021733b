// Mean softmax cross-entropy over rows whose target is not -1 (the loss mask).
import { kernelsFor } from '../../native/index.js';
import { Tape, needsGrad } from '../tape.js';
import { Tensor, newArrayUninitialized, zeros } from '../tensor.js';

export interface CrossEntropyResult {
  loss: Tensor /** per-row losses (0 where ignored) */;
  rowLosses: Float64Array;
  count: number;
}

export function crossEntropy(tape: Tape | null, logits: Tensor, targets: Int32Array): CrossEntropyResult {
  const V = logits.shape[logits.shape.length - 1];
  const rows = logits.size / V;
  if (targets.length !== rows) throw new Error(`crossEntropy: ${targets.length} targets for ${rows} rows of logits`);
  let count = 0;
  for (let i = 0; i < rows; i++) {
    const t = targets[i];
    if (t === -1) continue;
    if (t < 0 || t >= V) throw new Error(`crossEntropy: target ${t} at row ${i} is outside [0, ${V})`);
    count++;
  }
  const k = kernelsFor(logits.data);
  // The forward kernel writes every row of both (0 loss for ignored targets).
  const losses = newArrayUninitialized(logits.dtype, rows);
  const lse = newArrayUninitialized(logits.dtype, rows);
  k.crossEntropyForward(losses, lse, logits.data, targets, rows, V);
  let sum = 0;
  for (let i = 0; i < rows; i++) sum += losses[i];
  const loss = zeros([1], logits.dtype);
  loss.data[0] = count > 0 ? sum / count : 0;
  if (count > 0 && needsGrad(tape, logits)) {
    loss.requiresGrad = true;
    tape.record(() => {
      if (!loss.grad) return;
      const dl = newArrayUninitialized(logits.dtype, rows).fill(loss.grad[0] / count);
      k.crossEntropyBackward(logits.gradBuffer(), dl, logits.data, lse, targets, rows, V);
    });
  }
  return { loss, rowLosses: Float64Array.from(losses), count };
}
