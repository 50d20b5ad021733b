// `tasks build`: corpus manifest -> static-track tasks -> splits -> balanced selection per repository
// -> <out>/<split>.jsonl + stats.json. Selection runs after the split (repository roles, and the 8:1:1
// roles of each training repository's tasks, are decided on the extracted tasks), so the repository
// split does not depend on the selection.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../util/atomic.js';
import { readManifest } from '../manifest.js';
import { loadPythonParser } from '../python/parser.js';
import { isTestFile, listPythonFiles } from '../python/files.js';
import { defaultSourceLimits, readPythonSource, type SourceLimits } from '../python/source.js';
import { defaultExtractConfig, extractFileTasks, validateExtractConfig, type ExtractConfig } from './extract.js';
import { assignRepos, defaultSplitConfig, splitInRepo, validateSplitConfig, type SplitConfig } from './splits.js';
import { writeTaskFile } from './format.js';
import {
  defaultSelectConfig,
  noSelectConfig,
  selectBalanced,
  SELECT_DROPS,
  validateSelectConfig,
  type SelectConfig,
  type SelectDrop,
} from './select.js';
import { computeStats, kindCounts, type TaskStats } from './stats.js';
import { DROP_REASONS, FILE_SKIPS, RELEASED_DROPS, STATIC_SPLITS, zeroCounts, type FileSkip, type SplitName, type Task } from './types.js';

/** Version of the static-track builder; bump when the tasks it writes change for the same corpus. */
export const BUILDER_VERSION = 2;

export interface BuildConfig {
  corpusDir: string;
  outDir: string;
  split: SplitConfig;
  extract: ExtractConfig;
  /** Per-repository caps applied after the split (all 0: every task kept). */
  select: SelectConfig;
  sourceLimits: SourceLimits;
  /** Only these projects (by manifest name); empty = all. */
  only: string[];
}

export function defaultBuildConfig(): BuildConfig {
  return {
    corpusDir: '.cache/corpus',
    outDir: '.cache/tasks',
    split: defaultSplitConfig(),
    extract: defaultExtractConfig(),
    select: defaultSelectConfig(),
    sourceLimits: defaultSourceLimits(),
    only: [],
  };
}

/** The project's earlier behaviour, kept for comparison: legacy extraction rules, every task kept. */
export function legacyBuildConfig(): BuildConfig {
  const c = defaultBuildConfig();
  return { ...c, extract: { ...c.extract, rules: 'legacy' }, select: noSelectConfig() };
}

