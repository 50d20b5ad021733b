// Greedy decoding with a KV cache, batched over left-padded prompts, with EOS and stop strings.
import type { LlamaModel, ProjectionAdapter } from './model.js';
import { KVCache } from './kv-cache.js';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Generation of a sequence ends at the first of these strings (which is cut from the text). */
  stopStrings?: readonly string[];
  eosId?: number;
  padId?: number;
  adapter?: ProjectionAdapter | null;
  /** Needed for stop strings: ids -> text. */
  decode?: (ids: number[]) => string;
}

export interface Generation {
  ids: number[];
  text?: string;
  stop: 'eos' | 'stop_string' | 'length';
}

export function argmax(row: ArrayLike<number>, offset: number, n: number): number {
  let best = 0,
    bestV = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = row[offset + j];
    if (v > bestV) {
      bestV = v;
      best = j;
    }
  }
  return best;
}

export function generateGreedy(model: LlamaModel, prompts: number[][], opts: GenerateOptions): Generation[] {
  const B = prompts.length;
  if (B === 0) return [];
  if (opts.stopStrings?.length && !opts.decode) throw new Error('generate: stop strings need a decode function');
  const V = model.config.vocabSize;
  const Tp = Math.max(...prompts.map((p) => p.length));
  if (Tp === 0) throw new Error('generate: empty prompt');
  const maxT = Math.min(Tp + opts.maxNewTokens, model.config.maxPositionEmbeddings);
  if (Tp >= maxT) throw new Error(`generate: prompt of ${Tp} tokens leaves no room under ${model.config.maxPositionEmbeddings} positions`);
  const pad = opts.padId ?? opts.eosId ?? 0;
  const ids = new Int32Array(B * Tp).fill(pad);
  const mask = new Uint8Array(B * Tp);
  prompts.forEach((p, b) => {
    ids.set(p, b * Tp + Tp - p.length);
    mask.fill(1, b * Tp + Tp - p.length, (b + 1) * Tp);
  });
  const cache = new KVCache(model.config, B, maxT);
  const out: Generation[] = prompts.map(() => ({ ids: [], stop: 'length' }));
  const done = new Array<boolean>(B).fill(false);
  let { logits } = model.forward(null, { ids, B, T: Tp, mask }, { cache, adapter: opts.adapter, lastOnly: true });
  for (let step = 0; step < maxT - Tp; step++) {
    const next = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const tok = argmax(logits.data, b * V, V);
      next[b] = tok;
      if (done[b]) continue;
      const g = out[b];
      if (opts.eosId !== undefined && tok === opts.eosId) {
        g.stop = 'eos';
        done[b] = true;
        continue;
      }
      g.ids.push(tok);
      if (opts.stopStrings?.length) {
        const text = opts.decode!(g.ids);
        const cut = firstStop(text, opts.stopStrings);
        if (cut >= 0) {
          g.text = text.slice(0, cut);
          g.stop = 'stop_string';
          done[b] = true;
        }
      }
    }
    if (done.every(Boolean) || step === maxT - Tp - 1) break;
    ({ logits } = model.forward(
      null,
      { ids: next, B, T: 1, mask: new Uint8Array(B).fill(1) },
      { cache, adapter: opts.adapter, lastOnly: true },
    ));
  }
  for (const g of out) if (g.text === undefined && opts.decode) g.text = opts.decode(g.ids);
  return out;
}

function firstStop(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}
