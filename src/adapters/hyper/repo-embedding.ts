// Repository embedding (METHOD.md section 1): every encoder file's vector (from the per-file cache
// when present), then L2-normalise(concat(mean over files, max over files)) [2 * dim]. Files that are
// binary, not UTF-8, over the size cap or too short are skipped and reported, never fatal; a
// repository with no usable file is an error naming it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodePython } from '../../data/python/source.js';
import type { Encoder } from './encoder.js';
import { EmbeddingCache } from './embedding-cache.js';
import { sha256Hex } from './hash.js';
import { listEncoderFiles } from './repo-files.js';

export interface RepoEmbeddingConfig {
  /** at most this many files per repository (evenly spaced sample of sorted paths beyond it) */
  maxFiles: number;
  /** files larger than this are skipped */
  maxFileBytes: number;
  /** 0 (METHOD.md): test files are never read. N > 0 (our addition): up to N test files are
   *  embedded too, and an adapter for a task leaves the task's own test file out of the pool. */
  maxTestFiles: number;
}

export function defaultRepoEmbeddingConfig(): RepoEmbeddingConfig {
  return { maxFiles: 96, maxFileBytes: 512 * 1024, maxTestFiles: 0 };
}

export interface RepoEmbedding {
  /** [2 * encoder.dim], unit L2 norm */
  vector: Float32Array;
  files: number;
  windows: number;
  /** files whose vector came from the cache */
  cached: number;
  /** cache entries found corrupt (and rebuilt) */
  corrupt: string[];
  skipped: Array<{ file: string; reason: string }>;
  /** files left out by maxFiles; windows left out by the encoder's per-file cap */
  cappedFiles: number;
  cappedWindows: number;
  /** non-test .py files found */
  found: number;
  testFilesExcluded: number;
}

/** Pools file vectors: L2-normalised concat(mean, max) [2C]. */
export function poolFileVectors(vectors: readonly Float32Array[]): Float32Array {
  if (vectors.length === 0) throw new Error('poolFileVectors: no file vectors');
  const C = vectors[0].length;
  const mean = new Float64Array(C),
    max = new Float64Array(C).fill(-Infinity);
  for (const v of vectors) {
    if (v.length !== C) throw new Error(`poolFileVectors: vector of ${v.length} values among ones of ${C}`);
    for (let j = 0; j < C; j++) {
      mean[j] += v[j];
      if (v[j] > max[j]) max[j] = v[j];
    }
  }
  const out = new Float32Array(2 * C);
  let norm = 0;
  for (let j = 0; j < C; j++) {
    out[j] = mean[j] / vectors.length;
    out[C + j] = max[j];
  }
  for (let j = 0; j < 2 * C; j++) norm += out[j] * out[j];
  const s = 1 / Math.max(Math.sqrt(norm), 1e-12);
  for (let j = 0; j < 2 * C; j++) out[j] *= s;
  return out;
}

export interface FileVectors {
  vectors: Float32Array[] /** relative path of each vector's file */;
  paths: string[];
  report: Omit<RepoEmbedding, 'vector'>;
}

/** Every usable file's vector, through the cache (null cache = always recompute). */
export function embedRepositoryFiles(
  root: string,
  encoder: Encoder,
  cache: EmbeddingCache | null,
  cfg: RepoEmbeddingConfig = defaultRepoEmbeddingConfig(),
  onFile?: (done: number, total: number) => void,
): FileVectors {
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch {
    throw new Error(`repository ${root} does not exist`);
  }
  if (!st.isDirectory()) throw new Error(`repository ${root} is not a folder`);
  const list = listEncoderFiles(root, cfg.maxFiles, cfg.maxTestFiles ?? 0);
  const report: Omit<RepoEmbedding, 'vector'> = {
    files: 0,
    windows: 0,
    cached: 0,
    corrupt: [],
    skipped: [],
    cappedFiles: list.capped,
    cappedWindows: 0,
    found: list.found,
    testFilesExcluded: list.testFiles,
  };
  const vectors: Float32Array[] = [],
    paths: string[] = [];
  list.files.forEach((rel, i) => {
    onFile?.(i, list.files.length);
    const file = path.join(root, rel);
    let buf: Buffer;
    try {
      const fst = fs.lstatSync(file);
      if (!fst.isFile()) {
        report.skipped.push({ file: rel, reason: 'not a regular file' });
        return;
      }
      if (fst.size > cfg.maxFileBytes) {
        report.skipped.push({ file: rel, reason: `larger than ${cfg.maxFileBytes} bytes` });
        return;
      }
      buf = fs.readFileSync(file);
    } catch (err) {
      report.skipped.push({ file: rel, reason: `unreadable: ${(err as Error).message}` });
      return;
    }
    const hash = sha256Hex(buf);
    if (cache) {
      const hit = cache.get(hash, encoder.dim);
      if (hit.status === 'hit') {
        vectors.push(hit.entry.vector);
        paths.push(rel);
        report.files++;
        report.windows += hit.entry.windows;
        report.cached++;
        return;
      }
      if (hit.status === 'corrupt') report.corrupt.push(hit.reason);
    }
    const dec = decodePython(buf);
    if (!('text' in dec)) {
      report.skipped.push({ file: rel, reason: `${dec.reason}: ${dec.detail}` });
      return;
    }
    const e = encoder.embedFile(dec.text);
    if (!e) {
      report.skipped.push({ file: rel, reason: 'too short for one window' });
      return;
    }
    cache?.put(hash, { vector: e.vector, windows: e.windows });
    vectors.push(e.vector);
    paths.push(rel);
    report.files++;
    report.windows += e.windows;
    report.cappedWindows += e.cappedWindows;
  });
  onFile?.(list.files.length, list.files.length);
  return { vectors, paths, report };
}

/** The repository vector from file vectors, leaving out one file (a task's own test file) if given. */
export function poolRepository(fv: FileVectors, excludeFile?: string): Float32Array {
  const keep = excludeFile === undefined ? fv.vectors : fv.vectors.filter((_, i) => fv.paths[i] !== excludeFile);
  if (keep.length === 0) throw new Error(`poolRepository: no file left after leaving out ${excludeFile}`);
  return poolFileVectors(keep);
}

export function embedRepository(
  root: string,
  encoder: Encoder,
  cache: EmbeddingCache | null,
  cfg: RepoEmbeddingConfig = defaultRepoEmbeddingConfig(),
  onFile?: (done: number, total: number) => void,
): RepoEmbedding {
  const { vectors, report } = embedRepositoryFiles(root, encoder, cache, cfg, onFile);
  if (vectors.length === 0) {
    const why =
      report.found === 0
        ? report.testFilesExcluded > 0
          ? `it has only test files (${report.testFilesExcluded})`
          : 'it has no Python files'
        : `none of its ${report.found} Python files could be read (${report.skipped
            .slice(0, 3)
            .map((s) => `${s.file}: ${s.reason}`)
            .join('; ')})`;
    throw new Error(`cannot embed repository ${root}: ${why}`);
  }
  return { vector: poolFileVectors(vectors), ...report };
}
