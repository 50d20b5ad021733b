// Bootstrap confidence intervals (percentile method) for a mean score, and for the mean difference
// between two methods scored on the same tasks (paired: one resample of task indices serves both).
// With `groups` (e.g. each task's repository) whole groups are resampled: a cluster bootstrap,
// honest when tasks of one repository are correlated. bootstrapGroupMean gives the per-repository
// average (mean over repositories of each repository's mean) with its repository-bootstrap interval.
import { Rng } from '../util/rng.js';

/** Resamples per interval unless told otherwise: the paper's 5,000. */
export const DEFAULT_SAMPLES = 5000;

export interface BootstrapOptions {
  /** Resamples (default 5000, the paper's setting). */
  samples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** Seed for the resampling (default 0); ignored when `rng` is given. */
  seed?: number;
  rng?: Rng;
  /** Group label per item: resample groups instead of items. */
  groups?: string[];
}

export interface Interval {
  /** The statistic on the original data. */
  estimate: number;
  lo: number;
  hi: number;
  level: number;
  samples: number;
  n: number;
}

export interface DiffInterval extends Interval {
  /** Share of resamples in which a beats b (difference > 0). */
  probAGreater: number;
}

/** Linear-interpolation quantile of sorted values (numpy's default). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

function check(values: number[], opts: BootstrapOptions, what: string): { samples: number; level: number; rng: Rng } {
  const samples = opts.samples ?? DEFAULT_SAMPLES;
  const level = opts.level ?? 0.95;
  if (!Number.isInteger(samples) || samples <= 0) throw new Error(`${what}: samples must be a positive integer, got ${samples}`);
  if (!(level > 0 && level < 1)) throw new Error(`${what}: level must be in (0, 1), got ${level}`);
  if (values.length === 0) throw new Error(`${what}: no values`);
  if (opts.groups && opts.groups.length !== values.length)
    throw new Error(`${what}: ${opts.groups.length} group labels for ${values.length} values`);
  for (const v of values) if (!Number.isFinite(v)) throw new Error(`${what}: non-finite value ${v}`);
  return { samples, level, rng: opts.rng ?? new Rng(opts.seed ?? 0).fork('bootstrap') };
}

/** Resampled means of `values` (items, or whole groups when `groups` is given). */
function resampledMeans(values: number[], samples: number, rng: Rng, groups?: string[]): number[] {
  const n = values.length;
  const out = new Array<number>(samples);
  if (!groups) {
    for (let s = 0; s < samples; s++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += values[rng.int(n)] as number;
      out[s] = sum / n;
    }
    return out;
  }
  const sums = new Map<string, { sum: number; count: number }>();
  values.forEach((v, i) => {
    const g = groups[i] as string;
    const e = sums.get(g);
    if (e) {
      e.sum += v;
      e.count++;
    } else sums.set(g, { sum: v, count: 1 });
  });
  const keys = [...sums.keys()].sort();
  const gs = keys.map((k) => sums.get(k) as { sum: number; count: number });
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    let count = 0;
    for (let i = 0; i < gs.length; i++) {
      const g = gs[rng.int(gs.length)] as { sum: number; count: number };
      sum += g.sum;
      count += g.count;
    }
    out[s] = sum / count;
  }
  return out;
}

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Bootstrap CI of the mean of `values` (e.g. per-task exact match 0/1). */
export function bootstrapMean(values: number[], opts: BootstrapOptions = {}): Interval {
  const { samples, level, rng } = check(values, opts, 'bootstrapMean');
  const means = resampledMeans(values, samples, rng, opts.groups).sort((x, y) => x - y);
  const alpha = (1 - level) / 2;
  return { estimate: mean(values), lo: quantile(means, alpha), hi: quantile(means, 1 - alpha), level, samples, n: values.length };
}

/** Paired bootstrap CI of mean(a) - mean(b) over the same tasks. */
export function bootstrapDiff(a: number[], b: number[], opts: BootstrapOptions = {}): DiffInterval {
  if (a.length !== b.length)
    throw new Error(`bootstrapDiff: ${a.length} scores for method a, ${b.length} for method b (must be the same tasks)`);
  const d = a.map((x, i) => x - (b[i] as number));
  const { samples, level, rng } = check(d, opts, 'bootstrapDiff');
  const means = resampledMeans(d, samples, rng, opts.groups).sort((x, y) => x - y);
  const alpha = (1 - level) / 2;
  const above = means.filter((m) => m > 0).length;
  return {
    estimate: mean(d),
    lo: quantile(means, alpha),
    hi: quantile(means, 1 - alpha),
    level,
    samples,
    n: d.length,
    probAGreater: above / samples,
  };
}

/** Mean of each group's values, groups in sorted order of their labels. */
export function groupMeans(values: number[], groups: string[]): { group: string; mean: number; n: number }[] {
  if (groups.length !== values.length) throw new Error(`groupMeans: ${groups.length} group labels for ${values.length} values`);
  const acc = new Map<string, { sum: number; n: number }>();
  values.forEach((v, i) => {
    const g = groups[i] as string;
    const e = acc.get(g);
    if (e) {
      e.sum += v;
      e.n++;
    } else acc.set(g, { sum: v, n: 1 });
  });
  return [...acc.keys()].sort().map((g) => {
    const e = acc.get(g) as { sum: number; n: number };
    return { group: g, mean: e.sum / e.n, n: e.n };
  });
}

/**
 * Per-group average: the mean over groups of each group's mean (every repository weighs the same),
 * with a bootstrap CI that resamples whole groups. `n` of the interval is the number of groups.
 */
export function bootstrapGroupMean(values: number[], groups: string[], opts: Omit<BootstrapOptions, 'groups'> = {}): Interval {
  if (values.length === 0) throw new Error('bootstrapGroupMean: no values');
  return bootstrapMean(
    groupMeans(values, groups).map((g) => g.mean),
    opts,
  );
}
