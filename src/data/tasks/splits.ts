// Splits, all deterministic from one seed:
//  - cross-repo (CR): whole repositories held out for validation and test;
//  - in-repo (IR), static track: each training repository's tasks shuffled and cut 8:1:1;
//  - in-repo, evolution track: each repository's kept commits cut chronologically 80/10/10.
import { Rng } from '../../util/rng.js';
import type { SplitName } from './types.js';

export interface SplitConfig {
  seed: number;
  /** Cross-repo test repositories: a fraction of all (< 1) or a count (>= 1). */
  crTest: number;
  /** Cross-repo validation repositories: a fraction (< 1) or a count (>= 1). */
  crVal: number;
  /** In-repo validation share of each training repository's tasks (or commits). */
  irVal: number;
  /** In-repo test share. */
  irTest: number;
}

export function defaultSplitConfig(): SplitConfig {
  return { seed: 0, crTest: 0.1, crVal: 0.1, irVal: 0.1, irTest: 0.1 };
}

export function validateSplitConfig(c: SplitConfig): SplitConfig {
  if (!Number.isInteger(c.seed)) throw new Error(`SplitConfig.seed: expected an integer, got ${c.seed}`);
  for (const k of ['crTest', 'crVal'] as const) {
    const v = c[k];
    if (!(v >= 0) || (v >= 1 && !Number.isInteger(v)))
      throw new Error(`SplitConfig.${k}: expected a fraction in [0,1) or a whole count, got ${v}`);
  }
  for (const k of ['irVal', 'irTest'] as const) {
    if (!(c[k] >= 0 && c[k] < 1)) throw new Error(`SplitConfig.${k}: expected a fraction in [0,1), got ${c[k]}`);
  }
  if (c.irVal + c.irTest >= 1) throw new Error(`SplitConfig: irVal + irTest must leave tasks for training, got ${c.irVal} + ${c.irTest}`);
  return Object.freeze({ ...c });
}

export type RepoRole = 'train' | 'cr-val' | 'cr-test';

function howMany(spec: number, n: number): number {
  return spec >= 1 ? spec : Math.round(spec * n);
}

/** Assign each repository a role. At least one repository always stays in training. */
export function assignRepos(repos: string[], cfg: SplitConfig): Map<string, RepoRole> {
  const names = [...new Set(repos)].sort();
  new Rng(cfg.seed).fork('cr-split').shuffle(names);
  let nTest = howMany(cfg.crTest, names.length);
  let nVal = howMany(cfg.crVal, names.length);
  while (nTest + nVal >= names.length && nTest + nVal > 0) {
    if (nVal >= nTest && nVal > 0) nVal--;
    else nTest--;
  }
  const out = new Map<string, RepoRole>();
  names.forEach((r, i) => out.set(r, i < nTest ? 'cr-test' : i < nTest + nVal ? 'cr-val' : 'train'));
  return out;
}

/** Static IR split of one training repository's items: a seeded 8:1:1 by default; order is kept within each split. */
export function splitInRepo<T>(items: T[], repo: string, cfg: SplitConfig): Record<'train' | 'ir-val' | 'ir-test', T[]> {
  const idx = items.map((_, i) => i);
  new Rng(cfg.seed).fork(`ir:${repo}`).shuffle(idx);
  const nTest = Math.round(items.length * cfg.irTest);
  const nVal = Math.round(items.length * cfg.irVal);
  const role = new Array<SplitName>(items.length);
  idx.forEach((k, i) => {
    role[k] = i < nTest ? 'ir-test' : i < nTest + nVal ? 'ir-val' : 'train';
  });
  const out: Record<'train' | 'ir-val' | 'ir-test', T[]> = { train: [], 'ir-val': [], 'ir-test': [] };
  items.forEach((t, i) => out[role[i] as 'train' | 'ir-val' | 'ir-test'].push(t));
  return out;
}

/**
 * Chronological IR split over `n` kept commits (index 0 = oldest): the last irTest share is test,
 * the share before it validation, the rest training. With 3 or more commits each part gets at least one.
 */
export function chronologicalRoles(n: number, cfg: SplitConfig): ('train' | 'ir-val' | 'ir-test')[] {
  let nTest = Math.round(n * cfg.irTest);
  let nVal = Math.round(n * cfg.irVal);
  if (n >= 3) {
    if (cfg.irTest > 0) nTest = Math.max(1, nTest);
    if (cfg.irVal > 0) nVal = Math.max(1, nVal);
  }
  while (nTest + nVal >= n && nTest + nVal > 0) {
    if (nVal >= nTest && nVal > 0) nVal--;
    else nTest--;
  }
  return Array.from({ length: n }, (_, i) => (i >= n - nTest ? 'ir-test' : i >= n - nTest - nVal ? 'ir-val' : 'train'));
}
