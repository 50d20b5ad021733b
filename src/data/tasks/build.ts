// `tasks build`: corpus manifest -> static-track tasks -> splits -> <out>/<split>.jsonl + stats.json.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeLinesAtomic } from '../../util/atomic.js';
import { readManifest } from '../manifest.js';
import { loadPythonParser } from '../python/parser.js';
import { isTestFile, listPythonFiles } from '../python/files.js';
import { defaultSourceLimits, readPythonSource, type SourceLimits } from '../python/source.js';
import { defaultExtractConfig, extractFileTasks, validateExtractConfig, type ExtractConfig } from './extract.js';
import { assignRepos, defaultSplitConfig, splitInRepo, validateSplitConfig, type SplitConfig } from './splits.js';
import { computeStats, type TaskStats } from './stats.js';
import { DROP_REASONS, FILE_SKIPS, STATIC_SPLITS, zeroCounts, type DropReason, type FileSkip, type SplitName, type Task } from './types.js';

export interface BuildConfig {
  corpusDir: string;
  outDir: string;
  split: SplitConfig;
  extract: ExtractConfig;
  sourceLimits: SourceLimits;
  /** Only these projects (by manifest name); empty = all. */
  only: string[];
}

export function defaultBuildConfig(): BuildConfig {
  return { corpusDir: '.cache/corpus', outDir: '.cache/tasks', split: defaultSplitConfig(), extract: defaultExtractConfig(), sourceLimits: defaultSourceLimits(), only: [] };
}

export function validateBuildConfig(c: BuildConfig): BuildConfig {
  if (!c.corpusDir) throw new Error('BuildConfig.corpusDir: required');
  if (!c.outDir) throw new Error('BuildConfig.outDir: required');
  return Object.freeze({ ...c, split: validateSplitConfig(c.split), extract: validateExtractConfig(c.extract), only: [...c.only] });
}

export interface BuildEvents {
  onProgress?: (p: { done: number; total: number; repo: string; tasks: number }) => void;
  onWarn?: (msg: string) => void;
}

export interface BuildReport {
  outDir: string;
  files: Record<string, string>;
  stats: TaskStats;
  seconds: number;
  /** Up to 20 examples of skipped files, with the reason. */
  skippedExamples: string[];
}

export interface BuildOptions {
  countTokens?: (text: string) => number;
}

/** Build the static track from the corpus at cfg.corpusDir. */
export async function buildStaticTasks(config: BuildConfig, events: BuildEvents = {}, opts: BuildOptions = {}): Promise<BuildReport> {
  const cfg = validateBuildConfig(config);
  const t0 = performance.now();
  const corpusDir = path.resolve(cfg.corpusDir);
  const manifest = await readManifest(corpusDir);
  if (manifest.projects.length === 0) throw new Error(`${path.join(corpusDir, 'manifest.json')}: no projects (run \`code2lora corpus fetch\` or \`corpus add\` first)`);
  const projects = cfg.only.length ? manifest.projects.filter((p) => cfg.only.includes(p.name)) : manifest.projects;
  for (const name of cfg.only) if (!projects.some((p) => p.name === name)) throw new Error(`tasks build: project ${JSON.stringify(name)} is not in ${corpusDir}/manifest.json`);
  const parser = await loadPythonParser();

  const byRepo = new Map<string, Task[]>();
  const dropped = zeroCounts(DROP_REASONS) as Record<DropReason, number>;
  const skipped = zeroCounts(FILE_SKIPS) as Record<FileSkip, number>;
  const examples: string[] = [];
  let testFiles = 0;
  let read = 0;
  let done = 0;
  for (const p of projects) {
    const root = path.join(corpusDir, p.dir);
    const st = await fsp.stat(root).catch(() => null);
    if (!st?.isDirectory()) {
      events.onWarn?.(`${p.name}: ${root} is missing (fetch or add it again); skipped`);
      done++;
      continue;
    }
    const tasks: Task[] = [];
    for (const rel of (await listPythonFiles(root)).filter(isTestFile)) {
      testFiles++;
      const src = await readPythonSource(path.join(root, rel), cfg.sourceLimits);
      if (!src.ok) {
        skipped[src.reason]++;
        if (examples.length < 20) examples.push(`${src.reason}: ${p.name}/${rel}`);
        continue;
      }
      const r = extractFileTasks(parser, src.text, p.name, rel, cfg.extract);
      if (!r.ok) {
        skipped[r.reason]++;
        if (examples.length < 20) examples.push(`${r.reason}: ${r.detail}`);
        continue;
      }
      read++;
      for (const k of DROP_REASONS) dropped[k] += r.dropped[k];
      for (const t of r.tasks) tasks.push(t);
    }
    if (tasks.length > 0) byRepo.set(p.name, tasks);
    done++;
    events.onProgress?.({ done, total: projects.length, repo: p.name, tasks: tasks.length });
  }

  const roles = assignRepos([...byRepo.keys()], cfg.split);
  const splits: Record<SplitName, Task[]> = { train: [], 'ir-val': [], 'ir-test': [], 'cr-val': [], 'cr-test': [] };
  const repoCounts: Record<string, number> = { total: byRepo.size, train: 0, 'cr-val': 0, 'cr-test': 0 };
  for (const repo of [...byRepo.keys()].sort()) {
    const tasks = byRepo.get(repo) as Task[];
    const role = roles.get(repo) ?? 'train';
    repoCounts[role] = (repoCounts[role] ?? 0) + 1;
    if (role !== 'train') { splits[role].push(...tasks); continue; }
    const s = splitInRepo(tasks, repo, cfg.split);
    splits.train.push(...s.train);
    splits['ir-val'].push(...s['ir-val']);
    splits['ir-test'].push(...s['ir-test']);
  }

  const outDir = path.resolve(cfg.outDir);
  await fsp.mkdir(outDir, { recursive: true });
  const files: Record<string, string> = {};
  for (const name of STATIC_SPLITS) {
    const f = path.join(outDir, `${name}.jsonl`);
    await writeLinesAtomic(f, (function* () { for (const t of splits[name]) yield JSON.stringify(t); })());
    files[name] = f;
  }
  const stats = computeStats(splits, repoCounts, { ...(opts.countTokens ? { countTokens: opts.countTokens } : {}), seed: cfg.split.seed });
  stats.files = { test: testFiles, read, skipped: Object.fromEntries(Object.entries(skipped).filter(([, v]) => v > 0)) };
  stats.dropped = dropped;
  const statsFile = path.join(outDir, 'stats.json');
  await writeFileAtomic(statsFile, `${JSON.stringify({ track: 'static', corpus: corpusDir, split: cfg.split, ...stats }, null, 2)}\n`);
  files.stats = statsFile;
  return { outDir, files, stats, seconds: (performance.now() - t0) / 1000, skippedExamples: examples };
}
