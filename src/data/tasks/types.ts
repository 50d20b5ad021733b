// The task record other components read (keep these field names), and the vocabulary around it.

export const FAMILIES = ['assert', 'self_assert', 'pytest_raises', 'pytest_approx', 'numpy_assert'] as const;
export type Family = (typeof FAMILIES)[number];

export const STATIC_SPLITS = ['train', 'ir-val', 'ir-test', 'cr-val', 'cr-test'] as const;
export type SplitName = (typeof STATIC_SPLITS)[number];

export interface Task {
  id: string;
  repo: string;
  /** Path of the test file inside the repository, with '/'. */
  file: string;
  /** 1-based line where the target starts. */
  line: number;
  family: Family;
  prefix: string;
  target: string;
  /** Host function (Class.method or function), for analysis. */
  function: string;
}

export interface EvoTask extends Task {
  commit: string;
  /** Index of the commit among the repository's kept commits, oldest first (0-based). */
  commitIndex: number;
}

export interface CommitRecord {
  repo: string;
  commit: string;
  index: number;
  /** Production-code diff from the previous kept commit (`git diff -U3`). */
  diff: string;
  /** True when the diff was cut at the size cap. */
  diffTruncated: boolean;
  /** Commit time, ISO 8601. */
  date: string;
}

/** Why a candidate assertion did not become a task. */
export const DROP_REASONS = ['module-level', 'malformed', 'empty-target', 'punctuation-only', 'duplicate-target', 'target-too-long'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Why a test file was not read. */
export const FILE_SKIPS = ['not-a-file', 'too-large', 'binary', 'not-utf8', 'unreadable', 'syntax-error'] as const;
export type FileSkip = (typeof FILE_SKIPS)[number];

export function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  const o = {} as Record<K, number>;
  for (const k of keys) o[k] = 0;
  return o;
}
