// The filters of METHOD.md §2, shared by the static and evolution tracks: drop module-level asserts,
// malformed targets, empty or punctuation-only targets, duplicate targets within one host function,
// and (optionally) targets over a length cap.
import type { Found, Host } from './assertions.js';
import { DROP_REASONS, zeroCounts, type DropReason, type Family } from './types.js';

export interface FilterConfig {
  /** Drop targets longer than this many characters; 0 keeps every length (the paper's setting). */
  maxTargetChars: number;
}

export function defaultFilterConfig(): FilterConfig {
  return { maxTargetChars: 0 };
}

export function validateFilterConfig(c: FilterConfig): FilterConfig {
  if (!Number.isInteger(c.maxTargetChars) || c.maxTargetChars < 0)
    throw new Error(`FilterConfig.maxTargetChars: expected an integer >= 0, got ${c.maxTargetChars}`);
  return Object.freeze({ ...c });
}

export interface KeptCut {
  family: Family;
  host: Host;
  targetStart: number;
  targetEnd: number;
  target: string;
  /** 1-based line of the target start. */
  line: number;
  /** The whole assertion statement, whitespace collapsed (identifies it across versions of a file). */
  statement: string;
}

export interface FilterResult {
  kept: KeptCut[];
  dropped: Record<DropReason, number>;
}

const ALNUM = /[\p{L}\p{N}]/u;

/** Whitespace-collapsed form, the key for duplicate detection. */
export function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

export function applyFilters(found: Found[], src: string, cfg: FilterConfig = defaultFilterConfig()): FilterResult {
  const dropped = zeroCounts(DROP_REASONS);
  const kept: KeptCut[] = [];
  const seen = new Map<Host, Set<string>>();
  for (const f of found) {
    if (!f.host) {
      dropped['module-level']++;
      continue;
    }
    const r = f.result;
    if ('malformed' in r) {
      dropped.malformed++;
      continue;
    }
    const target = src.slice(r.targetStart, r.targetEnd);
    const key = collapse(target);
    if (key === '') {
      dropped['empty-target']++;
      continue;
    }
    if (!ALNUM.test(key)) {
      dropped['punctuation-only']++;
      continue;
    }
    if (cfg.maxTargetChars > 0 && target.length > cfg.maxTargetChars) {
      dropped['target-too-long']++;
      continue;
    }
    let s = seen.get(f.host);
    if (!s) {
      s = new Set();
      seen.set(f.host, s);
    }
    if (s.has(key)) {
      dropped['duplicate-target']++;
      continue;
    }
    s.add(key);
    kept.push({
      family: r.family,
      host: f.host,
      targetStart: r.targetStart,
      targetEnd: r.targetEnd,
      target,
      line: f.stmt.startPosition.row + 1 + countNewlines(src, f.stmt.startIndex, r.targetStart),
      statement: collapse(f.stmt.text),
    });
  }
  return { kept, dropped };
}

function countNewlines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (s.charCodeAt(i) === 10) n++;
  return n;
}
