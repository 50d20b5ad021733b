// Which files of a repository the encoder reads (METHOD.md section 1): `.py` files that are not
// tests (any path component containing "test"), regular files only (links are never followed, so a
// symlink loop cannot trap the walk), at most maxFiles of them: over the cap, an evenly spaced
// sample of the sorted paths, reported, so a huge repository cannot take minutes.
// Optionally (beyond the paper) the test files too, capped separately: the repository's own
// assertions are what an assertion-completion adapter could learn from; the caller then leaves the
// target's own test file out of the pool.
import { isTestFile, listPythonFilesSync } from '../../data/python/files.js';

/** METHOD.md's encoder rule, broader than the benchmark's test-file rule: any component with "test". */
export function isEncoderExcluded(relPath: string): boolean {
  return relPath
    .toLowerCase()
    .split('/')
    .some((part) => part.includes('test'));
}

export interface RepoFileList {
  /** relative paths with '/', sorted (production files, then test files when asked for) */
  files: string[];
  /** non-test .py files found before the cap */
  found: number;
  /** files left out by the caps */
  capped: number;
  /** .py files counted as tests (excluded unless maxTestFiles > 0) */
  testFiles: number;
  /** test files included */
  testFilesUsed: number;
  /** METHOD.md's rule left no file (e.g. a package named django_test_migrations), so the benchmark's
   *  narrower test-file rule (test_*.py, *_test.py, tests/, test/) chose the files */
  narrowTestRule: boolean;
}

function evenly(xs: string[], n: number): string[] {
  if (xs.length <= n) return xs;
  const step = xs.length / n;
  return Array.from({ length: n }, (_, i) => xs[Math.floor(i * step)]);
}

export function listEncoderFiles(root: string, maxFiles: number, maxTestFiles = 0): RepoFileList {
  const all = listPythonFilesSync(root);
  let prod = all.filter((f) => !isEncoderExcluded(f));
  let tests = all.filter((f) => isEncoderExcluded(f));
  const narrowTestRule = prod.length === 0 && all.some((f) => !isTestFile(f));
  if (narrowTestRule) {
    prod = all.filter((f) => !isTestFile(f));
    tests = all.filter((f) => isTestFile(f));
  }
  const keptProd = evenly(prod, maxFiles);
  const keptTests = maxTestFiles > 0 ? evenly(tests, maxTestFiles) : [];
  return {
    files: [...keptProd, ...keptTests],
    found: prod.length,
    capped: prod.length - keptProd.length + (maxTestFiles > 0 ? tests.length - keptTests.length : 0),
    testFiles: tests.length,
    testFilesUsed: keptTests.length,
    narrowTestRule,
  };
}
