// `tasks evo`: the evolution track from local git repositories.
// Walk each repository's first-parent history oldest first; a commit is kept when its test files
// gain assertions that were not there before (new or changed statements); it yields at most
// `maxTasksPerCommit` tasks whose prefix is the whole test file up to the cut; its production-code
// diff (`git diff -U3` from the previous kept commit) is stored once in commits.jsonl.
// Splits: cross-repo by repository (seeded), in-repo chronological 80/10/10 over kept commits.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeLinesAtomic } from '../../util/atomic.js';
import { Rng } from '../../util/rng.js';
import { loadPythonParser, withTree, type PythonParser } from '../python/parser.js';
import { isTestFile } from '../python/files.js';
import { decodePython, defaultSourceLimits, type SourceLimits } from '../python/source.js';
import { findAssertions } from '../tasks/assertions.js';
import { applyFilters, collapse, defaultFilterConfig, validateFilterConfig, type FilterConfig } from '../tasks/filters.js';
import { taskId } from '../tasks/extract.js';
import { assignRepos, chronologicalRoles, defaultSplitConfig, validateSplitConfig, type SplitConfig } from '../tasks/splits.js';
import { computeStats, type TaskStats } from '../tasks/stats.js';
import { STATIC_SPLITS, type CommitRecord, type EvoTask, type SplitName } from '../tasks/types.js';
import { GitObjectReader, gitBuffer, gitOutput } from '../../util/git.js';
import { firstParentHistory, isNullSha, resolveRev } from './history.js';
import { productionPathspecs } from './paths.js';

export interface EvoConfig {
  repos: string[];
  outDir: string;
  /** Revision whose first-parent history is walked. */
  rev: string;
  /** Walk only the newest N first-parent commits (0 = the whole history). */
  maxCommits: number;
  maxTasksPerCommit: number;
  /** A commit diff longer than this (UTF-8 bytes) is cut and flagged. */
  maxDiffBytes: number;
  /** Repositories walked at the same time. */
  concurrency: number;
  split: SplitConfig;
  filter: FilterConfig;
  sourceLimits: SourceLimits;
}

export function defaultEvoConfig(): EvoConfig {
  return {
    repos: [],
    outDir: '.cache/tasks-evo',
    rev: 'HEAD',
    maxCommits: 0,
    maxTasksPerCommit: 8,
    maxDiffBytes: 1024 * 1024,
    concurrency: 2,
    split: defaultSplitConfig(),
    filter: defaultFilterConfig(),
    sourceLimits: defaultSourceLimits(),
  };
}

export function validateEvoConfig(c: EvoConfig): EvoConfig {
  if (c.repos.length === 0) throw new Error('EvoConfig.repos: at least one repository path');
  if (!c.outDir) throw new Error('EvoConfig.outDir: required');
  if (!c.rev || /^-/.test(c.rev)) throw new Error(`EvoConfig.rev: not a revision: ${JSON.stringify(c.rev)}`);
  for (const k of ['maxTasksPerCommit', 'maxDiffBytes', 'concurrency'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`EvoConfig.${k}: expected a positive integer, got ${c[k]}`);
  }
  if (!Number.isInteger(c.maxCommits) || c.maxCommits < 0)
    throw new Error(`EvoConfig.maxCommits: expected an integer >= 0, got ${c.maxCommits}`);
  return Object.freeze({ ...c, repos: [...c.repos], split: validateSplitConfig(c.split), filter: validateFilterConfig(c.filter) });
}

export interface EvoEvents {
  onProgress?: (p: { repo: string; done: number; total: number; kept: number }) => void;
  onWarn?: (msg: string) => void;
}

export interface RepoHistory {
  repo: string;
  path: string;
  commitsWalked: number;
  commits: CommitRecord[];
  tasks: EvoTask[];
  /** Test-file versions that could not be read or parsed. */
  skippedFiles: number;
}

