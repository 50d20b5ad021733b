// The corpus manifest: what makes a corpus reproducible (the data itself is never committed).
// <cache>/manifest.json, written atomically; one entry per project folder under <cache>/projects/.
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';

export type ProjectSource =
  | { kind: 'debian'; suite: string; package: string; url: string; size: number }
  | { kind: 'local'; path: string; commit: string | null };

export interface ProjectCounts {
  /** .py files in the project. */
  pythonFiles: number;
  /** Test files (test_*.py, *_test.py, under tests/ or test/). */
  testFiles: number;
  /** Test files skipped (unreadable, binary, not UTF-8, over the size cap, syntax errors). */
  skippedTestFiles: number;
  /** Assertion statements of the five families in the readable test files. */
  assertions: number;
}

export interface ProjectEntry extends ProjectCounts {
  name: string;
  version: string;
  /** Folder relative to the cache root, with '/'. */
  dir: string;
  /** Upstream tarball file name (Debian projects), else null. */
  tarball: string | null;
  sha256: string | null;
  source: ProjectSource;
}

export interface ArchiveInfo {
  baseUrl: string;
  suite: string;
  releaseDate: string;
  sourcesSha256: string;
  signers: string[];
}

export interface Manifest {
  format: 'code2lora-corpus';
  version: 1;
  updated: string;
  archive: ArchiveInfo | null;
  seed: number | null;
  projects: ProjectEntry[];
}

export const MANIFEST_FILE = 'manifest.json';

export function emptyManifest(): Manifest {
  return { format: 'code2lora-corpus', version: 1, updated: new Date(0).toISOString(), archive: null, seed: null, projects: [] };
}

export function manifestPath(cacheDir: string): string {
  return path.join(cacheDir, MANIFEST_FILE);
}

/** Read a manifest; a missing file is an empty manifest, a malformed one an error naming the file. */
export async function readManifest(cacheDir: string): Promise<Manifest> {
  const file = manifestPath(cacheDir);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyManifest();
    throw new Error(`${file}: cannot read: ${(err as Error).message}`);
  }
  return parseManifest(text, file);
}

/** readManifest for synchronous callers (pipeline stages). */
export function readManifestSync(cacheDir: string): Manifest {
  const file = manifestPath(cacheDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyManifest();
    throw new Error(`${file}: cannot read: ${(err as Error).message}`);
  }
  return parseManifest(text, file);
}

function parseManifest(text: string, file: string): Manifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  const o = m as Partial<Manifest>;
  if (o.format !== 'code2lora-corpus' || o.version !== 1 || !Array.isArray(o.projects)) {
    throw new Error(`${file}: not a code2lora corpus manifest (expected format "code2lora-corpus", version 1, projects[])`);
  }
  for (const [i, p] of o.projects.entries()) {
    if (typeof p?.name !== 'string' || typeof p.dir !== 'string' || p.dir.split('/').includes('..') || path.isAbsolute(p.dir)) {
      throw new Error(`${file}: projects[${i}]: needs a name and a relative dir inside the cache`);
    }
  }
  return o as Manifest;
}

export async function writeManifest(cacheDir: string, m: Manifest): Promise<string> {
  const file = manifestPath(cacheDir);
  const sorted = {
    ...m,
    updated: new Date().toISOString(),
    projects: [...m.projects].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
  await writeFileAtomic(file, `${JSON.stringify(sorted, null, 2)}\n`);
  return file;
}

/** Identity of a corpus's content: which projects, at which version and tarball (or commit). Unlike the
 *  manifest file's bytes it ignores when the corpus was fetched and which signed index vouched for it,
 *  so re-fetching the same tarballs on a fresh machine keeps every cached benchmark stage valid. */
export function corpusContentHash(m: Manifest): string {
  const projects = [...m.projects]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((p) => [p.name, p.version, p.dir, p.sha256, p.source?.kind === 'local' ? p.source.commit : null]);
  return createHash('sha256')
    .update(JSON.stringify({ format: m.format, version: m.version, projects }))
    .digest('hex');
}
