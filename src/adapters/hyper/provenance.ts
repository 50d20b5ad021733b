// Where a generated adapter came from, written beside its PEFT files as code2lora-provenance.json:
// the hypernetwork (SHA-256 of head.safetensors), the base model (SHA-256 of model.safetensors), the
// repository (HEAD commit when it is the top of a git work tree, and always a content hash over the
// encoded files' (path, SHA-256) list, which also covers uncommitted edits), what the encoder read
// (files, windows, caps, skips), the time and the code2lora version.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../../util/atomic.js';
import { gitOutput, isGitWorkTreeRoot } from '../../util/git.js';
import { repoRoot } from '../../util/repo-root.js';
import type { LoraConfig } from '../lora/config.js';
import { sha256Hex } from './hash.js';
import type { RepoEmbedding } from './repo-embedding.js';

export const PROVENANCE_FILE = 'code2lora-provenance.json';
export const PROVENANCE_FORMAT = 'code2lora-adapter-provenance';

export interface RepositoryIdentity {
  /** absolute path at adaptation time */
  path: string;
  /** HEAD commit when the folder is the top of a git work tree, else null */
  gitCommit: string | null;
  /** the work tree differs from HEAD (tracked changes or untracked files); null when not git */
  gitDirty: boolean | null;
  /** SHA-256 over the sorted "path<TAB>sha256<LF>" lines of the files the encoder used */
  contentSha256: string;
}

export interface AdapterProvenance {
  format: typeof PROVENANCE_FORMAT;
  version: 1;
  /** ISO 8601, UTC */
  created: string;
  code2lora: string;
  /** training: hyper.json's record of how the head was trained (null: none, e.g. an untrained head) */
  hypernetwork: { dir: string; headSha256: string; training: Record<string, unknown> | null };
  baseModel: { dir: string; sha256: string };
  repository: RepositoryIdentity;
  encoding: {
    files: number;
    windows: number;
    cached: number;
    found: number;
    testFilesExcluded: number;
    cappedFiles: number;
    cappedWindows: number;
    skipped: Array<{ file: string; reason: string }>;
    corruptCacheEntries: string[];
  };
  lora: { rank: number; alpha: number; targetModules: string[] };
  seconds: number;
}

/** The package version (package.json at the package root). */
export function code2loraVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** Content hash of a file list: SHA-256 over sorted "rel<TAB>sha256(bytes)<LF>" lines. */
export function filesContentSha256(root: string, relPaths: readonly string[]): string {
  const lines = [...relPaths].sort().map((rel) => `${rel}\t${sha256Hex(fs.readFileSync(path.join(root, rel)))}\n`);
  return sha256Hex(lines.join(''));
}

/** Who the repository is: git HEAD (when it is a work tree's top) and the encoded files' content hash. */
export async function repositoryIdentity(root: string, encodedFiles: readonly string[]): Promise<RepositoryIdentity> {
  const abs = path.resolve(root);
  let gitCommit: string | null = null,
    gitDirty: boolean | null = null;
  if (await isGitWorkTreeRoot(abs)) {
    gitCommit = (await gitOutput(abs, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).catch(() => '')).trim() || null;
    if (gitCommit) gitDirty = (await gitOutput(abs, ['status', '--porcelain']).catch(() => '')).trim() !== '';
  }
  return { path: abs, gitCommit, gitDirty, contentSha256: filesContentSha256(abs, encodedFiles) };
}

export function buildProvenance(o: {
  hyperDir: string;
  headSha256: string;
  training: Record<string, unknown> | null;
  modelDir: string;
  baseSha256: string;
  repository: RepositoryIdentity;
  embedding: RepoEmbedding;
  lora: LoraConfig;
  seconds: number;
  now?: Date;
}): AdapterProvenance {
  const e = o.embedding;
  return {
    format: PROVENANCE_FORMAT,
    version: 1,
    created: (o.now ?? new Date()).toISOString(),
    code2lora: code2loraVersion(),
    hypernetwork: { dir: path.resolve(o.hyperDir), headSha256: o.headSha256, training: o.training },
    baseModel: { dir: path.resolve(o.modelDir), sha256: o.baseSha256 },
    repository: o.repository,
    encoding: {
      files: e.files,
      windows: e.windows,
      cached: e.cached,
      found: e.found,
      testFilesExcluded: e.testFilesExcluded,
      cappedFiles: e.cappedFiles,
      cappedWindows: e.cappedWindows,
      skipped: e.skipped,
      corruptCacheEntries: e.corrupt,
    },
    lora: { rank: o.lora.rank, alpha: o.lora.alpha, targetModules: [...o.lora.targetModules] },
    seconds: o.seconds,
  };
}

/** Writes code2lora-provenance.json into `dir` atomically. */
export function writeProvenance(dir: string, p: AdapterProvenance): void {
  writeFileAtomicSync(path.join(dir, PROVENANCE_FILE), `${JSON.stringify(p, null, 2)}\n`);
}

/** Reads a provenance file back, checking its format; null when the adapter has none. */
export function readProvenance(dir: string): AdapterProvenance | null {
  const file = path.join(dir, PROVENANCE_FILE);
  if (!fs.existsSync(file)) return null;
  let p: AdapterProvenance;
  try {
    p = JSON.parse(fs.readFileSync(file, 'utf8')) as AdapterProvenance;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (p?.format !== PROVENANCE_FORMAT) throw new Error(`${file}: format is ${JSON.stringify(p?.format)}, expected "${PROVENANCE_FORMAT}"`);
  if (p.version !== 1) throw new Error(`${file}: version ${JSON.stringify(p.version)} is not supported (expected 1)`);
  return p;
}