export function validateBuildConfig(c: BuildConfig): BuildConfig {
  if (!c.corpusDir) throw new Error('BuildConfig.corpusDir: required');
  if (!c.outDir) throw new Error('BuildConfig.outDir: required');
  return Object.freeze({
    ...c,
    split: validateSplitConfig(c.split),
    extract: validateExtractConfig(c.extract),
    select: validateSelectConfig(c.select),
    only: [...c.only],
  });
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
  if (manifest.projects.length === 0)
    throw new Error(`${path.join(corpusDir, 'manifest.json')}: no projects (run \`code2lora corpus fetch\` or \`corpus add\` first)`);
  const projects = cfg.only.length ? manifest.projects.filter((p) => cfg.only.includes(p.name)) : manifest.projects;
  for (const name of cfg.only)
    if (!projects.some((p) => p.name === name))
      throw new Error(`tasks build: project ${JSON.stringify(name)} is not in ${corpusDir}/manifest.json`);
  const parser = await loadPythonParser();

  const byRepo = new Map<string, Task[]>();
  const testFunction = new Map<Task, string>();
  const dropped = zeroCounts<string>(cfg.extract.rules === 'legacy' ? DROP_REASONS : RELEASED_DROPS);
  let candidates = 0;
  /** Repositories with at least one assertion candidate: the split is decided over these. */
  const splitRepos = new Set<string>();
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
      candidates += r.assertions;
      if (r.assertions > 0) splitRepos.add(p.name);
      for (const [k, v] of Object.entries(r.dropped)) dropped[k] = (dropped[k] ?? 0) + v;
      r.tasks.forEach((t, i) => {
        tasks.push(t);
        testFunction.set(t, r.testFunctions[i] ?? '');
      });
    }
    if (tasks.length > 0) byRepo.set(p.name, tasks);
    done++;
    events.onProgress?.({ done, total: projects.length, repo: p.name, tasks: tasks.length });
  }

  // The repository split is decided over every repository with an assertion candidate, whatever the
  // rules then keep: the same repositories land in train / cr-val / cr-test under either rule set.
  const roles = assignRepos([...splitRepos], cfg.split);
  const splits: Record<SplitName, Task[]> = { train: [], 'ir-val': [], 'ir-test': [], 'cr-val': [], 'cr-test': [] };
  const repoCounts: Record<string, number> = { total: roles.size, train: 0, 'cr-val': 0, 'cr-test': 0, withoutTasks: 0 };
  const repoRoles: Record<string, string[]> = { train: [], 'cr-val': [], 'cr-test': [] };
  for (const [repo, role] of [...roles].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    repoCounts[role] = (repoCounts[role] ?? 0) + 1;
    (repoRoles[role] as string[]).push(repo);
    if (!byRepo.has(repo)) (repoCounts.withoutTasks as number)++;
  }
  const removed = zeroCounts(SELECT_DROPS);
  const removedByRole: Record<string, Record<SelectDrop, number>> = {};
  const extractedBySplit = zeroCounts<string>(STATIC_SPLITS);
  for (const repo of [...byRepo.keys()].sort()) {
    const tasks = byRepo.get(repo) as Task[];
    const role = roles.get(repo) ?? 'train';
    // Roles first (the split), then the selection over the whole repository; each task keeps its role.
    const taskRole = new Map<Task, SplitName>();
    if (role !== 'train') for (const t of tasks) taskRole.set(t, role);
    else {
      const s = splitInRepo(tasks, repo, cfg.split);
      for (const k of ['train', 'ir-val', 'ir-test'] as const) for (const t of s[k]) taskRole.set(t, k);
    }
    for (const t of tasks) extractedBySplit[taskRole.get(t) as SplitName]++;
    const sel = selectBalanced(
      tasks,
      (t) => ({
        file: t.file,
        testFunction: testFunction.get(t) ?? t.function,
        target: t.target,
        multiline: t.multiline ?? t.target.includes('\n'),
        kind: t.kind ?? 'complex_expr',
      }),
      cfg.select,
    );
    const byRole = (removedByRole[role] ??= zeroCounts(SELECT_DROPS));
    for (const k of SELECT_DROPS) {
      removed[k] += sel.removed[k];
      byRole[k] += sel.removed[k];
    }
    const kept = new Set(sel.kept);
    for (const t of tasks) if (kept.has(t)) splits[taskRole.get(t) as SplitName].push(t); // extraction order
  }

  const outDir = path.resolve(cfg.outDir);
  await fsp.mkdir(outDir, { recursive: true });
  const files: Record<string, string> = {};
  for (const name of STATIC_SPLITS) {
    const f = path.join(outDir, `${name}.jsonl`);
    await writeTaskFile(f, splits[name]);
    files[name] = f;
  }
  const stats = computeStats(splits, repoCounts, { ...(opts.countTokens ? { countTokens: opts.countTokens } : {}), seed: cfg.split.seed });
  stats.files = { test: testFiles, read, skipped: Object.fromEntries(Object.entries(skipped).filter(([, v]) => v > 0)) };
  stats.candidates = candidates;
  stats.dropped = dropped;
  stats.selection = {
    config: { ...cfg.select },
    extracted: { ...extractedBySplit, total: Object.values(extractedBySplit).reduce((a, b) => a + b, 0) },
    removed,
    removedByRole,
  };
  stats.kinds = kindCounts(splits);
  stats.repoRoles = repoRoles;
  const header = buildManifest(cfg);
  const statsFile = path.join(outDir, 'stats.json');
  await writeFileAtomic(
    statsFile,
    `${JSON.stringify({ manifest: header, track: 'static', corpus: corpusDir, split: cfg.split, ...stats }, null, 2)}\n`,
  );
  files.stats = statsFile;
  return { outDir, files, stats, seconds: (performance.now() - t0) / 1000, skippedExamples: examples };
}

/** The header of stats.json: what produced these tasks (hash it to key downstream caches). */
export interface TasksManifest {
  builder: 'code2lora tasks build';
  version: number;
  rules: string;
  select: SelectConfig;
  split: BuildConfig['split'];
  prefix: BuildConfig['extract']['prefix'];
  /** Legacy rules only. */
  filter?: BuildConfig['extract']['filter'];
}

export function buildManifest(cfg: BuildConfig): TasksManifest {
  return {
    builder: 'code2lora tasks build',
    version: BUILDER_VERSION,
    rules: cfg.extract.rules,
    select: { ...cfg.select },
    split: { ...cfg.split },
    prefix: { ...cfg.extract.prefix },
    ...(cfg.extract.rules === 'legacy' ? { filter: { ...cfg.extract.filter } } : {}),
  };
}
