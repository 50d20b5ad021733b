// Shared flag parsing and output helpers for the subcommands.
import { writeFileAtomicSync } from '../util/atomic.js';

export function parseIntFlag(flag: string, v: string, min = 0): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}, got "${v}"`);
  return n;
}

/** A commander argument parser for an integer flag. */
export function intFlag(flag: string, min: number): (v: string) => number {
  return (v) => parseIntFlag(flag, v, min);
}

/** Writes a command's result as JSON (atomically) when --json FILE was given. */
export function writeJsonFile(file: string | undefined, result: unknown): void {
  if (!file) return;
  writeFileAtomicSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${file}`);
}
