// Count a project's Python files, test files and assertions (the numbers the manifest records).
import * as path from 'node:path';
import type { PythonParser } from '../python/parser.js';
import { isTestFile, listPythonFiles } from '../python/files.js';
import { defaultSourceLimits, readPythonSource, type SourceLimits } from '../python/source.js';
import { countAssertions } from '../tasks/extract.js';
import type { ProjectCounts } from '../manifest.js';

export async function scanProject(parser: PythonParser, dir: string, limits: SourceLimits = defaultSourceLimits()): Promise<ProjectCounts> {
  const py = await listPythonFiles(dir);
  const tests = py.filter(isTestFile);
  let assertions = 0;
  let skipped = 0;
  for (const rel of tests) {
    const r = await readPythonSource(path.join(dir, rel), limits);
    if (!r.ok) {
      skipped++;
      continue;
    }
    const n = countAssertions(parser, r.text);
    if (n === null) {
      skipped++;
      continue;
    }
    assertions += n;
  }
  return { pythonFiles: py.length, testFiles: tests.length, skippedTestFiles: skipped, assertions };
}
