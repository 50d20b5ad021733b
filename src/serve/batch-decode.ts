// One batch of completions decoded together, each sequence with its own adapter, sampling, length
// and stop strings. Rows are ordered by adapter so each adapter covers one run of consecutive
// sequences (SegmentLoraAdapter: one pair of matmuls per adapter and projection), prompts are
// left-padded (the KV cache keeps positions per sequence), and the loop yields to the event loop
// between tokens so streamed text goes out and new requests queue while a batch runs.
// Dimension letters: B sequences in the batch, Tp longest prompt, V vocabulary.
import type { LlamaModel, ProjectionAdapter } from '../model/llama/model.js';
import { KVCache } from '../model/llama/kv-cache.js';
import type { LoraAdapter } from '../adapters/lora/layer.js';
import { SegmentLoraAdapter, type LoraSegment } from '../adapters/lora/segment.js';
import type { Rng } from '../util/rng.js';
import { pickToken, type SamplingParams } from './sampling.js';
import { StopText } from './stop-text.js';

export interface DecodeRow {
  /** prompt token ids (already cut to fit: ids.length + maxTokens <= the model's positions) */
  ids: readonly number[];
  adapter: LoraAdapter | null;
  /** groups rows into segments: the adapter's content hash ('' for the base model) */
  adapterKey: string;
  maxTokens: number;
  sampling: SamplingParams;
  /** the request's own generator (temperature > 0) */
  rng: Rng | null;
  stops: readonly string[];
  /** streaming: called with each piece of text that is safe to send */
  onText?: (delta: string) => void;
  /** aborted (timeout, client gone): the row stops at the next token */
  signal?: AbortSignal;
}

export type FinishReason = 'stop' | 'length' | 'aborted';

export interface DecodeOutcome {
  text: string;
  /** completion tokens generated (the EOS token not counted) */
  tokens: number;
  finish: FinishReason;
}

export interface DecodeContext {
  model: LlamaModel;
  decode: (ids: number[]) => string;
  eosId: number;
  padId: number;
}

/** Positions the rows of a batch need: longest prompt + most new tokens. */
export function positionsNeeded(rows: readonly Pick<DecodeRow, 'ids' | 'maxTokens'>[]): number {
  return Math.max(...rows.map((r) => r.ids.length)) + Math.max(...rows.map((r) => r.maxTokens));
}

/** Builds the per-T projection adapter for rows already in batch order (null when no row has one). */
function segmentsOf(rows: readonly DecodeRow[]): LoraSegment[] | null {
  if (rows.every((r) => r.adapter === null)) return null;
  const segs: (LoraSegment & { key: string })[] = [];
  for (const r of rows) {
    const last = segs[segs.length - 1];
    if (last && last.key === r.adapterKey) last.rows++;
    else segs.push({ rows: 1, adapter: r.adapter, key: r.adapterKey });
  }
  return segs.map(({ rows, adapter }) => ({ rows, adapter }));
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Decodes every row to its end; outcomes come back in the rows' order. */
export async function decodeBatch(ctx: DecodeContext, rowsIn: readonly DecodeRow[]): Promise<DecodeOutcome[]> {
  const B = rowsIn.length;
  if (B === 0) return [];
  const { model } = ctx;
  const V = model.config.vocabSize;
  // Batch order: by adapter key, stable, so each adapter is one segment.
  const order = rowsIn
    .map((_, i) => i)
    .sort((a, b) => (rowsIn[a].adapterKey < rowsIn[b].adapterKey ? -1 : rowsIn[a].adapterKey > rowsIn[b].adapterKey ? 1 : a - b));
  const rows = order.map((i) => rowsIn[i]);
  const Tp = Math.max(...rows.map((r) => r.ids.length));
  if (rows.some((r) => r.ids.length === 0)) throw new Error('decodeBatch: empty prompt');
  const maxT = positionsNeeded(rows);
  if (maxT > model.config.maxPositionEmbeddings) {
    throw new Error(
      `decodeBatch: ${Tp} prompt + ${maxT - Tp} new tokens exceed the model's ${model.config.maxPositionEmbeddings} positions`,
    );
  }
  const segments = segmentsOf(rows);
  const prefillAdapter: ProjectionAdapter | null = segments ? new SegmentLoraAdapter(segments, Tp) : null;
  const stepAdapter: ProjectionAdapter | null = segments ? new SegmentLoraAdapter(segments, 1) : null;

  const ids = new Int32Array(B * Tp).fill(ctx.padId); // [B, Tp], left-padded
  const mask = new Uint8Array(B * Tp);
  rows.forEach((r, b) => {
    ids.set(r.ids, b * Tp + Tp - r.ids.length);
    mask.fill(1, b * Tp + Tp - r.ids.length, (b + 1) * Tp);
  });
  const cache = new KVCache(model.config, B, maxT);
  const gen: number[][] = rows.map(() => []);
  const stopText = rows.map((r) => new StopText(r.stops));
  const out: (DecodeOutcome | null)[] = rows.map(() => null);
  const text: string[] = rows.map(() => '');

  const finish = (b: number, finish: FinishReason) => {
    const r = rows[b];
    if (finish !== 'aborted') {
      const rest = stopText[b].flush(text[b]);
      if (rest && r.onText) r.onText(rest);
    }
    out[b] = { text: text[b], tokens: gen[b].length, finish };
  };

  let { logits } = model.forward(null, { ids, B, T: Tp, mask }, { cache, adapter: prefillAdapter, lastOnly: true }); // [B, 1, V]
  for (;;) {
    const next = new Int32Array(B).fill(ctx.padId);
    for (let b = 0; b < B; b++) {
      if (out[b]) continue;
      const r = rows[b];
      if (r.signal?.aborted) {
        finish(b, 'aborted');
        continue;
      }
      const tok = pickToken(logits.data, b * V, V, r.sampling, r.rng);
      if (tok === ctx.eosId) {
        finish(b, 'stop');
        continue;
      }
      gen[b].push(tok);
      next[b] = tok;
      const s = stopText[b].update(ctx.decode(gen[b]));
      text[b] = s.text;
      if (s.delta && r.onText) r.onText(s.delta);
      if (s.stopped) finish(b, 'stop');
      else if (gen[b].length >= r.maxTokens) finish(b, 'length');
    }
    if (out.every((o) => o !== null)) break;
    await nextTick();
    ({ logits } = model.forward(
      null,
      { ids: next, B, T: 1, mask: new Uint8Array(B).fill(1) },
      { cache, adapter: stepAdapter, lastOnly: true },
    ));
  }
  const result = new Array<DecodeOutcome>(B);
  order.forEach((i, b) => {
    result[i] = out[b]!;
  });
  return result;
}
