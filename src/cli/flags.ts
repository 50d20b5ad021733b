// Shared flag parsing and output helpers for the subcommands. One style everywhere: commander parses
// each flag with an argument parser (intFlag, numberFlag) into a typed value, `--json [file]` means the
// same in every command, and `--threads` is the only place the native core's thread count is set.
import type { Command } from 'commander';
import { loadNative } from '../native/index.js';
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

/** A commander argument parser for a finite number flag >= min. */
export function numberFlag(flag: string, min = 0): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new Error(`${flag} must be a number >= ${min}, got "${v}"`);
    return n;
  };
}

/** The value of `--json [file]`: undefined (absent), true (bare: print on stdout) or a file name. */
export type JsonFlag = string | boolean | undefined;

/** Adds `--json [file]`: with a file, write `what` there as JSON; bare, print it as JSON on stdout instead of text. */
export function jsonOption(cmd: Command, what: string): Command {
  return cmd.option('--json [file]', `${what} as JSON: written to FILE, or printed on stdout (instead of text) when no file is given`);
}

/**
 * Reports a command's result: bare `--json` prints only the JSON on stdout; otherwise `printText`
 * runs, and `--json FILE` also writes the JSON there (atomically).
 */
export function report(json: JsonFlag, result: unknown, printText: () => void): void {
  if (json === true) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  printText();
  if (typeof json === 'string') {
    writeFileAtomicSync(json, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${json}`);
  }
}

/**
 * The JSON half of report(), for commands whose text output is not one function: bare `--json`
 * prints the JSON on stdout and returns true (print no text); `--json FILE` writes it there and
 * returns false; no flag returns false.
 */
export function emitJson(json: JsonFlag, result: unknown): boolean {
  if (json === true) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return true;
  }
  if (typeof json === 'string') {
    writeFileAtomicSync(json, `${JSON.stringify(result, null, 2)}\n`);
    console.error(`wrote ${json}`);
  }
  return false;
}

/** True when the human-readable progress notes should stay off stdout (bare --json). */
export function jsonOnStdout(json: JsonFlag): boolean {
  return json === true;
}

/** Adds `--threads <n>` (native core threads, default 2). */
export function threadsOption(cmd: Command): Command {
  return cmd.option('--threads <n>', 'threads of the native core', intFlag('--threads', 1), 2);
}

/** Sets the native core's thread count: process-wide state, so only the CLI does it. */
export function applyThreads(threads: number): void {
  loadNative().setNumThreads(threads);
}

/** @deprecated use report(); kept for commands still on `--json <file>`. */
export function writeJsonFile(file: string | undefined, result: unknown): void {
  if (!file) return;
  writeFileAtomicSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${file}`);
}
