// Balanced selection per repository, as the released builder (version 2) does it (METHOD.md §2):
//  1. at most maxPerFunction tasks per (file, test function), the best first;
//  2. at most maxPerFile per file, the best first;
//  3. duplicates of (file, target) dropped (the first kept);
//  4. when more than maxPerRepo remain: maxPerRepo slots allotted to target kinds in proportion to
//     their counts (floors, then the largest remainders), each kind filled with its best tasks.
// "Best" = single-line before multi-line, then shorter targets (Python len, code points); ties keep
// the input order (the sorts are stable). A cap of 0 means no cap.
import { pyLen } from '../../util/pystr.js';
import type { TargetKind } from './types.js';

export interface SelectConfig {
  maxPerFunction: number;
  maxPerFile: number;
  maxPerRepo: number;
}

export function defaultSelectConfig(): SelectConfig {
  return { maxPerFunction: 5, maxPerFile: 20, maxPerRepo: 200 };
}

/** No caps and no deduplication: every extracted task is kept. */
export function noSelectConfig(): SelectConfig {
  return { maxPerFunction: 0, maxPerFile: 0, maxPerRepo: 0 };
}

export function validateSelectConfig(c: SelectConfig): SelectConfig {
  for (const k of ['maxPerFunction', 'maxPerFile', 'maxPerRepo'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) throw new Error(`SelectConfig.${k}: expected an integer >= 0 (0 = no cap), got ${c[k]}`);
  }
  return Object.freeze({ ...c });
}

export function selectionEnabled(c: SelectConfig): boolean {
  return c.maxPerFunction > 0 || c.maxPerFile > 0 || c.maxPerRepo > 0;
}

/** What selection needs to know about a task. */
export interface Selectable {
  file: string;
  /** Bare name of the innermost function around the assertion. */
  testFunction: string;
  target: string;
  multiline: boolean;
  kind: TargetKind;
}

export const SELECT_DROPS = ['function-cap', 'file-cap', 'duplicate', 'repo-cap'] as const;
export type SelectDrop = (typeof SELECT_DROPS)[number];

export interface Selection<T> {
  kept: T[];
  removed: Record<SelectDrop, number>;
}

function groupBy<T>(items: T[], key: (t: T) => string): T[][] {
  const m = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const g = m.get(k);
    if (g) g.push(t);
    else m.set(k, [t]);
  }
  return [...m.values()];
}

/** Select one repository's tasks. `items` in extraction order; `info` describes each. */
export function selectBalanced<T>(items: T[], info: (t: T) => Selectable, config: SelectConfig = defaultSelectConfig()): Selection<T> {
  const cfg = validateSelectConfig(config);
  const removed: Record<SelectDrop, number> = { 'function-cap': 0, 'file-cap': 0, duplicate: 0, 'repo-cap': 0 };
  if (!selectionEnabled(cfg) || items.length === 0) return { kept: [...items], removed };
  const meta = new Map<T, { s: Selectable; len: number }>();
  for (const t of items) {
    const s = info(t);
    meta.set(t, { s, len: pyLen(s.target) });
  }
  const m = (t: T) => meta.get(t) as { s: Selectable; len: number };
  const best = (a: T, b: T): number => Number(m(a).s.multiline) - Number(m(b).s.multiline) || m(a).len - m(b).len;
  const cap = (groups: T[][], n: number): T[] => groups.flatMap((g) => (n > 0 ? [...g].sort(best).slice(0, n) : g));

  const byFunction = cap(
    groupBy(items, (t) => JSON.stringify([m(t).s.file, m(t).s.testFunction])),
    cfg.maxPerFunction,
  );
  removed['function-cap'] = items.length - byFunction.length;
  const byFile = cap(
    groupBy(byFunction, (t) => m(t).s.file),
    cfg.maxPerFile,
  );
  removed['file-cap'] = byFunction.length - byFile.length;
  const seen = new Set<string>();
  const unique = byFile.filter((t) => {
    const k = JSON.stringify([m(t).s.file, m(t).s.target]);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  removed.duplicate = byFile.length - unique.length;
  if (cfg.maxPerRepo === 0 || unique.length <= cfg.maxPerRepo) return { kept: unique, removed };

  const byKind = groupBy(unique, (t) => m(t).s.kind);
  const slots = byKind.map((g) => Math.trunc((cfg.maxPerRepo * g.length) / unique.length));
  const frac = byKind.map((g, i) => ({ i, f: (cfg.maxPerRepo * g.length) / unique.length - (slots[i] as number) }));
  frac.sort((a, b) => b.f - a.f);
  const remainder = cfg.maxPerRepo - slots.reduce((a, b) => a + b, 0);
  for (let r = 0; r < Math.min(remainder, frac.length); r++) (slots as number[])[(frac[r] as { i: number }).i]++;
  const kept = byKind.flatMap((g, i) => [...g].sort(best).slice(0, slots[i] as number));
  removed['repo-cap'] = unique.length - kept.length;
  return { kept, removed };
}
