// Teacher-forced target loss of assertion tasks: prefix + target + EOS, the prefix cut from the left
// to fit, the cross-entropy (nats/token) of the target tokens and the EOS only, as training sees them.
// The loss audit and the benchmark's loss column read it; it moves with small changes that greedy
// exact match cannot show.
// Letters: B sequences in a batch, T padded length, V vocabulary.
import type { Task } from '../data/tasks/types.js';
import type { LlamaModel, ProjectionAdapter } from '../model/llama/model.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import { encodeTaskSequence, taskBatch, type TaskSequence } from '../train/task-batch.js';

/** Mean target-token loss of each sequence, one forward per batch with one adapter for the batch. */
export function targetLossPerSequence(
  model: LlamaModel,
  seqs: readonly TaskSequence[],
  padId: number,
  adapter: ProjectionAdapter | null,
): number[] {
  const tb = taskBatch(seqs, padId);
  const { B, T } = tb.batch;
  const { logits } = model.forward(null, tb.batch, { adapter }); // [B, T, V]
  const V = logits.shape[2],
    z = logits.data;
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    let sum = 0,
      n = 0;
    for (let t = 0; t < T; t++) {
      const y = tb.targets[b * T + t];
      if (y < 0) continue;
      const row = (b * T + t) * V;
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, z[row + v]);
      let se = 0;
      for (let v = 0; v < V; v++) se += Math.exp(z[row + v] - max);
      sum += max + Math.log(se) - z[row + y];
      n++;
    }
    out.push(sum / n);
  }
  return out;
}

/** Mean over sequences of each one's mean target-token loss, in batches (no adapter). */
export function meanTargetLoss(model: LlamaModel, seqs: readonly TaskSequence[], padId: number, batch: number): number {
  if (seqs.length === 0) throw new Error('meanTargetLoss: no task sequences');
  let sum = 0;
  for (let i = 0; i < seqs.length; i += batch) {
    for (const l of targetLossPerSequence(model, seqs.slice(i, i + batch), padId, null)) sum += l;
  }
  return sum / seqs.length;
}

export interface TaskLossOptions {
  /** the adapter of a task, and a key that is equal exactly when two tasks share that adapter */
  adapterOf: (t: Task) => { key: string; adapter: ProjectionAdapter | null };
  maxTokens: number;
  batch: number;
  onProgress?: (done: number, total: number) => void;
}

/** A task with its training sequence (prefix cut from the left to fit). */
export interface EncodedTask {
  t: Task;
  seq: TaskSequence;
}

/** The tasks whose target fits in maxTokens, encoded once, in the given order. */
export function encodeTasks(tok: TextTokenizer, tasks: readonly Task[], maxTokens: number): EncodedTask[] {
  const out: EncodedTask[] = [];
  for (const t of tasks) {
    const seq = encodeTaskSequence(tok, t, maxTokens);
    if (seq) out.push({ t, seq });
  }
  return out;
}

/** The target loss of each encoded task, in order; consecutive tasks with the same adapter key share a batch. */
export function encodedTargetLosses(
  model: LlamaModel,
  padId: number,
  encoded: readonly EncodedTask[],
  o: Omit<TaskLossOptions, 'maxTokens'>,
): number[] {
  const kept = encoded.map((e) => ({ ...e, ...o.adapterOf(e.t) }));
  const losses: number[] = [];
  let i = 0;
  while (i < kept.length) {
    let j = i + 1;
    while (j < kept.length && j - i < o.batch && kept[j].key === kept[i].key) j++;
    losses.push(
      ...targetLossPerSequence(
        model,
        kept.slice(i, j).map((e) => e.seq),
        padId,
        kept[i].adapter,
      ),
    );
    o.onProgress?.(j, kept.length);
    i = j;
  }
  return losses;
}

/** The target loss of each task that fits in maxTokens (tasks whose target does not fit are left
 *  out), in the given order; consecutive tasks with the same adapter key share a batch. */
export function taskTargetLosses(
  model: LlamaModel,
  tok: TextTokenizer,
  tasks: readonly Task[],
  o: TaskLossOptions,
): { tasks: Task[]; losses: number[] } {
  const encoded = encodeTasks(tok, tasks, o.maxTokens);
  return { tasks: encoded.map((e) => e.t), losses: encodedTargetLosses(model, tok.padId, encoded, o) };
}
