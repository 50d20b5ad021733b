// Which files of a repository the encoder reads (METHOD.md section 1): `.py` files that are not
// tests (any path component containing "test"), regular files only (links are never followed, so a
// symlink loop cannot trap the walk), at most maxFiles of them: over the cap, an evenly spaced
// sample of the sorted paths, reported, so a huge repository cannot take minutes.
import { listPythonFilesSync } from '../../data/python/files.js';

/** METHOD.md's encoder rule, broader than the benchmark's test-file rule: any component with "test". */
export function isEncoderExcluded(relPath: string): boolean {
  return relPath.toLowerCase().split('/').some((part) => part.includes('test'));
}

export interface RepoFileList {
  /** relative paths with '/', sorted */
  files: string[];
  /** non-test .py files found before the cap */
  found: number;
  /** files left out by maxFiles */
  capped: number;
  /** .py files excluded as tests */
  testFiles: number;
}

export function listEncoderFiles(root: string, maxFiles: number): RepoFileList {
  const all = listPythonFilesSync(root);
  const kept = all.filter((f) => !isEncoderExcluded(f));
  const testFiles = all.length - kept.length;
  if (kept.length <= maxFiles) return { files: kept, found: kept.length, capped: 0, testFiles };
  const step = kept.length / maxFiles;
  const files = Array.from({ length: maxFiles }, (_, i) => kept[Math.floor(i * step)]);
  return { files, found: kept.length, capped: kept.length - maxFiles, testFiles };
}
