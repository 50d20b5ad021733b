// Atomic directory replacement: the contents are written into a fresh sibling folder, which then
// takes the target's name, so a reader (or a resumed run) sees the old folder or the complete new
// one, never a half-written one. A folder left by a killed writer is a `.tmp` sibling, never `dir`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** A fresh empty sibling of `dir` to fill, and the name the old `dir` takes while being replaced. */
function freshSibling(dir: string): { tmp: string; old: string } {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${path.basename(dir)}.${tag}.tmp`);
  const old = path.join(parent, `.${path.basename(dir)}.${tag}.old`);
  fs.mkdirSync(tmp);
  return { tmp, old };
}

/** Puts the filled `tmp` in place of `dir` (the old one, if any, is moved aside and then removed). */
function swapIn(dir: string, tmp: string, old: string): void {
  const hadOld = fs.existsSync(dir);
  if (hadOld) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  if (hadOld) fs.rmSync(old, { recursive: true, force: true });
}

export function replaceDirAtomicSync(dir: string, fill: (tmpDir: string) => void): void {
  const { tmp, old } = freshSibling(dir);
  try {
    fill(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  swapIn(dir, tmp, old);
}

/** replaceDirAtomicSync for a `fill` that may return a promise. */
export async function replaceDirAtomic(dir: string, fill: (tmpDir: string) => unknown): Promise<void> {
  const { tmp, old } = freshSibling(dir);
  try {
    await fill(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  swapIn(dir, tmp, old);
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
