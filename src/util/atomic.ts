// writeFileAtomic: a reader sees either the old file or the complete new one, never a torn write.
// Temp file in the same directory (so rename stays on one filesystem), fsync, rename, fsync the dir.
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx', 0o644);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, file);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`writeFileAtomic: cannot write ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Make the rename itself durable; some filesystems refuse fsync on a directory, which is harmless.
  try {
    const d = await fsp.open(dir, 'r');
    try { await d.sync(); } finally { await d.close(); }
  } catch { /* best effort */ }
}

/** Synchronous writeFileAtomic, for callers that cannot await (same guarantees). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) { try { fs.closeSync(fd); } catch { /* already failing */ } }
    fs.rmSync(tmp, { force: true });
    throw new Error(`writeFileAtomic: cannot write ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    const d = fs.openSync(dir, 'r');
    try { fs.fsyncSync(d); } finally { fs.closeSync(d); }
  } catch { /* best effort */ }
}

/**
 * Like writeFileAtomic for large line-oriented output (JSONL): streams `lines` (each written
 * followed by "\n") into the temp file, so no single string has to hold the whole file.
 */
export async function writeLinesAtomic(file: string, lines: Iterable<string>): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx', 0o644);
    let batch: string[] = [];
    let size = 0;
    for (const line of lines) {
      batch.push(line, '\n');
      size += line.length + 1;
      if (size >= 1 << 20) {
        await handle.write(batch.join(''));
        batch = [];
        size = 0;
      }
    }
    if (batch.length) await handle.write(batch.join(''));
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, file);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`writeLinesAtomic: cannot write ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
