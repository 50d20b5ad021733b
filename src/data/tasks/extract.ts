// Static track: one test file's text -> assertion-completion tasks (prefix = imports + helpers +
// enclosing class + test body up to the cut). A file with any syntax error is skipped whole.
// Two rule sets: the released builder's (rules.ts, the default) and this project's earlier ones
// (assertions.ts + filters.ts, kept for comparison and used by the evolution track).
import { withTree, type PythonParser } from '../python/parser.js';
import { findAssertions } from './assertions.js';
import { applyFilters, defaultFilterConfig, validateFilterConfig, type FilterConfig } from './filters.js';
import { defaultPrefixConfig, PrefixContext, validatePrefixConfig, type PrefixConfig } from './prefix.js';
import { findReleased, prefixCommaMalformed, python2Construct } from './rules.js';
import { RULE_SETS, type RuleSet, type Task } from './types.js';

export interface ExtractConfig {
  /** "released-v2" (the paper's released builder, default) or "legacy" (this project's earlier rules). */
  rules: RuleSet;
  /** Legacy rules only (the released rules have their own fixed filters). */
  filter: FilterConfig;
  prefix: PrefixConfig;
}

export function defaultExtractConfig(): ExtractConfig {
  return { rules: 'released-v2', filter: defaultFilterConfig(), prefix: defaultPrefixConfig() };
}

export function validateExtractConfig(c: ExtractConfig): ExtractConfig {
  if (!RULE_SETS.includes(c.rules))
    throw new Error(`ExtractConfig.rules: expected one of ${RULE_SETS.join(', ')}, got ${JSON.stringify(c.rules)}`);
  return Object.freeze({ rules: c.rules, filter: validateFilterConfig(c.filter), prefix: validatePrefixConfig(c.prefix) });
}

export type FileTasks =
  | {
      ok: true;
      tasks: Task[];
      /** Per task: the bare name of its innermost function (the per-function cap's group). */
      testFunctions: string[];
      /** Candidates seen (assertion statements for the legacy rules; asserts and assertion calls for the released ones). */
      assertions: number;
      /** Candidates refused, by rule (DROP_REASONS for legacy, RELEASED_DROPS for the released rules). */
      dropped: Record<string, number>;
    }
  | { ok: false; reason: 'syntax-error' | 'python2'; detail: string };

export function taskId(repo: string, file: string, line: number, col: number): string {
  return `${repo}/${file}:${line}:${col}`;
}

/** Extract the static tasks of one test file (`file` is its path inside `repo`). */
export function extractFileTasks(
  parser: PythonParser,
  src: string,
  repo: string,
  file: string,
  cfg: ExtractConfig = defaultExtractConfig(),
): FileTasks {
  return withTree(parser, src, (tree): FileTasks => {
    const root = tree.rootNode;
    if (root.hasError) return { ok: false, reason: 'syntax-error', detail: `${repo}/${file}: ${firstErrorAt(root)}` };
    const ctx = new PrefixContext(root, src, cfg.prefix);
    if (cfg.rules === 'released-v2') {
      // The released builder parses with Python 3: a file only Python 2 accepts gives it no tasks.
      const py2 = python2Construct(root);
      if (py2) return { ok: false, reason: 'python2', detail: `${repo}/${file}: Python 2 syntax (${py2})` };
      return releasedTasks(root, src, repo, file, ctx);
    }
    const found = findAssertions(root, src);
    const { kept, dropped } = applyFilters(found, src, cfg.filter);
    const tasks: Task[] = kept.map((k) => ({
      id: taskId(repo, file, k.line, k.targetStart - src.lastIndexOf('\n', k.targetStart - 1) - 1),
      repo,
      file,
      line: k.line,
      family: k.family,
      prefix: ctx.build(k.host, k.targetStart),
      target: k.target,
      function: k.host.name,
    }));
    return {
      ok: true,
      tasks,
      testFunctions: kept.map((k) => k.host.fn.childForFieldName('name')?.text ?? ''),
      assertions: found.length,
      dropped,
    };
  });
}

function column(src: string, offset: number): number {
  return offset - src.lastIndexOf('\n', offset - 1) - 1;
}

function releasedTasks(
  root: import('../python/parser.js').SyntaxNode,
  src: string,
  repo: string,
  file: string,
  ctx: PrefixContext,
): FileTasks {
  const found = findReleased(root);
  const dropped: Record<string, number> = {};
  const tasks: Task[] = [];
  const testFunctions: string[] = [];
  const ids = new Set<string>();
  for (const f of found) {
    if ('drop' in f) {
      dropped[f.drop] = (dropped[f.drop] ?? 0) + 1;
      continue;
    }
    const prefix = ctx.build(f.host as NonNullable<typeof f.host>, f.cut);
    if (prefixCommaMalformed(prefix)) {
      dropped['prefix-comma'] = (dropped['prefix-comma'] ?? 0) + 1;
      continue;
    }
    const line = f.line;
    let id = taskId(repo, file, line, column(src, f.cut));
    for (let k = 2; ids.has(id); k++) id = `${taskId(repo, file, line, column(src, f.cut))}#${k}`;
    ids.add(id);
    tasks.push({
      id,
      repo,
      file,
      line,
      family: f.family,
      prefix,
      target: f.target,
      function: (f.host as NonNullable<typeof f.host>).name,
      kind: f.kind,
      multiline: f.multiline,
      assertion: f.assertion,
    });
    testFunctions.push(f.testFunction);
  }
  return { ok: true, tasks, testFunctions, assertions: found.length, dropped };
}

/** Count assertion statements (every family, module level included) without building tasks. */
export function countAssertions(parser: PythonParser, src: string): number | null {
  return withTree(parser, src, (tree) => (tree.rootNode.hasError ? null : findAssertions(tree.rootNode, src).length));
}

function firstErrorAt(root: import('../python/parser.js').SyntaxNode): string {
  const err = root.descendantsOfType('ERROR')[0];
  if (err) return `syntax error at line ${err.startPosition.row + 1}`;
  // A MISSING node has no type of its own to search for: walk to it.
  const stack = [root];
  while (stack.length) {
    const n = stack.pop();
    if (!n) continue;
    if (n.isMissing) return `missing ${JSON.stringify(n.type)} at line ${n.startPosition.row + 1}`;
    if (n.hasError) for (const c of n.children) if (c) stack.push(c);
  }
  return 'syntax error';
}