export interface EvoReport {
  outDir: string;
  files: Record<string, string>;
  repos: { repo: string; path: string; commitsWalked: number; keptCommits: number; tasks: number; role: string }[];
  skipped: { path: string; reason: string }[];
  stats: TaskStats & { commits: Record<string, number> };
  seconds: number;
}

/** Statement multiset of a file version: collapsed assertion statement -> count. */
type Keys = Map<string, number>;

function statementKeys(parser: PythonParser, src: string): Keys | null {
  return withTree(parser, src, (tree) => {
    if (tree.rootNode.hasError) return null;
    const keys: Keys = new Map();
    for (const f of findAssertions(tree.rootNode, src)) {
      const k = collapse(f.stmt.text);
      keys.set(k, (keys.get(k) ?? 0) + 1);
    }
    return keys;
  });
}

/** The empty tree's id in this repository's hash (stdin is /dev/null). */
async function emptyTree(dir: string): Promise<string> {
  return (await gitOutput(dir, ['hash-object', '-t', 'tree', '--stdin'])).trim();
}

/** The production-code diff between two commits (or the empty tree), cut at maxBytes at a line end. */
export async function productionDiff(
  dir: string,
  from: string,
  to: string,
  maxBytes: number,
): Promise<{ diff: string; truncated: boolean }> {
  const all = await gitBuffer(
    dir,
    ['diff', '-U3', '--no-color', '--no-ext-diff', '--no-renames', from, to, '--', ...productionPathspecs()],
    { maxBytes: 1024 * 1024 * 1024 },
  );
  if (all.length <= maxBytes) return { diff: all.toString('utf8'), truncated: false };
  // Cut at a line boundary, never inside a UTF-8 sequence.
  let cut = all.lastIndexOf(10, maxBytes);
  if (cut < 0) cut = maxBytes;
  return { diff: all.subarray(0, cut + 1).toString('utf8'), truncated: true };
}

