// Which files of a project are Python, which are tests, and a walk that never follows links.
import { readdirSync } from 'node:fs';
import * as path from 'node:path';

/** RepoPeftBench's rule: test_*.py, *_test.py, or any .py under a tests/ or test/ folder. */
export function isTestFile(relPath: string): boolean {
  const parts = relPath.split(/[\\/]/);
  const base = parts[parts.length - 1] ?? '';
  if (!base.endsWith('.py')) return false;
  if (base.startsWith('test_') || base.endsWith('_test.py')) return true;
  return parts.slice(0, -1).some((p) => p === 'tests' || p === 'test');
}

/** Folders never worth walking: VCS data, caches, virtual environments, installed packages. */
const SKIP_DIRS = new Set([
  '.git',
  '.hg',
  '.svn',
  '__pycache__',
  'node_modules',
  '.tox',
  '.nox',
  '.venv',
  'venv',
  'site-packages',
  '.eggs',
  '.mypy_cache',
  '.pytest_cache',
]);

export function skipDir(name: string): boolean {
  return SKIP_DIRS.has(name) || (name.startsWith('.') && name !== '.') || name.endsWith('.egg-info');
}

/** listPythonFiles without awaiting: the same walk, for synchronous callers (pipeline stages). */
export function listPythonFilesSync(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    let entries;
    try {
      entries = readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!skipDir(e.name)) walk(r);
      } else if (e.isFile() && e.name.endsWith('.py')) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** Relative paths (with '/') of regular .py files under root, sorted; symlinks are never followed.
 *  The same walk as listPythonFilesSync, for callers that await. */
export async function listPythonFiles(root: string): Promise<string[]> {
  return listPythonFilesSync(root);
}
