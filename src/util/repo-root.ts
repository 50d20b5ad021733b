// The package root (where package.json is), from src/ under vitest or dist/ when compiled.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('code2lora: cannot locate the package root (package.json)');
}

/** `p` relative to the package root when it lies inside it (so reports that get committed carry no
 *  machine's absolute paths); any other path is returned unchanged. */
export function repoRelative(p: string): string {
  const rel = relative(repoRoot(), resolve(p));
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? p : rel.split(sep).join('/');
}
