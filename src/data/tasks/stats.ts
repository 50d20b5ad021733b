// stats.json: repositories, tasks per split and family, median prefix/target lengths in characters
// and, given a token counter, in tokens (over a seeded sample when there are many tasks).
import { Rng } from '../../util/rng.js';
import { FAMILIES, TARGET_KINDS, zeroCounts, type Family, type FileSkip, type TargetKind, type Task } from './types.js';

export interface LengthStats {
  prefixChars: number;
  targetChars: number;
  prefixTokens?: number;
  targetTokens?: number;
  /** Tasks whose tokens were counted. */
  tokenSample?: number;
}

export interface TaskStats {
  repos: Record<string, number>;
  tasks: Record<string, number>;
  families: Record<Family, number>;
  familiesBySplit: Record<string, Record<Family, number>>;
  median: LengthStats;
  medianBySplit: Record<string, LengthStats>;
  files?: { test: number; read: number; skipped: Partial<Record<FileSkip, number>> };
  /** Candidates the extraction rules looked at. */
  candidates?: number;
  /** Candidates each extraction rule refused. */
  dropped?: Record<string, number>;
  /** Per-repository selection: its caps, tasks before it per split, and what each cap removed. */
  selection?: {
    config: { maxPerFunction: number; maxPerFile: number; maxPerRepo: number };
    extracted: Record<string, number>;
    removed: Record<string, number>;
    removedByRole: Record<string, Record<string, number>>;
  };
  /** Repository names per role (train, cr-val, cr-test), sorted. */
  repoRoles?: Record<string, string[]>;
  /** Target kinds overall and per split (tasks without a kind are not counted). */
  kinds?: { total: Record<TargetKind, number>; bySplit: Record<string, Record<TargetKind, number>> };
}

export function kindCounts(splits: Record<string, Task[]>): NonNullable<TaskStats['kinds']> {
  const total = zeroCounts(TARGET_KINDS);
  const bySplit: Record<string, Record<TargetKind, number>> = {};
  for (const [name, ts] of Object.entries(splits)) {
    const k = zeroCounts(TARGET_KINDS);
    for (const t of ts)
      if (t.kind) {
        k[t.kind]++;
        total[t.kind]++;
      }
    bySplit[name] = k;
  }
  return { total, bySplit };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export interface StatsOptions {
  countTokens?: (text: string) => number;
  /** Most tasks tokenised for the overall medians (seeded sample; default 2000). */
  tokenSample?: number;
  /** Most tasks tokenised per split (default 500). */
  tokenSamplePerSplit?: number;
  seed?: number;
}

function lengths(tasks: Task[], opts: StatsOptions, name: string, cap: number): LengthStats {
  const out: LengthStats = {
    prefixChars: median(tasks.map((t) => t.prefix.length)),
    targetChars: median(tasks.map((t) => t.target.length)),
  };
  if (opts.countTokens && tasks.length > 0 && cap > 0) {
    const sample =
      tasks.length <= cap
        ? tasks
        : new Rng(opts.seed ?? 0)
            .fork(`tokens:${name}`)
            .shuffle([...tasks])
            .slice(0, cap);
    out.prefixTokens = median(sample.map((t) => (opts.countTokens as (s: string) => number)(t.prefix)));
    out.targetTokens = median(sample.map((t) => (opts.countTokens as (s: string) => number)(t.target)));
    out.tokenSample = sample.length;
  }
  return out;
}

/** Statistics of tasks grouped by split; `repoRoles` counts repositories per role. */
export function computeStats(splits: Record<string, Task[]>, repoCounts: Record<string, number>, opts: StatsOptions = {}): TaskStats {
  const all = Object.values(splits).flat();
  const familiesBySplit: Record<string, Record<Family, number>> = {};
  const tasks: Record<string, number> = {};
  const medianBySplit: Record<string, LengthStats> = {};
  const families = zeroCounts(FAMILIES);
  for (const [name, ts] of Object.entries(splits)) {
    tasks[name] = ts.length;
    const f = zeroCounts(FAMILIES);
    for (const t of ts) {
      f[t.family]++;
      families[t.family]++;
    }
    familiesBySplit[name] = f;
    medianBySplit[name] = lengths(ts, opts, name, opts.tokenSamplePerSplit ?? 500);
  }
  tasks.total = all.length;
  return {
    repos: repoCounts,
    tasks,
    families,
    familiesBySplit,
    median: lengths(all, opts, 'all', opts.tokenSample ?? 2000),
    medianBySplit,
  };
}
