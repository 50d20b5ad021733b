// The next token from one row of logits: argmax at temperature 0 (greedy, the same choice as
// generateGreedy), else a draw from softmax(logits / temperature), optionally cut to the smallest
// set of tokens whose probability reaches top_p. The draw uses the request's own Rng, so a seed
// gives the same text whatever else shares the batch.
import type { FloatArray } from '../native/index.js';
import { argmax } from '../model/llama/generate.js';
import type { Rng } from '../util/rng.js';

export interface SamplingParams {
  /** 0 = greedy */
  temperature: number;
  /** nucleus mass in (0, 1]; 1 = the whole distribution */
  topP: number;
}

/** Token id from logits[offset, offset + V). rng is needed when temperature > 0. */
export function pickToken(logits: FloatArray, offset: number, V: number, p: SamplingParams, rng: Rng | null): number {
  if (p.temperature === 0) return argmax(logits, offset, V);
  if (!rng) throw new Error('pickToken: sampling (temperature > 0) needs an Rng');
  let max = -Infinity;
  for (let j = 0; j < V; j++) max = Math.max(max, logits[offset + j]);
  const probs = new Float64Array(V);
  let sum = 0;
  for (let j = 0; j < V; j++) {
    const e = Math.exp((logits[offset + j] - max) / p.temperature);
    probs[j] = e;
    sum += e;
  }
  let order: number[] | null = null;
  let total = sum;
  if (p.topP < 1) {
    order = Array.from({ length: V }, (_, j) => j).sort((a, b) => probs[b] - probs[a] || a - b);
    let mass = 0,
      keep = 0;
    while (keep < V && mass < p.topP * sum) mass += probs[order[keep++]];
    order = order.slice(0, Math.max(1, keep));
    total = mass;
  }
  let u = rng.next() * total;
  if (order) {
    for (const j of order) {
      u -= probs[j];
      if (u < 0) return j;
    }
    return order[order.length - 1];
  }
  for (let j = 0; j < V; j++) {
    u -= probs[j];
    if (u < 0) return j;
  }
  return argmax(logits, offset, V); // rounding left u >= 0 at the end: the likeliest token
}