/** A repository's name: its folder's, or the parent's for `.git`, `repo` and `*.git` bare folders. */
export function repoName(dir: string): string {
  let base = path.basename(dir);
  if (base === '.git' || base === 'repo' || base === 'repo.git') base = path.basename(path.dirname(dir));
  base = base
    .replace(/\.git$/, '')
    .replace(/[^A-Za-z0-9._+-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return base || 'repo';
}

/** Walk one repository and build its evolution tasks and commit records (no splitting). */
export async function walkRepository(
  dir: string,
  repo: string,
  cfg: EvoConfig,
  parser: PythonParser,
  onCommit?: (done: number, total: number, kept: number) => void,
): Promise<RepoHistory> {
  const head = await resolveRev(dir, cfg.rev);
  if (!head) throw new Error(`${dir}: empty repository (no commit at ${cfg.rev})`);
  const history = await firstParentHistory(dir, head, cfg.maxCommits);
  const reader = new GitObjectReader(dir);
  const lastKeys = new Map<string, { blob: string; keys: Keys | null }>();
  const out: RepoHistory = { repo, path: dir, commitsWalked: history.length, commits: [], tasks: [], skippedFiles: 0 };
  const readBlob = async (blob: string): Promise<string | null> => {
    const b = await reader.read(blob);
    if (!b || b.length > cfg.sourceLimits.maxBytes) return null;
    const d = decodePython(b);
    return 'text' in d ? d.text : null;
  };
  const keysOf = async (path: string, blob: string): Promise<Keys | null> => {
    const last = lastKeys.get(path);
    if (last && last.blob === blob) return last.keys;
    const text = await readBlob(blob);
    return text === null ? null : statementKeys(parser, text);
  };
  let prevKept: string | null = null;
  let empty: string | null = null;
  try {
    for (const [ci, c] of history.entries()) {
      const tests = c.changes.filter((ch) => isTestFile(ch.path));
      // What the commit's test files held before: one pool over all of them, so an assertion moved
      // from one file to another (or a renamed file) is not mistaken for a new one.
      const pool: Keys = new Map();
      const unknownOld = new Set<string>();
      for (const ch of tests) {
        if (isNullSha(ch.oldBlob)) continue;
        const keys = await keysOf(ch.path, ch.oldBlob);
        if (keys === null) {
          unknownOld.add(ch.path);
          continue;
        }
        for (const [k, n] of keys) pool.set(k, (pool.get(k) ?? 0) + n);
      }
      const fresh: EvoTask[] = [];
      for (const ch of tests) {
        if (isNullSha(ch.newBlob) || ch.status === 'D') {
          lastKeys.delete(ch.path);
          continue;
        }
        const text = await readBlob(ch.newBlob);
        if (text === null) {
          out.skippedFiles++;
          lastKeys.set(ch.path, { blob: ch.newBlob, keys: null });
          continue;
        }
        const made = withTree(parser, text, (tree) => {
          if (tree.rootNode.hasError) return null;
          const found = findAssertions(tree.rootNode, text);
          const keys: Keys = new Map();
          for (const f of found) {
            const k = collapse(f.stmt.text);
            keys.set(k, (keys.get(k) ?? 0) + 1);
          }
          const tasks: EvoTask[] = [];
          for (const k of applyFilters(found, text, cfg.filter).kept) {
            const n = pool.get(k.statement) ?? 0;
            if (n > 0) {
              pool.set(k.statement, n - 1);
              continue;
            } // the assertion was already there
            tasks.push({
              id: `${taskId(repo, ch.path, k.line, k.targetStart - text.lastIndexOf('\n', k.targetStart - 1) - 1)}@${c.sha.slice(0, 12)}`,
              repo,
              file: ch.path,
              line: k.line,
              family: k.family,
              prefix: text.slice(0, k.targetStart),
              target: k.target,
              function: k.host.name,
              commit: c.sha,
              commitIndex: -1,
            });
          }
          return { keys, tasks };
        });
        if (!made) {
          out.skippedFiles++;
          lastKeys.set(ch.path, { blob: ch.newBlob, keys: null });
          continue;
        }
        lastKeys.set(ch.path, { blob: ch.newBlob, keys: made.keys });
        // An unreadable old version tells nothing about what changed in this file.
        if (!unknownOld.has(ch.path)) fresh.push(...made.tasks);
      }
      if (fresh.length > 0) {
        let chosen = fresh;
        if (fresh.length > cfg.maxTasksPerCommit) {
          const order = new Rng(cfg.split.seed).fork(`evo:${repo}:${c.sha}`).shuffle(fresh.map((_, i) => i));
          const keep = new Set(order.slice(0, cfg.maxTasksPerCommit));
          chosen = fresh.filter((_, i) => keep.has(i));
        }
        const index = out.commits.length;
        for (const t of chosen) t.commitIndex = index;
        let from = prevKept ?? c.parent;
        if (!from) from = empty ??= await emptyTree(dir);
        const d = await productionDiff(dir, from, c.sha, cfg.maxDiffBytes);
        out.commits.push({ repo, commit: c.sha, index, diff: d.diff, diffTruncated: d.truncated, date: c.date });
        out.tasks.push(...chosen);
        prevKept = c.sha;
      }
      onCommit?.(ci + 1, history.length, out.commits.length);
    }
  } finally {
    reader.close();
  }
  return out;
}

/** Build the evolution track for cfg.repos into cfg.outDir. */
export async function buildEvoTasks(
  config: EvoConfig,
  events: EvoEvents = {},
  opts: { countTokens?: (s: string) => number } = {},
): Promise<EvoReport> {
  const cfg = validateEvoConfig(config);
  const t0 = performance.now();
  const parser = await loadPythonParser();
  // Names first (deterministic), then up to `concurrency` repositories walked at once: git's own
  // work overlaps with parsing on the main thread.
  const used = new Set<string>();
  const jobs = cfg.repos.map((p) => {
    const dir = path.resolve(p);
    const base = repoName(dir);
    let repo = base;
    for (let k = 2; used.has(repo); k++) repo = `${base}-${k}`;
    used.add(repo);
    return { dir, repo };
  });
  const results: ({ ok: RepoHistory } | { err: string })[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      const { dir, repo } = jobs[i] as { dir: string; repo: string };
      try {
        results[i] = {
          ok: await walkRepository(dir, repo, cfg, parser, (done, total, kept) => events.onProgress?.({ repo, done, total, kept })),
        };
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        results[i] = { err: reason };
        events.onWarn?.(reason);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.concurrency, jobs.length) }, worker));
  const histories: RepoHistory[] = [];
  const skipped: { path: string; reason: string }[] = [];
  results.forEach((r, i) => {
    const dir = (jobs[i] as { dir: string }).dir;
    if ('err' in r) skipped.push({ path: dir, reason: r.err });
    else if (r.ok.commits.length === 0)
      skipped.push({ path: dir, reason: `no commit adds or changes assertions (${r.ok.commitsWalked} walked)` });
    else histories.push(r.ok);
  });

  const roles = assignRepos(
    histories.map((h) => h.repo),
    cfg.split,
  );
  const splits: Record<SplitName, EvoTask[]> = { train: [], 'ir-val': [], 'ir-test': [], 'cr-val': [], 'cr-test': [] };
  const commitsBySplit: Record<string, number> = { train: 0, 'ir-val': 0, 'ir-test': 0, 'cr-val': 0, 'cr-test': 0 };
  const repoCounts: Record<string, number> = { total: histories.length, train: 0, 'cr-val': 0, 'cr-test': 0 };
  const commitSplit = new Map<string, SplitName>();
  for (const h of histories) {
    const role = roles.get(h.repo) ?? 'train';
    repoCounts[role] = (repoCounts[role] ?? 0) + 1;
    const chrono = chronologicalRoles(h.commits.length, cfg.split);
    h.commits.forEach((c, i) => {
      const s: SplitName = role === 'train' ? (chrono[i] as SplitName) : role;
      commitSplit.set(`${h.repo}\0${c.index}`, s);
      commitsBySplit[s] = (commitsBySplit[s] ?? 0) + 1;
    });
    for (const t of h.tasks) splits[commitSplit.get(`${h.repo}\0${t.commitIndex}`) as SplitName].push(t);
  }

  const outDir = path.resolve(cfg.outDir);
  await fsp.mkdir(outDir, { recursive: true });
  const files: Record<string, string> = {};
  for (const name of STATIC_SPLITS) {
    files[name] = path.join(outDir, `${name}.jsonl`);
    await writeLinesAtomic(
      files[name],
      (function* () {
        for (const t of splits[name]) yield JSON.stringify(t);
      })(),
    );
  }
  files.commits = path.join(outDir, 'commits.jsonl');
  await writeLinesAtomic(
    files.commits,
    (function* () {
      for (const h of histories) for (const c of h.commits) yield JSON.stringify({ ...c, split: commitSplit.get(`${h.repo}\0${c.index}`) });
    })(),
  );
  const base = computeStats(splits, repoCounts, { ...(opts.countTokens ? { countTokens: opts.countTokens } : {}), seed: cfg.split.seed });
  const stats = { ...base, commits: { ...commitsBySplit, total: histories.reduce((a, h) => a + h.commits.length, 0) } };
  const repos = histories.map((h) => ({
    repo: h.repo,
    path: h.path,
    commitsWalked: h.commitsWalked,
    keptCommits: h.commits.length,
    tasks: h.tasks.length,
    role: roles.get(h.repo) ?? 'train',
  }));
  files.stats = path.join(outDir, 'stats.json');
  await writeFileAtomic(
    files.stats,
    `${JSON.stringify({ track: 'evolution', split: cfg.split, maxTasksPerCommit: cfg.maxTasksPerCommit, ...stats, repoDetails: repos, skipped }, null, 2)}\n`,
  );
  return { outDir, files, repos, skipped, stats, seconds: (performance.now() - t0) / 1000 };
}
