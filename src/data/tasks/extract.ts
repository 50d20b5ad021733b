// Static track: one test file's text -> assertion-completion tasks (prefix = imports + helpers +
// enclosing class + test body up to the cut). A file with any syntax error is skipped whole.
import { withTree, type PythonParser } from '../python/parser.js';
import { findAssertions } from './assertions.js';
import { applyFilters, defaultFilterConfig, validateFilterConfig, type FilterConfig } from './filters.js';
import { defaultPrefixConfig, PrefixContext, validatePrefixConfig, type PrefixConfig } from './prefix.js';
import type { DropReason, Task } from './types.js';

export interface ExtractConfig {
  filter: FilterConfig;
  prefix: PrefixConfig;
}

export function defaultExtractConfig(): ExtractConfig {
  return { filter: defaultFilterConfig(), prefix: defaultPrefixConfig() };
}

export function validateExtractConfig(c: ExtractConfig): ExtractConfig {
  return Object.freeze({ filter: validateFilterConfig(c.filter), prefix: validatePrefixConfig(c.prefix) });
}

export type FileTasks =
  | { ok: true; tasks: Task[]; assertions: number; dropped: Record<DropReason, number> }
  | { ok: false; reason: 'syntax-error'; detail: string };

export function taskId(repo: string, file: string, line: number, col: number): string {
  return `${repo}/${file}:${line}:${col}`;
}

/** Extract the static tasks of one test file (`file` is its path inside `repo`). */
export function extractFileTasks(parser: PythonParser, src: string, repo: string, file: string, cfg: ExtractConfig = defaultExtractConfig()): FileTasks {
  return withTree(parser, src, (tree): FileTasks => {
    const root = tree.rootNode;
    if (root.hasError) return { ok: false, reason: 'syntax-error', detail: `${repo}/${file}: ${firstErrorAt(root)}` };
    const found = findAssertions(root, src);
    const { kept, dropped } = applyFilters(found, src, cfg.filter);
    const ctx = new PrefixContext(root, src, cfg.prefix);
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
    return { ok: true, tasks, assertions: found.length, dropped };
  });
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

