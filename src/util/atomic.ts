// Atomic writes: a reader sees either the old file or the complete new one, never a torn write.
// Temp file in the same directory (so rename stays on one filesystem), fsync, rename, fsync the dir.
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Makes the rename itself durable; some filesystems refuse fsync on a directory, which is harmless. */
function syncDir(dir: string): void {
  try {
    const d = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(d);
    } finally {
      fs.closeSync(d);
    }
  } catch {
    /* best effort */
  }
}

/** Writes through `fill` into a fresh temp file, fsyncs, renames over `file`; cleans up on failure. */
async function writeAtomicWith(what: string, file: string, fill: (handle: fsp.FileHandle) => Promise<void>): Promise<void> {
  const tmp = tempPathFor(file);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx', 0o644);
    await fill(handle);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, file);
  } catch (err) {
    if (handle) await handle.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`${what}: cannot write ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  syncDir(path.dirname(file));
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await writeAtomicWith('writeFileAtomic', file, (h) => h.writeFile(data));
}

/** Synchronous writeFileAtomic, for callers that cannot await (same guarantees). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const tmp = tempPathFor(file);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    fs.rmSync(tmp, { force: true });
    throw new Error(`writeFileAtomic: cannot write ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  syncDir(path.dirname(file));
}

/**
 * Like writeFileAtomic for large line-oriented output (JSONL): streams `lines` (each written
 * followed by "\n") into the temp file, so no single string has to hold the whole file.
 */
export async function writeLinesAtomic(file: string, lines: Iterable<string>): Promise<void> {
  await writeAtomicWith('writeLinesAtomic', file, async (handle) => {
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
  });
}
