// Tokenizer training and measurement over files: the driver behind `code2lora tokenizer train / eval`.
import { Rng } from '../util/rng.js';
import { trainBpe, validateBpeTrainConfig, WordCounter, type BpeModel, type BpeTrainConfig, type BpeTrainStats } from './bpe-train.js';
import { readUtf8File, type ReadSkip } from './read-text.js';
import { writeTokenizerDir } from './tokenizer-json.js';

export interface TrainTokenizerOptions {
  config?: Partial<BpeTrainConfig>;
  /** Stop reading files once this many bytes were used (after a seeded shuffle of the list). */
  maxBytes?: number;
  /** Seeds the file shuffle used with maxBytes (the merges themselves involve no randomness). */
  seed?: number;
  /** Where to write tokenizer.json + tokenizer_config.json; nothing written when absent. */
  outDir?: string;
  onProgress?: (phase: 'read' | 'merge', done: number, total: number) => void;
}

export interface TrainTokenizerReport {
  files: number;
  bytes: number;
  chars: number;
  skipped: Record<ReadSkip, number>;
  readSeconds: number;
  train: BpeTrainStats;
  outDir?: string;
}

/**
 * Trains a tokenizer on the given files (the caller decides which: training repositories' non-test
 * Python only). Files are sorted first, so the result does not depend on the order given.
 */
export function trainTokenizerFromFiles(
  files: readonly string[],
  opts: TrainTokenizerOptions = {},
): { model: BpeModel; report: TrainTokenizerReport } {
  const cfg = validateBpeTrainConfig(opts.config);
  if (opts.maxBytes !== undefined && (!Number.isFinite(opts.maxBytes) || opts.maxBytes <= 0)) {
    throw new Error(`bpe-train: maxBytes must be positive, got ${opts.maxBytes}`);
  }
  const list = [...new Set(files)].sort();
  if (opts.maxBytes !== undefined) new Rng(opts.seed ?? 0).fork('tokenizer-files').shuffle(list);
  const counter = new WordCounter(cfg);
  const skipped: Record<ReadSkip, number> = { unreadable: 0, 'not-utf8': 0, binary: 0, empty: 0 };
  const t0 = performance.now();
  let bytes = 0,
    used = 0;
  for (let i = 0; i < list.length; i++) {
    if (opts.maxBytes !== undefined && bytes >= opts.maxBytes) break;
    const r = readUtf8File(list[i]!);
    if ('skip' in r) {
      skipped[r.skip]++;
      continue;
    }
    counter.add(r.text);
    bytes += Buffer.byteLength(r.text, 'utf8');
    used++;
    if (opts.onProgress && (i & 63) === 0) opts.onProgress('read', i + 1, list.length);
  }
  opts.onProgress?.('read', list.length, list.length);
  const readSeconds = (performance.now() - t0) / 1000;
  if (used === 0) throw new Error(`bpe-train: no readable UTF-8 files among ${list.length} given`);
  const { model, stats } = trainBpe(counter, opts.onProgress ? (d, t) => opts.onProgress!('merge', d, t) : undefined);
  const report: TrainTokenizerReport = { files: used, bytes, chars: counter.chars, skipped, readSeconds, train: stats };
  if (opts.outDir !== undefined) {
    writeTokenizerDir(opts.outDir, model);
    report.outDir = opts.outDir;
  }
  return { model, report };
}

export interface TokenizerEvalReport {
  files: number;
  chars: number;
  bytes: number;
  tokens: number;
  charsPerToken: number;
  bytesPerToken: number;
  skipped: number;
}

/**
 * Characters (code points) and UTF-8 bytes per token of `encode` over files (held out from training).
 * `encode` is the inference path, e.g. loadTokenizer(dir).encode.
 */
export function measureTokenizer(
  encode: (text: string) => ArrayLike<number>,
  files: readonly string[],
  onProgress?: (done: number, total: number) => void,
): TokenizerEvalReport {
  let chars = 0,
    bytes = 0,
    tokens = 0,
    used = 0,
    skipped = 0;
  const list = [...files].sort();
  list.forEach((f, i) => {
    const r = readUtf8File(f);
    if ('skip' in r) {
      skipped++;
      return;
    }
    tokens += encode(r.text).length;
    for (const _ of r.text) chars++;
    bytes += Buffer.byteLength(r.text, 'utf8');
    used++;
    if (onProgress && (i & 31) === 0) onProgress(i + 1, list.length);
  });
  onProgress?.(list.length, list.length);
  return {
    files: used,
    chars,
    bytes,
    tokens,
    charsPerToken: tokens ? chars / tokens : 0,
    bytesPerToken: tokens ? bytes / tokens : 0,
    skipped,
  };
}
