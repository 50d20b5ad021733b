// What RAG retrieves from: a repository cut into chunks. Production code: windows of whole lines.
// Test files: each function or method that holds an assertion (the "sibling assertions" that an
// independent re-implementation found the strongest retrieval source, METHOD.md section 6).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isTestFile, skipDir } from '../data/python/files.js';

export type ChunkKind = 'code' | 'test';
export interface Chunk {
  file: string;
  kind: ChunkKind;
  startLine: number;
  endLine: number;
  text: string;
}

export interface ChunkConfig {
  /** lines per production-code window */
  codeLines: number;
  /** lines two consecutive windows share */
  codeOverlap: number;
  /** a test function longer than this is cut to its first lines */
  maxTestLines: number;
  /** files larger than this are skipped (generated code, data) */
  maxFileBytes: number;
}

export function defaultChunkConfig(): ChunkConfig {
  return { codeLines: 24, codeOverlap: 8, maxTestLines: 32, maxFileBytes: 500_000 };
}

/** Relative paths of the .py files under root, sorted; links never followed. */
export function pythonFilesSync(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!skipDir(e.name)) walk(r);
      } else if (e.isFile() && e.name.endsWith('.py')) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** Line windows over production code; blank windows dropped. Lines are 1-based. */
export function codeChunks(file: string, text: string, c: ChunkConfig): Chunk[] {
  const lines = text.split('\n');
  const out: Chunk[] = [];
  const stride = Math.max(1, c.codeLines - c.codeOverlap);
  for (let s = 0; s < lines.length; s += stride) {
    const part = lines.slice(s, s + c.codeLines);
    if (part.some((l) => l.trim())) out.push({ file, kind: 'code', startLine: s + 1, endLine: s + part.length, text: part.join('\n') });
    if (s + c.codeLines >= lines.length) break;
  }
  return out;
}

const indentOf = (l: string) => l.length - l.trimStart().length;

/** Every `def` (any depth) whose body holds an assertion, as one chunk; nested defs stay inside. */
export function testChunks(file: string, text: string, c: ChunkConfig): Chunk[] {
  const lines = text.split('\n');
  const out: Chunk[] = [];
  let coveredTo = -1;
  for (let i = 0; i < lines.length; i++) {
    if (i <= coveredTo || !/^\s*(async\s+)?def\s/.test(lines[i])) continue;
    const ind = indentOf(lines[i]);
    let end = i + 1;
    while (end < lines.length && (!lines[end].trim() || indentOf(lines[end]) > ind)) end++;
    while (end > i + 1 && !lines[end - 1].trim()) end--;
    const body = lines.slice(i, end);
    if (!body.some((l) => /\bassert|pytest\.(raises|approx)/.test(l))) continue;
    const kept = body.slice(0, c.maxTestLines);
    out.push({ file, kind: 'test', startLine: i + 1, endLine: i + kept.length, text: kept.join('\n') });
    coveredTo = end - 1;
  }
  return out;
}

/** Chunks of one repository folder: production windows and assertion-bearing test functions. */
export function repoChunks(repoDir: string, kinds: readonly ChunkKind[], c: ChunkConfig = defaultChunkConfig()): Chunk[] {
  if (!existsSync(repoDir) || !statSync(repoDir).isDirectory()) throw new Error(`RAG: repository folder ${repoDir} does not exist`);
  const out: Chunk[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const rel of pythonFilesSync(repoDir)) {
    const test = isTestFile(rel);
    if (!kinds.includes(test ? 'test' : 'code')) continue;
    let text: string;
    try {
      if (statSync(join(repoDir, rel)).size > c.maxFileBytes) continue;
      text = decoder.decode(readFileSync(join(repoDir, rel)));
    } catch {
      continue; // not UTF-8: skipped, as the corpus layer does
    }
    out.push(...(test ? testChunks(rel, text, c) : codeChunks(rel, text, c)));
  }
  return out;
}
