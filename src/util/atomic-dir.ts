// Atomic directory replacement: the contents are written into a fresh sibling folder, which then
// takes the target's name, so a reader (or a resumed run) sees the old folder or the complete new
// one, never a half-written one. A folder left by a killed writer is a `.tmp` sibling, never `dir`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export function replaceDirAtomicSync(dir: string, fill: (tmpDir: string) => void): void {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${path.basename(dir)}.${tag}.tmp`);
  const old = path.join(parent, `.${path.basename(dir)}.${tag}.old`);
  fs.mkdirSync(tmp);
  try {
    fill(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const hadOld = fs.existsSync(dir);
  if (hadOld) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  if (hadOld) fs.rmSync(old, { recursive: true, force: true });
}

/** Removes `.name.*.tmp` / `.name.*.old` leftovers of killed writers next to `dir`. */
export function removeDirLeftovers(dir: string): void {
  const parent = path.dirname(dir),
    base = `.${path.basename(dir)}.`;
  if (!fs.existsSync(parent)) return;
  for (const e of fs.readdirSync(parent)) {
    if (e.startsWith(base) && (e.endsWith('.tmp') || e.endsWith('.old'))) fs.rmSync(path.join(parent, e), { recursive: true, force: true });
  }
}
