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
  /** Target kind (the released builder's "difficulty"); set by the released rules. */
  kind?: TargetKind;
  /** True when the target spanned several lines in the file (it is then joined into one line). */
  multiline?: boolean;
  /** The released builder's assertion type: "assert", "self.assertEqual", "pytest.raises", "pytest.approx", "assert_*". */
  assertion?: string;
}

/** Target kinds, the strata of the per-repository allotment (METHOD.md §2). */
export const TARGET_KINDS = [
  'bool_literal',
  'none_literal',
  'string_literal',
  'numeric_literal',
  'collection',
  'func_call',
  'variable',
  'complex_expr',
] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** Extraction rule sets: the released builder's (version 2, the default) and this project's earlier rules. */
export const RULE_SETS = ['released-v2', 'legacy'] as const;
export type RuleSet = (typeof RULE_SETS)[number];

/** Why a candidate did not become a task under the released rules, in the order they are checked. */
export const RELEASED_DROPS = [
  'bare-assert',
  'no-positional-argument',
  'empty-target',
  'comma-leading',
  'paren-only',
  'target-too-long',
  'no-function',
  'prefix-comma',
] as const;
export type ReleasedDrop = (typeof RELEASED_DROPS)[number];

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

/** Why a candidate assertion did not become a task (legacy rules and the evolution track). */
export const DROP_REASONS = [
  'module-level',
  'malformed',
  'empty-target',
  'punctuation-only',
  'duplicate-target',
  'target-too-long',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Why a test file was not read. */
export const FILE_SKIPS = ['not-a-file', 'too-large', 'binary', 'not-utf8', 'unreadable', 'syntax-error', 'python2'] as const;
export type FileSkip = (typeof FILE_SKIPS)[number];

export function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  const o = {} as Record<K, number>;
  for (const k of keys) o[k] = 0;
  return o;
}
