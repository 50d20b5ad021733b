// The static-track prefix (METHOD.md §2): the test file's imports, the module-level helpers and
// fixtures the test refers to before the cut, the enclosing class (header, attributes, setUp-style
// methods, autouse and referenced fixtures and helpers), then the test up to the cut.
// Every piece is an exact slice of the file from the start of its line, so indentation survives.
import { namedKids, type SyntaxNode } from '../python/parser.js';
import type { Host } from './assertions.js';

export interface PrefixConfig {
  /** Most module-level helpers/fixtures included per task. */
  maxHelpers: number;
  /** A helper, fixture or class member longer than this many characters is left out. */
  maxHelperChars: number;
}

export function defaultPrefixConfig(): PrefixConfig {
  return { maxHelpers: 8, maxHelperChars: 4000 };
}

export function validatePrefixConfig(c: PrefixConfig): PrefixConfig {
  for (const k of ['maxHelpers', 'maxHelperChars'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) throw new Error(`PrefixConfig.${k}: expected an integer >= 0, got ${c[k]}`);
  }
  return Object.freeze({ ...c });
}

const SETUP_NAMES = new Set([
  'setUp',
  'tearDown',
  'setUpClass',
  'tearDownClass',
  'asyncSetUp',
  'asyncTearDown',
  'setUpTestData',
  'setup_method',
  'teardown_method',
  'setup_class',
  'teardown_class',
  'setup',
  'teardown',
  'setup_function',
]);

interface Def {
  names: string[];
  node: SyntaxNode;
  kind: 'function' | 'fixture' | 'class' | 'assign' | 'test';
  autouse: boolean;
  /** Parameter names of a fixture (its own fixture dependencies). */
  params: string[];
}

function lineStart(src: string, i: number): number {
  return src.lastIndexOf('\n', i - 1) + 1;
}

function sliceLines(src: string, node: SyntaxNode): string {
  return src.slice(lineStart(src, node.startIndex), node.endIndex);
}

function describeDef(node: SyntaxNode): Def | null {
  let def = node;
  let decorators: SyntaxNode[] = [];
  if (node.type === 'decorated_definition') {
    decorators = node.namedChildren.filter((c): c is SyntaxNode => c?.type === 'decorator');
    const d = node.childForFieldName('definition');
    if (!d) return null;
    def = d;
  }
  const decoText = decorators.map((d) => d.text).join('\n');
  const isFixture = /\bfixture\b/.test(decoText);
  if (def.type === 'function_definition') {
    const name = def.childForFieldName('name')?.text ?? '';
    const params = (def.childForFieldName('parameters')?.descendantsOfType('identifier') ?? []).map((p) => p?.text ?? '');
    const kind = isFixture ? 'fixture' : name.startsWith('test') ? 'test' : 'function';
    return { names: [name], node, kind, autouse: isFixture && /autouse\s*=\s*True/.test(decoText), params };
  }
  if (def.type === 'class_definition') {
    const name = def.childForFieldName('name')?.text ?? '';
    return { names: [name], node, kind: name.startsWith('Test') ? 'test' : 'class', autouse: false, params: [] };
  }
  if (node.type === 'expression_statement') {
    const a = namedKids(node)[0];
    if (a?.type !== 'assignment') return null;
    const left = a.childForFieldName('left');
    if (!left) return null;
    const names = left.type === 'identifier' ? [left.text] : left.descendantsOfType('identifier').map((i) => i?.text ?? '');
    return { names, node, kind: 'assign', autouse: false, params: [] };
  }
  return null;
}

/** Per-file facts reused by every task of the file. */
export class PrefixContext {
  readonly imports: string;
  private readonly moduleDefs: Def[];
  private readonly classDefs = new Map<SyntaxNode, Def[]>();
  private readonly hostIds = new Map<SyntaxNode, { start: number; name: string }[]>();

  constructor(
    root: SyntaxNode,
    private readonly src: string,
    private readonly cfg: PrefixConfig,
  ) {
    const imports: string[] = [];
    this.moduleDefs = [];
    for (const st of namedKids(root)) {
      if (st.type === 'import_statement' || st.type === 'import_from_statement' || st.type === 'future_import_statement')
        imports.push(sliceLines(src, st));
      else {
        const d = describeDef(st);
        if (d) this.moduleDefs.push(d);
      }
    }
    this.imports = imports.join('\n');
  }

  private membersOf(cls: SyntaxNode): Def[] {
    let m = this.classDefs.get(cls);
    if (!m) {
      m = [];
      const body = cls.childForFieldName('body');
      for (const st of body ? namedKids(body) : []) {
        const d = describeDef(st);
        if (d) m.push(d);
      }
      this.classDefs.set(cls, m);
    }
    return m;
  }

  private identifiers(host: Host): { start: number; name: string }[] {
    let ids = this.hostIds.get(host.node);
    if (!ids) {
      ids = host.node.descendantsOfType('identifier').map((n) => ({ start: n?.startIndex ?? 0, name: n?.text ?? '' }));
      this.hostIds.set(host.node, ids);
    }
    return ids;
  }

  /** The prefix for a cut at `cut` inside `host`. */
  build(host: Host, cut: number): string {
    const referenced = new Set<string>();
    for (const id of this.identifiers(host)) if (id.start < cut) referenced.add(id.name);
    const hostName = host.fn.childForFieldName('name')?.text ?? '';
    const fits = (d: Def): boolean => d.node.endIndex - d.node.startIndex <= this.cfg.maxHelperChars;

    // Module-level helpers and fixtures the test refers to, with the fixtures those fixtures request.
    const chosen = new Set<Def>();
    const want = new Set(referenced);
    for (let round = 0; round < 3; round++) {
      let grew = false;
      for (const d of this.moduleDefs) {
        if (chosen.size >= this.cfg.maxHelpers) break;
        if (chosen.has(d) || d.kind === 'test' || d.node === host.node || !fits(d)) continue;
        if (d.autouse || d.names.some((n) => want.has(n) && n !== hostName)) {
          chosen.add(d);
          for (const p of d.params)
            if (!want.has(p)) {
              want.add(p);
              grew = true;
            }
        }
      }
      if (!grew) break;
    }
    const pieces: string[] = [];
    if (this.imports) pieces.push(this.imports);
    for (const d of this.moduleDefs) if (chosen.has(d)) pieces.push(sliceLines(this.src, d.node));

    const classes = host.classes;
    if (classes.length > 0) {
      const headers = classes.map((c) => {
        const body = c.childForFieldName('body');
        const outer = c.parent?.type === 'decorated_definition' ? c.parent : c;
        return this.src.slice(lineStart(this.src, outer.startIndex), body ? body.startIndex : c.endIndex).trimEnd();
      });
      const inner = classes[classes.length - 1] as SyntaxNode;
      const members: string[] = [];
      for (const d of this.membersOf(inner)) {
        if (d.node === host.node || d.kind === 'test' || !fits(d)) continue;
        const keep = d.kind === 'assign' || d.autouse || d.names.some((n) => SETUP_NAMES.has(n) || referenced.has(n));
        if (keep) members.push(sliceLines(this.src, d.node));
      }
      pieces.push([headers.join('\n'), ...members].join('\n\n'));
    }
    pieces.push(this.src.slice(lineStart(this.src, host.node.startIndex), cut));
    return pieces.join('\n\n');
  }
}
