// Repository encoders: text of one file -> one vector. The default (METHOD.md section 1, scaled to
// this project's base) is the frozen base model itself: the file's tokens cut into overlapping
// windows, each window's final hidden states mean-pooled over its real tokens, the file vector the
// mean of its window vectors. Another encoder plugs in through the `Encoder` interface.
// Letters: W windows in a batch, T window length, C hidden width.
import { createHash } from 'node:crypto';
import type { LlamaModel } from '../../model/llama/model.js';
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';

export interface Encoder {
  /** Identifies the encoder's weights and settings: cache entries are keyed by it. */
  readonly id: string;
  /** Width of a file vector. */
  readonly dim: number;
  /** The file's vector, or null when it yields no window (empty or under minWindowTokens). */
  embedFile(text: string): { vector: Float32Array; windows: number; cappedWindows: number } | null;
}

export interface WindowConfig {
  /** tokens per window (<= the model's context) */
  windowTokens: number;
  /** tokens shared by consecutive windows */
  overlap: number;
  /** windows shorter than this are dropped [METHOD.md: 8] */
  minWindowTokens: number;
  /** at most this many windows per file (the first ones); the rest are reported as capped */
  maxWindowsPerFile: number;
  /** windows run through the model together */
  batch: number;
}

export function defaultWindowConfig(): WindowConfig {
  return { windowTokens: 256, overlap: 32, minWindowTokens: 8, maxWindowsPerFile: 2, batch: 16 };
}

export function validateWindowConfig(c: WindowConfig, maxContext: number): Readonly<WindowConfig> {
  const known = Object.keys(defaultWindowConfig());
  for (const k of Object.keys(c))
    if (!known.includes(k)) throw new Error(`encoder config: unknown key "${k}" (known: ${known.join(', ')})`);
  for (const k of known as (keyof WindowConfig)[]) {
    if (!Number.isInteger(c[k]) || c[k] < (k === 'overlap' ? 0 : 1))
      throw new Error(`encoder config: ${k} must be a ${k === 'overlap' ? 'non-negative' : 'positive'} integer, got ${c[k]}`);
  }
  if (c.windowTokens > maxContext)
    throw new Error(`encoder config: windowTokens ${c.windowTokens} exceeds the model's context ${maxContext}`);
  if (c.overlap >= c.windowTokens) throw new Error(`encoder config: overlap ${c.overlap} must be below windowTokens ${c.windowTokens}`);
  return Object.freeze({ ...c });
}

/** Start offsets of the windows over n tokens (stride windowTokens - overlap), short tails dropped. */
export function windowStarts(n: number, c: WindowConfig): number[] {
  const starts: number[] = [];
  const stride = c.windowTokens - c.overlap;
  for (let s = 0; s < n; s += stride) {
    if (n - s < c.minWindowTokens) break;
    starts.push(s);
    if (s + c.windowTokens >= n) break;
  }
  return starts;
}

/** Hash of a model's weights (names, shapes, bytes): what "the same encoder" means for the cache. */
export function modelWeightsHash(model: LlamaModel): string {
  const h = createHash('sha256');
  for (const [name, t] of [...model.params].sort(([a], [b]) => (a < b ? -1 : 1))) {
    h.update(`${name}[${t.shape.join(',')}]`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

/** A tokenizer's behaviour in one string: its size, specials and the ids of a probe text that
 *  exercises merges, bytes and whitespace. Two tokenizers with the same fingerprint encode alike. */
export function tokenizerFingerprint(tok: TextTokenizer): string {
  const probe = 'def f(self, x):\n    assert x == {"a": [1, 2.5]}  # é\n\treturn None\n';
  return createHash('sha256')
    .update(`${tok.vocabSize}|${tok.eosId}|${tok.padId}|${tok.encode(probe).join(',')}`)
    .digest('hex')
    .slice(0, 16);
}

export class BaseModelEncoder implements Encoder {
  readonly id: string;
  readonly dim: number;
  private readonly cfg: Readonly<WindowConfig>;

  constructor(
    private readonly model: LlamaModel,
    private readonly tok: TextTokenizer,
    cfg: WindowConfig = defaultWindowConfig(),
    weightsHash?: string,
  ) {
    this.cfg = validateWindowConfig(cfg, model.config.maxPositionEmbeddings);
    this.dim = model.config.hiddenSize;
    const w = weightsHash ?? modelWeightsHash(model);
    const c = this.cfg;
    // batch changes no result, so it is not part of the identity
    this.id = createHash('sha256')
      .update(`base-mean-pool|${w}|${tokenizerFingerprint(tok)}|${c.windowTokens}|${c.overlap}|${c.minWindowTokens}|${c.maxWindowsPerFile}`)
      .digest('hex')
      .slice(0, 16);
  }

  embedFile(text: string): { vector: Float32Array; windows: number; cappedWindows: number } | null {
    const c = this.cfg;
    const ids = this.tok.encode(text);
    const all = windowStarts(ids.length, c);
    if (all.length === 0) return null;
    const starts = all.slice(0, c.maxWindowsPerFile);
    const C = this.dim;
    const sum = new Float64Array(C);
    for (let w0 = 0; w0 < starts.length; w0 += c.batch) {
      const group = starts.slice(w0, w0 + c.batch);
      const lens = group.map((s) => Math.min(c.windowTokens, ids.length - s));
      const W = group.length,
        T = Math.max(...lens);
      // left padding, as everywhere else in the project; pooled over real tokens only
      const batchIds = new Int32Array(W * T).fill(this.tok.padId);
      const mask = new Uint8Array(W * T);
      group.forEach((s, w) => {
        const off = w * T + (T - lens[w]);
        for (let t = 0; t < lens[w]; t++) {
          batchIds[off + t] = ids[s + t];
          mask[off + t] = 1;
        }
      });
      const { hidden } = this.model.forward(null, { ids: batchIds, B: W, T, mask }, { lastOnly: true }); // [W,T,C]
      const h = hidden.data;
      for (let w = 0; w < W; w++) {
        const win = new Float64Array(C);
        for (let t = T - lens[w]; t < T; t++) {
          const o = (w * T + t) * C;
          for (let j = 0; j < C; j++) win[j] += h[o + j];
        }
        for (let j = 0; j < C; j++) sum[j] += win[j] / lens[w];
      }
    }
    const vector = new Float32Array(C);
    for (let j = 0; j < C; j++) vector[j] = sum[j] / starts.length;
    return { vector, windows: starts.length, cappedWindows: all.length - starts.length };
  }
}
