// The task file format: one JSON object per line (<split>.jsonl). The one module that writes and reads
// task files; every record read is checked against the schema below, and a bad one throws an error
// naming the file and line: `cr-test.jsonl:17: field "target" must be a string`.
//
// Required (every reader relies on them): id, repo, file, line, family, prefix, target, function.
// Optional: kind (a TARGET_KINDS value), multiline (boolean), assertion (string) from the released
// rules; commit (string) and commitIndex (integer >= 0) on evolution-track tasks. Other fields pass through.
import { existsSync, readFileSync } from 'node:fs';
import { writeLinesAtomic } from '../../util/atomic.js';
import { FAMILIES, TARGET_KINDS, type Task } from './types.js';

type Check = (v: unknown) => string | null;

const str: Check = (v) => (typeof v === 'string' ? null : 'must be a string');
const nonEmpty: Check = (v) => (typeof v === 'string' && v.length > 0 ? null : 'must be a non-empty string');
const posInt: Check = (v) => (Number.isInteger(v) && (v as number) >= 1 ? null : 'must be an integer >= 1');
const natInt: Check = (v) => (Number.isInteger(v) && (v as number) >= 0 ? null : 'must be an integer >= 0');
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const oneOf =
  (xs: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && xs.includes(v) ? null : `must be one of ${xs.join(', ')}`;

const REQUIRED: [string, Check][] = [
  ['id', nonEmpty],
  ['repo', nonEmpty],
  ['file', nonEmpty],
  ['line', posInt],
  ['family', oneOf(FAMILIES)],
  ['prefix', str],
  ['target', str],
  ['function', str],
];
const OPTIONAL: [string, Check][] = [
  ['kind', oneOf(TARGET_KINDS)],
  ['multiline', bool],
  ['assertion', str],
  ['commit', nonEmpty],
  ['commitIndex', natInt],
];

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

/** The problem with one parsed record, or null when it is a valid task. */
export function taskProblem(rec: unknown): string | null {
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) return `expected a JSON object, got ${show(rec)}`;
  const o = rec as Record<string, unknown>;
  for (const [k, check] of REQUIRED) {
    if (!(k in o)) return `field "${k}" is missing`;
    const p = check(o[k]);
    if (p) return `field "${k}" ${p}, got ${show(o[k])}`;
  }
  for (const [k, check] of OPTIONAL) {
    if (!(k in o)) continue;
    const p = check(o[k]);
    if (p) return `field "${k}" ${p}, got ${show(o[k])}`;
  }
  return null;
}

/** Parse and check the text of a task file; `name` is how errors name the file. */
export function parseTasks<T extends Task = Task>(text: string, name: string): T[] {
  const out: T[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    let rec: unknown;
    try {
      rec = JSON.parse(raw);
    } catch (e) {
      throw new Error(`${name}:${i + 1}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    const p = taskProblem(rec);
    if (p) throw new Error(`${name}:${i + 1}: ${p}`);
    out.push(rec as T);
  });
  return out;
}

/** Read and check a task file. */
export function readTaskFile<T extends Task = Task>(file: string): T[] {
  if (!existsSync(file)) throw new Error(`no task file ${file} (build tasks with \`code2lora tasks build\`)`);
  return parseTasks<T>(readFileSync(file, 'utf8'), file);
}

/** Write tasks atomically, one JSON object per line; every task is checked first (a bad one names its index). */
export async function writeTaskFile(file: string, tasks: readonly Task[]): Promise<void> {
  tasks.forEach((t, i) => {
    const p = taskProblem(t);
    if (p) throw new Error(`${file}: task ${i + 1} (${show((t as Partial<Task>).id)}): ${p}`);
  });
  await writeLinesAtomic(
    file,
    (function* () {
      for (const t of tasks) yield JSON.stringify(t);
    })(),
  );
}
