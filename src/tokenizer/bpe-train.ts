// Byte-level BPE trainer (GPT-2 style): config, pre-tokenisation, word counts and the merge loop.
// Beside it: tokenizer-json.ts (the Hugging Face files), merge-encoder.ts (reference encoder),
// read-text.ts (strict UTF-8 reader), train-files.ts (training and measurement over files).
//
// Pipeline: text -> split on special-token strings -> pre-tokens by the split regex (the very RegExp
// that @huggingface/tokenizers compiles from the `Split` pre-tokenizer we write, so training and
// inference split identically) -> UTF-8 bytes -> word counts -> greedy merges by pair frequency.
//
// Ids (fixed layout, documented in VOCAB.md):
//   0 .. S-1        special tokens, default S = 2: 0 = <|endoftext|> (EOS), 1 = <|pad|> (padding)
//   S .. S+255      the 256 byte symbols, id = S + byte (always present, so any byte sequence encodes)
//   S+256 .. V-1    merged tokens, in merge order
//
// Merge loop: pair counts in a Map keyed by a*K+b (K = vocab size), a lazy max-heap ordered by
// (count desc, a asc, b asc) for deterministic ties, and per-pair lists of the words that contain it,
// so each merge touches only the words holding the merged pair (no rescans of the corpus).
//
// Invalid UTF-8: JS strings cannot hold it. Files are decoded with a fatal UTF-8 decoder and skipped
// when invalid (counted in the report), the same rule as the corpus layer. The byte alphabet still
// covers all 256 bytes, so a model can emit any byte sequence; decoding ids that form invalid UTF-8
// gives U+FFFD replacement characters, as in every byte-level tokenizer.
import * as hf from '@huggingface/tokenizers';
import { PairHeap } from './pair-heap.js';

// ---------------------------------------------------------------------------------------------
// Split patterns (Oniguruma syntax, exactly as stored in tokenizer.json)

/**
 * Named split regexes. `code` is the default: Llama-3-style words (`[^\r\n\p{L}\p{N}]?\p{L}+`, so
 * `.append`, `(self`, ` return` are single pre-tokens) and 1-3 digit numbers, no English contractions
 * (they would cut `'self'` into `'s` + `elf`), and GPT-2's whitespace rule `\s+(?!\S)|\s+`, which keeps
 * a newline plus the indentation (all but its last space) in one pre-token, so `\n` + indent merges
 * into one token and the word after it keeps its usual ` word` form.
 * `llama3` cuts newlines off the indentation (`\s*[\r\n]+`), costing one more token per indented line;
 * `gpt2` is the original; `nows` splits whitespace into single characters (no indentation runs), for
 * measuring what the runs are worth.
 */
