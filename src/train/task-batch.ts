// Assertion tasks as training sequences (METHOD.md section 1, "Objective"): prefix + target + EOS,
// the prefix cut from the left so the sequence fits, never the target; only the target tokens and the
// closing EOS carry a loss. Prefix and target are tokenized separately, exactly as evaluation sees
// them (the prompt is encode(prefix); the model must then produce the target).
// Letters: B sequences, T padded length.
import type { TokenBatch } from '../model/llama/model.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';

export interface TaskText {
  prefix: string;
  target: string;
}

/** One training sequence: ids = prefix' + target + EOS; positions >= targetStart are predicted. */
export interface TaskSequence {
  ids: number[];
  targetStart: number;
}

/** Encodes a task to at most maxTokens ids; null when the target alone (plus EOS and one prefix
 *  token) does not fit, since cutting the target would teach a wrong completion. */
export function encodeTaskSequence(tok: TextTokenizer, task: TaskText, maxTokens: number): TaskSequence | null {
  const target = tok.encode(task.target);
  if (target.length === 0) return null;
  const room = maxTokens - target.length - 1;
  if (room < 1) return null;
  let prefix = tok.encode(task.prefix);
  if (prefix.length > room) prefix = prefix.slice(prefix.length - room);
  if (prefix.length === 0) return null;
  return { ids: [...prefix, ...target, tok.eosId], targetStart: prefix.length };
}

export interface TaskBatch {
  batch: TokenBatch;
  /** targets[b*T + t]: the id expected after position t, -1 where no loss is taken */
  targets: Int32Array;
  /** positions carrying a loss (target tokens + EOS) */
  targetTokens: number;
  /** all real tokens (prefix included): the compute the step costs */
  tokens: number;
}

/** Left-pads sequences into one batch (as evaluation does) with target-only loss positions. */
export function taskBatch(seqs: readonly TaskSequence[], padId: number): TaskBatch {
  if (seqs.length === 0) throw new Error('taskBatch: no sequences');
  const B = seqs.length;
  const T = Math.max(...seqs.map((s) => s.ids.length));
  const ids = new Int32Array(B * T).fill(padId);
  const mask = new Uint8Array(B * T);
  const targets = new Int32Array(B * T).fill(-1);
  let targetTokens = 0,
    tokens = 0;
  seqs.forEach((s, b) => {
    const off = b * T + (T - s.ids.length); // left padding
    for (let t = 0; t < s.ids.length; t++) {
      ids[off + t] = s.ids[t];
      mask[off + t] = 1;
    }
    // position t predicts ids[t+1]; the first predicted id is the first target token
    for (let t = s.targetStart - 1; t < s.ids.length - 1; t++) {
      targets[off + t] = s.ids[t + 1];
      targetTokens++;
    }
    tokens += s.ids.length;
  });
  return { batch: { ids, B, T, mask }, targets, targetTokens, tokens };
}
