// Diff embedding (Code2LoRA-Evo, METHOD.md section 1): the repository encoder applied to a commit's
// production-code diff. The diff is cut into its per-file sections (`diff --git` headers); each
// section is embedded like a file (the encoder's windows, mean over windows) and the sections are
// pooled like a repository's files: L2-normalise(concat(mean, max)) [2 * dim], the width of the
// repository embedding. A diff with no section (a commit that touched only tests) is the zero vector.
// Pooled vectors are cached on disk per (encoder id + diff settings, SHA-256 of the diff text), in
// the same checksummed, atomically written entries as the per-file cache.
import { createHash } from 'node:crypto';
import type { Encoder } from './encoder.js';
import { EmbeddingCache } from './embedding-cache.js';
import { sha256Hex } from './hash.js';
import { poolFileVectors } from './repo-embedding.js';

export interface DiffEmbeddingConfig {
  /** at most this many file sections per diff (evenly spaced sample of them beyond it) */
  maxFiles: number;
  /** a section longer than this (UTF-8 bytes) is cut at a line end before tokenising */
  maxSectionBytes: number;
}

export function defaultDiffEmbeddingConfig(): DiffEmbeddingConfig {
  return { maxFiles: 8, maxSectionBytes: 16 * 1024 };
}

export function validateDiffEmbeddingConfig(c: DiffEmbeddingConfig, source = 'diff embedding config'): Readonly<DiffEmbeddingConfig> {
  const known = Object.keys(defaultDiffEmbeddingConfig());
  for (const k of Object.keys(c)) if (!known.includes(k)) throw new Error(`${source}: unknown key "${k}" (known: ${known.join(', ')})`);
  for (const k of known as (keyof DiffEmbeddingConfig)[]) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`${source}: ${k} must be a positive integer, got ${JSON.stringify(c[k])}`);
  }
  return Object.freeze({ ...c });
}

/** A diff's per-file sections, in order (text before the first header, if any, is dropped). */
export function diffSections(diff: string): string[] {
  const out: string[] = [];
  const starts: number[] = [];
  const re = /^diff --git /gm;
  for (let m = re.exec(diff); m; m = re.exec(diff)) starts.push(m.index);
  starts.forEach((s, i) => {
    const text = diff.slice(s, starts[i + 1] ?? diff.length);
    if (text.trim()) out.push(text);
  });
  return out;
}

function capBytes(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let cut = buf.lastIndexOf(10, maxBytes);
  if (cut < 0) cut = maxBytes;
  return buf.subarray(0, cut + 1).toString('utf8');
}

export interface DiffEmbedding {
  /** [2 * encoder.dim]: unit L2 norm, or all zeros for an empty diff */
  vector: Float32Array;
  sections: number;
  /** sections embedded (after the cap and dropping ones too short for a window) */
  embedded: number;
  cached: boolean;
}

export class DiffEncoder {
  /** Cache key space: encoder id and diff settings (hex, as EmbeddingCache wants). */
  readonly id: string;
  readonly dim: number;
  private readonly cfg: Readonly<DiffEmbeddingConfig>;
  private readonly cache: EmbeddingCache | null;

  constructor(
    private readonly encoder: Encoder,
    cfg: DiffEmbeddingConfig = defaultDiffEmbeddingConfig(),
    cacheDir: string | null = null,
  ) {
    this.cfg = validateDiffEmbeddingConfig(cfg);
    this.dim = 2 * encoder.dim;
    this.id = createHash('sha256').update(`diff|${encoder.id}|${this.cfg.maxFiles}|${this.cfg.maxSectionBytes}`).digest('hex').slice(0, 16);
    this.cache = cacheDir ? new EmbeddingCache(cacheDir, this.id) : null;
  }

  /** The diff's vector; corrupt cache entries are rebuilt (and reported through onCorrupt). */
  embed(diff: string, onCorrupt?: (reason: string) => void): DiffEmbedding {
    const hash = sha256Hex(diff);
    if (this.cache) {
      const hit = this.cache.get(hash, this.dim);
      if (hit.status === 'hit') return { vector: hit.entry.vector, sections: hit.entry.windows, embedded: -1, cached: true };
      if (hit.status === 'corrupt') onCorrupt?.(hit.reason);
    }
    const all = diffSections(diff);
    let pick = all;
    if (all.length > this.cfg.maxFiles) {
      const step = all.length / this.cfg.maxFiles;
      pick = Array.from({ length: this.cfg.maxFiles }, (_, i) => all[Math.floor(i * step)]);
    }
    const vectors: Float32Array[] = [];
    for (const s of pick) {
      const e = this.encoder.embedFile(capBytes(s, this.cfg.maxSectionBytes));
      if (e) vectors.push(e.vector);
    }
    const vector = vectors.length > 0 ? poolFileVectors(vectors) : new Float32Array(this.dim);
    // the entry's "windows" field records the section count
    this.cache?.put(hash, { vector, windows: all.length });
    return { vector, sections: all.length, embedded: vectors.length, cached: false };
  }
}