export const SPLIT_PATTERNS = Object.freeze({
  code: String.raw`[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
  llama3: String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
  gpt2: String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
  nows: String.raw`[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+|\s`,
});
export type SplitPatternName = keyof typeof SPLIT_PATTERNS;

export const EOS_TOKEN = '<|endoftext|>';
export const PAD_TOKEN = '<|pad|>';

// ---------------------------------------------------------------------------------------------
// Config

export interface BpeTrainConfig {
  /** Total vocabulary size: specials + 256 bytes + merges. Training may stop short (minFrequency). */
  vocabSize: number;
  /** Special tokens, given ids 0..n-1 in this order; the first is end-of-text. */
  specialTokens: readonly string[];
  /** Stop merging when the best pair occurs fewer times than this. */
  minFrequency: number;
  /** Split regex in Oniguruma syntax (a key of SPLIT_PATTERNS or a custom pattern). */
  pattern: string;
}

export function defaultBpeTrainConfig(): BpeTrainConfig {
  return { vocabSize: 4096, specialTokens: [EOS_TOKEN, PAD_TOKEN], minFrequency: 2, pattern: SPLIT_PATTERNS.code };
}

/** Checks a (partial) config, fills defaults, returns it frozen. */
export function validateBpeTrainConfig(partial: Partial<BpeTrainConfig> = {}): Readonly<BpeTrainConfig> {
  const known = new Set(Object.keys(defaultBpeTrainConfig()));
  for (const k of Object.keys(partial)) if (!known.has(k)) throw new Error(`bpe-train: unknown config key "${k}"`);
  const c = { ...defaultBpeTrainConfig(), ...partial };
  const specials = [...c.specialTokens];
  if (specials.length === 0) throw new Error('bpe-train: specialTokens must hold at least the end-of-text token');
  if (new Set(specials).size !== specials.length) throw new Error(`bpe-train: duplicate special tokens ${JSON.stringify(specials)}`);
  for (const s of specials)
    if (typeof s !== 'string' || s.length === 0)
      throw new Error(`bpe-train: special tokens must be non-empty strings, got ${JSON.stringify(s)}`);
  const minV = specials.length + 256;
  if (!Number.isInteger(c.vocabSize) || c.vocabSize < minV || c.vocabSize > 1 << 20) {
    throw new Error(`bpe-train: vocabSize must be an integer in [${minV}, ${1 << 20}] (specials + 256 bytes), got ${c.vocabSize}`);
  }
  if (!Number.isInteger(c.minFrequency) || c.minFrequency < 1)
    throw new Error(`bpe-train: minFrequency must be an integer >= 1, got ${c.minFrequency}`);
  if (typeof c.pattern !== 'string' || c.pattern.length === 0) throw new Error('bpe-train: pattern must be a non-empty regex string');
  compileSplitPattern(c.pattern); // throws on a bad pattern
  return Object.freeze({ ...c, specialTokens: Object.freeze(specials) });
}

/** A pattern name (`code`, `llama3`, ...) or a raw regex. */
export function resolvePattern(nameOrRegex: string): string {
  return Object.hasOwn(SPLIT_PATTERNS, nameOrRegex) ? SPLIT_PATTERNS[nameOrRegex as SplitPatternName] : nameOrRegex;
}

// ---------------------------------------------------------------------------------------------
// Byte-level alphabet (GPT-2's bytes_to_unicode)

function buildByteToUnicode(): string[] {
  const out = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  return out;
}
/** byte -> its printable stand-in character (GPT-2 byte-level alphabet). */
export const BYTE_TO_UNICODE: readonly string[] = Object.freeze(buildByteToUnicode());

// ---------------------------------------------------------------------------------------------
// Pre-tokenisation

// The package exports SplitPreTokenizer at run time, but its type re-exports do not resolve under
// NodeNext, so it is typed here by hand (just what we use).
interface SplitLike {
  pattern: RegExp | null;
}
type SplitCtor = new (config: { type: 'Split'; pattern: { Regex: string }; behavior: string; invert: boolean }) => SplitLike;
const SplitPreTokenizer = (hf as unknown as { SplitPreTokenizer: SplitCtor }).SplitPreTokenizer;

/** The JS RegExp that @huggingface/tokenizers builds from a Split pattern (same translation). */
export function compileSplitPattern(pattern: string): RegExp {
  let split: SplitLike;
  try {
    split = new SplitPreTokenizer({ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false });
  } catch (err) {
    throw new Error(`bpe-train: cannot compile split pattern ${JSON.stringify(pattern)}: ${(err as Error).message}`, { cause: err });
  }
  if (!(split.pattern instanceof RegExp)) throw new Error(`bpe-train: split pattern ${JSON.stringify(pattern)} did not compile`);
  return split.pattern;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * Cuts text into pieces: special-token strings (returned as their id) and ordinary text between them.
 * Longest special first, as @huggingface/tokenizers does for added tokens.
 */
export function splitSpecials(
  text: string,
  specials: readonly string[],
  specialRe: RegExp | null,
  onText: (t: string) => void,
  onSpecial: (id: number) => void,
): void {
  if (specialRe === null || !specials.some((s) => text.includes(s))) {
    if (text.length > 0) onText(text);
    return;
  }
  let prev = 0;
  specialRe.lastIndex = 0;
  for (const m of text.matchAll(specialRe)) {
    if (m.index > prev) onText(text.slice(prev, m.index));
    onSpecial(specials.indexOf(m[0]));
    prev = m.index + m[0].length;
  }
  if (prev < text.length) onText(text.slice(prev));
}

export function makeSpecialRe(specials: readonly string[]): RegExp | null {
  if (specials.length === 0) return null;
  const sorted = [...specials].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
  return new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
}

/** Pre-tokens of special-free text, like the library's regex_split (gaps between matches kept). */
export function forEachPreToken(text: string, re: RegExp, fn: (piece: string) => void): void {
  let prev = 0;
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > prev) fn(text.slice(prev, m.index));
    if (m[0].length > 0) fn(m[0]);
    prev = m.index + m[0].length;
  }
  if (prev < text.length) fn(text.slice(prev));
}

/** Counts pre-tokens over many texts; feed it with add(), then hand it to trainBpe(). */
export class WordCounter {
  readonly counts = new Map<string, number>();
  /** Characters (UTF-16 code units) and texts seen. */
  chars = 0;
  texts = 0;
  private readonly re: RegExp;
  private readonly specialRe: RegExp | null;

  constructor(readonly config: Readonly<BpeTrainConfig>) {
    this.re = compileSplitPattern(config.pattern);
    this.specialRe = makeSpecialRe(config.specialTokens);
  }

  add(text: string): void {
    this.texts++;
    this.chars += text.length;
    const counts = this.counts;
    splitSpecials(
      text,
      this.config.specialTokens,
      this.specialRe,
      (t) => {
        forEachPreToken(t, this.re, (w) => counts.set(w, (counts.get(w) ?? 0) + 1));
      },
      () => undefined,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Training

export interface BpeModel {
  readonly config: Readonly<BpeTrainConfig>;
  /** id -> token string (byte-level alphabet for ids >= specials). */
  readonly vocab: readonly string[];
  /** Merges in rank order: [left id, right id, result id]. */
  readonly merges: readonly (readonly [number, number, number])[];
}

export interface BpeTrainStats {
  uniqueWords: number;
  merges: number;
  /** Merges whose result token already existed (another pair made the same string first). */
  sharedResults: number;
  /** Pops of an already-listed pair that were applied again (see trainBpe). */
  repeatedPairs: number;
  vocabSize: number;
  /** Why merging stopped: the target size was reached, or no pair was frequent enough. */
  stoppedBy: 'vocab-size' | 'min-frequency' | 'no-pairs';
  seconds: number;
}

export type BpeProgress = (done: number, total: number) => void;

/**
 * Learns merges from word counts. Deterministic: the result depends only on the multiset of
 * pre-tokens and the config (ties broken by the smaller left id, then the smaller right id).
 */
export function trainBpe(counter: WordCounter, onProgress?: BpeProgress): { model: BpeModel; stats: BpeTrainStats } {
  const t0 = performance.now();
  const cfg = counter.config;
  const S = cfg.specialTokens.length;
  const V = cfg.vocabSize;
  const K = V; // pair key = a * K + b; ids are < V

  const vocab: string[] = [...cfg.specialTokens];
  const tokenId = new Map<string, number>();
  cfg.specialTokens.forEach((s, i) => tokenId.set(s, i));
  for (let b = 0; b < 256; b++) {
    const t = BYTE_TO_UNICODE[b]!;
    if (tokenId.has(t)) throw new Error(`bpe-train: special token ${JSON.stringify(t)} collides with a byte symbol`);
    tokenId.set(t, vocab.length);
    vocab.push(t);
  }

  // Words, sorted so the word order (and thus everything after) is independent of insertion order.
  const words = [...counter.counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const W = words.length;
  const wcount = new Float64Array(W);
  const woff = new Int32Array(W + 1);
  const wlen = new Int32Array(W);
  const byteWords: Buffer[] = new Array<Buffer>(W);
  let total = 0;
  for (let w = 0; w < W; w++) {
    const buf = Buffer.from(words[w]!, 'utf8');
    byteWords[w] = buf;
    wcount[w] = counter.counts.get(words[w]!)!;
    woff[w] = total;
    wlen[w] = buf.length;
    total += buf.length;
  }
  woff[W] = total;
  const syms = new Int32Array(total);
  for (let w = 0; w < W; w++) {
    const buf = byteWords[w]!,
      o = woff[w]!;
    for (let i = 0; i < buf.length; i++) syms[o + i] = S + buf[i]!;
  }

  // Initial pair counts and where-lists (duplicates allowed; deduplicated by stamp when used).
  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let w = 0; w < W; w++) {
    const o = woff[w]!,
      n = wlen[w]!,
      c = wcount[w]!;
    for (let i = 0; i + 1 < n; i++) {
      const key = syms[o + i]! * K + syms[o + i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + c);
      const list = where.get(key);
      if (list === undefined) where.set(key, [w]);
      else if (list[list.length - 1] !== w) list.push(w);
    }
  }
  const heap = new PairHeap();
  // Push in key order so heap construction is deterministic too (it is anyway: the order is total).
  for (const [key, c] of pairCount) heap.push(c, key);

  const merges: [number, number, number][] = [];
  const mergedKeys = new Set<number>();
  let iter = 0,
    repeats = 0;
  const stamp = new Int32Array(W).fill(-1);
  const delta = new Map<number, number>();
  const newWhere = new Map<number, number[]>();
  const target = V - vocab.length;
  let stoppedBy: BpeTrainStats['stoppedBy'] = 'vocab-size';

  while (vocab.length < V) {
    if (heap.size === 0) {
      stoppedBy = 'no-pairs';
      break;
    }
    const [hc, key] = heap.pop();
    const cur = pairCount.get(key) ?? 0;
    if (cur !== hc) {
      // stale entry: counts only fall for existing pairs, so re-queue with the truth
      if (cur > 0) heap.push(cur, key);
      continue;
    }
    if (cur < cfg.minFrequency) {
      stoppedBy = 'min-frequency';
      break;
    }
    const a = Math.floor(key / K),
      b = key - a * K;
    const str = vocab[a]! + vocab[b]!;
    let c = tokenId.get(str);
    if (c === undefined) {
      c = vocab.length;
      vocab.push(str);
      tokenId.set(str, c);
    }
    // A pair can come back only when its result string already existed (two pairs, one token) and
    // that token gains new neighbours; apply it again but never list a pair twice in the merges.
    if (!mergedKeys.has(key)) {
      mergedKeys.add(key);
      merges.push([a, b, c]);
    } else repeats++;
    const step = ++iter;

    delta.clear();
    newWhere.clear();
    const add = (k: number, d: number): void => {
      delta.set(k, (delta.get(k) ?? 0) + d);
    };
    const list = where.get(key) ?? [];
    where.delete(key);
    for (const w of list) {
      if (stamp[w] === step) continue;
      stamp[w] = step;
      const o = woff[w]!,
        n = wlen[w]!,
        cnt = wcount[w]!;
      // In-place left-to-right non-overlapping merge; neighbours' pair counts change locally.
      let r = 0,
        out = 0;
      let merged = false;
      while (r < n) {
        if (r + 1 < n && syms[o + r] === a && syms[o + r + 1] === b) {
          if (out > 0) {
            const left = syms[o + out - 1]!;
            add(left * K + a, -cnt);
            add(left * K + c, cnt);
          }
          if (r + 2 < n) {
            const right = syms[o + r + 2]!;
            add(b * K + right, -cnt);
            add(c * K + right, cnt); // undone by the next merge when `right` starts another (a, b)
          }
          syms[o + out++] = c;
          r += 2;
          merged = true;
        } else {
          syms[o + out++] = syms[o + r++]!;
        }
      }
      if (!merged) continue;
      wlen[w] = out;
      for (let i = 0; i + 1 < out; i++) {
        const x = syms[o + i]!,
          y = syms[o + i + 1]!;
        if (x !== c && y !== c) continue;
        const k = x * K + y;
        let l = newWhere.get(k);
        if (l === undefined) newWhere.set(k, (l = []));
        if (l[l.length - 1] !== w) l.push(w);
      }
    }
    pairCount.delete(key);
    for (const [k, d] of delta) {
      if (k === key || d === 0) continue;
      const v = (pairCount.get(k) ?? 0) + d;
      if (v <= 0) pairCount.delete(k);
      else pairCount.set(k, v);
      if (d > 0) heap.push(v, k);
    }
    for (const [k, l] of newWhere) {
      const old = where.get(k);
      if (old === undefined) where.set(k, l);
      else for (const w of l) old.push(w);
    }
    if (onProgress && (step & 63) === 0) onProgress(vocab.length - S - 256, target);
  }
  if (onProgress) onProgress(vocab.length - S - 256, target);

  const model: BpeModel = Object.freeze({ config: cfg, vocab: Object.freeze(vocab), merges: Object.freeze(merges) });
  return {
    model,
    stats: {
      uniqueWords: W,
      merges: merges.length,
      sharedResults: merges.length - (vocab.length - S - 256),
      repeatedPairs: repeats,
      vocabSize: vocab.length,
      stoppedBy,
      seconds: (performance.now() - t0) / 1000,
    },
  };
}
