// The one place that loads tree-sitter's Python grammar (web-tree-sitter, WebAssembly).
// Load once per process with loadPythonParser(); parse() returns a Tree the caller must delete().
import { createRequire } from 'node:module';
import { Language, Parser, type Node, type Tree } from 'web-tree-sitter';

export type { Node as SyntaxNode, Tree as SyntaxTree };

let languagePromise: Promise<Language> | null = null;

function loadLanguage(): Promise<Language> {
  if (!languagePromise) {
    languagePromise = (async () => {
      const require = createRequire(import.meta.url);
      const wasm = require.resolve('tree-sitter-python/tree-sitter-python.wasm');
      await Parser.init();
      return Language.load(wasm);
    })().catch((err) => {
      languagePromise = null;
      throw new Error(`tree-sitter-python: cannot load the grammar: ${err instanceof Error ? err.message : String(err)}`);
    });
  }
  return languagePromise;
}

export interface PythonParser {
  /** Parse Python source. The tree holds WebAssembly memory: call tree.delete() when done. */
  parse(source: string): Tree;
}

export async function loadPythonParser(): Promise<PythonParser> {
  const language = await loadLanguage();
  const parser = new Parser();
  parser.setLanguage(language);
  return {
    parse(source: string): Tree {
      const tree = parser.parse(source);
      if (!tree) throw new Error('tree-sitter-python: parse returned no tree');
      return tree;
    },
  };
}

/** Parse, run `fn` on the tree, always free it. */
export function withTree<T>(parser: PythonParser, source: string, fn: (tree: Tree) => T): T {
  const tree = parser.parse(source);
  try {
    return fn(tree);
  } finally {
    tree.delete();
  }
}

/** Named children that are not comments (tree-sitter keeps comments as named "extra" nodes). */
export function namedKids(node: Node): Node[] {
  const out: Node[] = [];
  for (const c of node.namedChildren) if (c && c.type !== 'comment') out.push(c);
  return out;
}
