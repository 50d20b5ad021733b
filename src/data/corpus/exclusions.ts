// What extra pretraining data may never contain (issue: a stronger base without contamination).
// Two independent guards: by project name (benchmark projects of every split, evolution-track
// repositories) and by file content (SHA-256 of every benchmark test file and of every file of a
// cross-repo validation/test repository), since projects vendor each other's code and tests.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readManifest } from './manifest.js';
import { isTestFile, listPythonFiles } from '../python/files.js';
import { crossRepoRoles } from './source-files.js';

/** Debian names wrap upstream ones (python-click, python3-attrs, py-foo): compare the bare name. */
export function normalizeProjectName(name: string): string {
  let n = name.toLowerCase().trim();
  n = n.replace(/^.*\//, ''); // owner/name or a URL
  n = n.replace(/\.git$/, '');
  n = n.replace(/^(python3?|py)[-_.]/, '');
  return n.replace(/[-_.]+/g, '-');
}

/** Reads a names file: one name or repository URL per line, '#' comments. */
export function readNameList(file: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

export interface ContaminationGuard {
  /** normalized name -> why it is excluded (e.g. "benchmark cr-test", "evolution track") */
  names: Map<string, string>;
  /** sha256 hex of forbidden file contents -> where the original lives */
  hashes: Map<string, string>;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Builds the guard from the benchmark corpus, its task folder (for the cross-repo roles) and extra
 *  name lists (evolution-track repositories, the paper's repository pool). */
export async function buildContaminationGuard(
  benchmarkCorpus: string,
  taskDirs: readonly string[],
  extraNames: ReadonlyArray<{ name: string; why: string }>,
): Promise<ContaminationGuard> {
  const manifest = await readManifest(benchmarkCorpus);
  const roles = crossRepoRoles(taskDirs);
  const names = new Map<string, string>();
  const hashes = new Map<string, string>();
  for (const x of extraNames) names.set(normalizeProjectName(x.name), x.why);
  for (const p of manifest.projects) {
    const role = roles.get(p.name) ?? 'train';
    names.set(normalizeProjectName(p.name), `benchmark ${role} project ${p.name}`);
    const root = path.join(benchmarkCorpus, p.dir);
    for (const rel of await listPythonFiles(root)) {
      // every test file of every split; every file of a cross-repo repository
      if (role === 'train' && !isTestFile(rel)) continue;
      let data: Buffer;
      try {
        data = fs.readFileSync(path.join(root, rel));
      } catch {
        continue;
      }
      hashes.set(sha256Hex(data), `${p.name}/${rel}`);
    }
  }
  return { names, hashes };
}

/** Names in `projects` that the guard forbids, with the reason. */
export function forbiddenProjects(guard: ContaminationGuard, projects: readonly string[]): Array<{ project: string; why: string }> {
  const out: Array<{ project: string; why: string }> = [];
  for (const p of projects) {
    const why = guard.names.get(normalizeProjectName(p));
    if (why) out.push({ project: p, why });
  }
  return out;
}

export interface ExtraFiles {
  files: string[];
  /** the subset of `files` that are test files (RepoPeftBench's rule, isTestFile) */
  testFiles: string[];
  projects: Array<{ name: string; version: string; sha256: string | null; files: number; bytes: number }>;
  /** files dropped because their content equals a forbidden file */
  droppedByHash: Array<{ file: string; copyOf: string }>;
  /** files left out by the per-project byte cap */
  cappedFiles: number;
}

/** Every .py file (tests included) of an extra corpus, after the guard: refuses outright when the
 *  corpus holds a forbidden project (naming it), drops files whose content is forbidden, and keeps at
 *  most `maxBytesPerProject` per project (files in a seeded order) so no project dominates. */
export async function extraPretrainFiles(
  extraCorpus: string,
  guard: ContaminationGuard,
  o: { maxBytesPerProject: number; order: (name: string, files: string[]) => string[] },
): Promise<ExtraFiles> {
  const manifest = await readManifest(extraCorpus);
  const bad = forbiddenProjects(
    guard,
    manifest.projects.map((p) => p.name),
  );
  if (bad.length > 0) {
    const list = bad
      .slice(0, 10)
      .map((b) => `${b.project} (${b.why})`)
      .join(', ');
    throw new Error(
      `extra corpus ${extraCorpus} holds ${bad.length} forbidden project(s): ${list}${bad.length > 10 ? ', ...' : ''}; refetch it with \`corpus fetch --exclude-corpus\``,
    );
  }
  const out: ExtraFiles = { files: [], testFiles: [], projects: [], droppedByHash: [], cappedFiles: 0 };
  for (const p of manifest.projects) {
    const root = path.join(extraCorpus, p.dir);
    let bytes = 0,
      kept = 0;
    for (const rel of o.order(p.name, await listPythonFiles(root))) {
      const file = path.join(root, rel);
      let data: Buffer;
      try {
        data = fs.readFileSync(file);
      } catch {
        continue;
      }
      const copyOf = guard.hashes.get(sha256Hex(data));
      if (copyOf) {
        out.droppedByHash.push({ file: `${p.name}/${rel}`, copyOf });
        continue;
      }
      if (bytes + data.length > o.maxBytesPerProject) {
        out.cappedFiles++;
        continue;
      }
      bytes += data.length;
      kept++;
      out.files.push(file);
      if (isTestFile(rel)) out.testFiles.push(file);
    }
    out.projects.push({ name: p.name, version: p.version, sha256: p.sha256, files: kept, bytes });
  }
  return out;
}
