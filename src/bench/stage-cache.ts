// The stage cache: a stage's artefacts live in <out>/stages/<stage>/ with a stage.json that records
// the hash of everything the stage read (its inputs hash) and the SHA-256 of every file it wrote.
// The folder is written beside its final place and renamed into it (util/atomic-dir), so a killed
// stage leaves no folder that looks done. A stage is skipped only when stage.json names the same
// inputs hash and every file still has its recorded hash; anything else re-runs it. The runner that
// plans and runs the stages over it is bench/stage-runner.ts (both `bench static` and `bench evo-track`).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { replaceDirAtomic, removeDirLeftovers } from '../util/atomic-dir.js';
import { writeFileAtomicSync } from '../util/atomic.js';

export const STAGE_RECORD = 'stage.json';

export interface StageRecord {
  stage: string;
  inputsHash: string;
  /** what went into the hash, for people reading the folder */
  inputs: unknown;
  /** relative path -> SHA-256 of every artefact file */
  files: Record<string, string>;
  seconds: number;
  finishedAt: string;
  summary: unknown;
}

export type StageState = 'done' | 'missing' | 'stale' | 'corrupt';

/** Stable JSON (object keys sorted), so equal inputs always hash the same. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function hashJson(v: unknown): string {
  return createHash('sha256').update(stableJson(v)).digest('hex');
}

/** SHA-256 of a file, streamed in 1 MiB blocks. */
export function fileSha256(file: string): string {
  const h = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

export function stageDir(out: string, stage: string): string {
  return join(out, 'stages', stage.replace(/[^A-Za-z0-9._+-]/g, '.'));
}

/** Reads a stage's record, or null when there is none or it is unreadable. */
export function readStageRecord(dir: string): StageRecord | null {
  const f = join(dir, STAGE_RECORD);
  if (!existsSync(f)) return null;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as StageRecord;
  } catch {
    return null;
  }
}

/** Why a stage is (or is not) done; `detail` names the mismatching hash or file. */
export function stageState(dir: string, inputsHash: string): { state: StageState; detail: string } {
  if (!existsSync(dir)) return { state: 'missing', detail: 'no artefact' };
  const rec = readStageRecord(dir);
  if (!rec) return { state: 'corrupt', detail: `${STAGE_RECORD} missing or unreadable` };
  if (rec.inputsHash !== inputsHash)
    return { state: 'stale', detail: `inputs changed (${rec.inputsHash.slice(0, 12)} -> ${inputsHash.slice(0, 12)})` };
  for (const [rel, sha] of Object.entries(rec.files)) {
    const f = join(dir, rel);
    if (!existsSync(f) || !statSync(f).isFile()) return { state: 'corrupt', detail: `${rel} is missing` };
    if (fileSha256(f) !== sha) return { state: 'corrupt', detail: `${rel} does not match its recorded SHA-256` };
  }
  return { state: 'done', detail: `inputs ${inputsHash.slice(0, 12)}` };
}

/** Runs `fill` (which may return a promise) into a fresh folder, records file hashes, then renames it
 *  into place. */
export async function commitStage(
  dir: string,
  stage: string,
  inputs: unknown,
  inputsHash: string,
  fill: (tmpDir: string) => unknown,
): Promise<StageRecord> {
  removeDirLeftovers(dir);
  const t0 = performance.now();
  let record: StageRecord | undefined;
  await replaceDirAtomic(dir, async (tmp) => {
    const summary = await fill(tmp);
    const files: Record<string, string> = {};
    for (const f of filesUnder(tmp)) files[relative(tmp, f)] = fileSha256(f);
    record = {
      stage,
      inputsHash,
      inputs,
      files,
      seconds: (performance.now() - t0) / 1000,
      finishedAt: new Date().toISOString(),
      summary: summary ?? null,
    };
    writeFileAtomicSync(join(tmp, STAGE_RECORD), JSON.stringify(record, null, 2) + '\n');
  });
  return record as StageRecord;
}
