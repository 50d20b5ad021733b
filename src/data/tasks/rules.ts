// The released builder's extraction rules (version 2, METHOD.md §2), on tree-sitter's syntax tree.
// Every `assert` statement and every call anywhere in the file is a candidate (the released builder
// walks every node of Python's AST):
//   assert a OP b ... (parenthesised or not)      -> target: the first right operand b
//   assert e (no comparison)                       -> not a task ("bare-assert")
//   self.assertRaises(E, ..) / assertRaisesRegex(E, pat, ..) -> "E)" / "E, pat)"
//   self.assertTrue/False/IsNone/IsNotNone(x, ..)  -> "x)"
//   other self.<unittest method>(.., y) with >= 2 positional arguments -> "y)" (the last positional)
//   pytest.raises(E, k=v) / pytest.approx(x, k=v)  -> "E, k=v)" / "x, k=v)"
//   any f(.., y) or o.f(.., y) with f named assert_* (not assert_ itself, not o.mock.assert_*) -> "y)"
// A parenthesised expression counts without its parentheses (Python's AST has no node for them), so
// `assert x == (a + b)` has target `a + b`. Targets are built from the argument texts (the ")" and
// ", " are added, as the released builder does), and a target spanning several lines is joined into
// one line with single spaces. The prefix is cut where the first piece of the target starts.
import { pySplit, pyStrip, pyLen, pyRstrip } from '../../util/pystr.js';
import type { SyntaxNode } from '../python/parser.js';
import type { Host } from './assertions.js';
import { targetKind } from './kinds.js';
import type { Family, ReleasedDrop, TargetKind } from './types.js';

/** The unittest methods the released builder knows (others on `self` fall through to the assert_* rule). */
export const SELF_ASSERT_METHODS = new Set([
  'assertEqual',
  'assertNotEqual',
  'assertTrue',
  'assertFalse',
  'assertIs',
  'assertIsNot',
  'assertIsNone',
  'assertIsNotNone',
  'assertIn',
  'assertNotIn',
  'assertIsInstance',
  'assertNotIsInstance',
  'assertRaises',
  'assertRaisesRegex',
  'assertAlmostEqual',
  'assertNotAlmostEqual',
  'assertDictEqual',
  'assertListEqual',
  'assertTupleEqual',
  'assertSetEqual',
  'assertSequenceEqual',
  'assertRegex',
  'assertNotRegex',
  'assertCountEqual',
  'assertWarns',
  'assertLogs',
  'assertMultiLineEqual',
  'assertGreater',
  'assertGreaterEqual',
  'assertLess',
  'assertLessEqual',
]);

const SUBJECT_ONLY = new Set(['assertTrue', 'assertFalse', 'assertIsNone', 'assertIsNotNone']);
const PAREN_ONLY = new Set([')', '))', ')))', ']', ']]', '}']);
/** The released builder's cap on target length, in characters (code points) of the trimmed target. */
export const MAX_TARGET_CHARS = 500;

export interface ReleasedCandidate {
  family: Family;
  /** The released builder's assertion type, e.g. "self.assertEqual". */
  assertion: string;
  /** Where the target starts in the file (UTF-16 offset): the prefix is cut here. */
  cut: number;
  /** 1-based line of the cut. */
  line: number;
  /** The target, joined into one line when it spanned several. */
  target: string;
  multiline: boolean;
  kind: TargetKind;
  /** The outermost function around the candidate (prefix context); null at module or class level. */
  host: Host | null;
  /** Bare name of the innermost function around it: the per-function cap's group. */
  testFunction: string;
}

export type ReleasedFound = ReleasedCandidate | { drop: ReleasedDrop };

/** tree-sitter keeps comments and backslash line continuations as named nodes; Python's AST has neither. */
const EXTRAS = new Set(['comment', 'line_continuation']);

function namedNoComments(n: SyntaxNode): SyntaxNode[] {
  return n.namedChildren.filter((c): c is SyntaxNode => c !== null && !EXTRAS.has(c.type));
}

/** Python's AST has no node for parentheses: look through them (a tuple keeps its own). */
export function unparen(n: SyntaxNode): SyntaxNode {
  let x = n;
  while (x.type === 'parenthesized_expression') {
    const inner = namedNoComments(x)[0];
    if (!inner) break;
    x = inner;
  }
  return x;
}

interface Args {
  positional: SyntaxNode[];
  keywords: { name: string; value: SyntaxNode }[];
}

function callArgs(call: SyntaxNode): Args {
  const a = call.childForFieldName('arguments');
  if (!a) return { positional: [], keywords: [] };
  if (a.type === 'generator_expression') return { positional: [a], keywords: [] };
  const out: Args = { positional: [], keywords: [] };
  for (const k of namedNoComments(a)) {
    if (k.type === 'keyword_argument') {
      const name = k.childForFieldName('name')?.text;
      const value = k.childForFieldName('value');
      if (name && value) out.keywords.push({ name, value: unparen(value) });
    } else if (k.type !== 'dictionary_splat') out.positional.push(unparen(k));
  }
  return out;
}

interface Raw {
  family: Family;
  assertion: string;
  first: SyntaxNode;
  target: string;
}

function classifyAssert(stmt: SyntaxNode): Raw | ReleasedDrop {
  const test = namedNoComments(stmt)[0];
  const cmp = test ? unparen(test) : null;
  if (!cmp || cmp.type !== 'comparison_operator') return 'bare-assert';
  const rhs = namedNoComments(cmp)[1];
  if (!rhs) return 'bare-assert';
  const r = unparen(rhs);
  return { family: 'assert', assertion: 'assert', first: r, target: r.text };
}

function kwText(a: Args): string {
  return a.keywords.map((k) => `, ${k.name}=${k.value.text}`).join('');
}

/** The released rules for one call; null when the call is no assertion. */
function classifyCall(call: SyntaxNode): Raw | ReleasedDrop | null {
  const fn = call.childForFieldName('function');
  if (!fn) return null;
  let name: string;
  if (fn.type === 'attribute') {
    const obj = fn.childForFieldName('object');
    const attr = fn.childForFieldName('attribute')?.text;
    if (!obj || !attr) return null;
    const valId = obj.type === 'identifier' ? obj.text : null;
    if (valId === 'self' && SELF_ASSERT_METHODS.has(attr)) return selfAssert(call, attr);
    if (valId === 'pytest' && (attr === 'raises' || attr === 'approx')) {
      const a = callArgs(call);
      const first = a.positional[0];
      if (!first) return 'no-positional-argument';
      const family: Family = attr === 'raises' ? 'pytest_raises' : 'pytest_approx';
      return { family, assertion: `pytest.${attr}`, first, target: `${first.text}${kwText(a)})` };
    }
    if (obj.type === 'attribute' && obj.childForFieldName('attribute')?.text === 'mock') return null;
    name = attr;
  } else if (fn.type === 'identifier') name = fn.text;
  else return null;
  if (!name.startsWith('assert_') || name === 'assert_') return null;
  const last = callArgs(call).positional.at(-1);
  if (!last) return 'no-positional-argument';
  return { family: 'numpy_assert', assertion: 'assert_*', first: last, target: `${last.text})` };
}

function selfAssert(call: SyntaxNode, method: string): Raw | ReleasedDrop {
  const { positional } = callArgs(call);
  const first = positional[0];
  if (!first) return 'no-positional-argument';
  const assertion = `self.${method}`;
  if (method === 'assertRaises' || method === 'assertRaisesRegex') {
    const pat = method === 'assertRaisesRegex' && positional[1] ? `, ${positional[1].text}` : '';
    return { family: 'self_assert', assertion, first, target: `${first.text}${pat})` };
  }
  if (SUBJECT_ONLY.has(method)) return { family: 'self_assert', assertion, first, target: `${first.text})` };
  const last = positional.at(-1) as SyntaxNode;
  if (positional.length < 2) return 'no-positional-argument';
  return { family: 'self_assert', assertion, first: last, target: `${last.text})` };
}

/** The functions and classes around a node: the outermost function as the prefix's host. */
class Hosts {
  private readonly byFn = new Map<number, Host>();

  around(node: SyntaxNode): { host: Host | null; innermost: string } {
    const fns: SyntaxNode[] = []; // innermost first
    let afterOuter: SyntaxNode[] = []; // classes above the outermost function, innermost first
    for (let p = node.parent; p; p = p.parent) {
      if (p.type === 'function_definition') {
        fns.push(p);
        afterOuter = [];
      } else if (p.type === 'class_definition') afterOuter.push(p);
    }
    const outer = fns.at(-1);
    if (!outer) return { host: null, innermost: '' };
    const innermost = fns[0]?.childForFieldName('name')?.text ?? '';
    let host = this.byFn.get(outer.id);
    if (!host) {
      const cls = [...afterOuter].reverse();
      const name = [...cls.map((c) => c.childForFieldName('name')?.text ?? '?'), outer.childForFieldName('name')?.text ?? '?'].join('.');
      host = { node: outer.parent?.type === 'decorated_definition' ? outer.parent : outer, fn: outer, classes: cls, name };
      this.byFn.set(outer.id, host);
    }
    return { host, innermost };
  }
}

/**
 * Every candidate of the file in source order, each either a candidate task or the rule that refused
 * it. The checks that need the prefix (the "(," rule) are left to the caller.
 */
export function findReleased(root: SyntaxNode): ReleasedFound[] {
  const hosts = new Hosts();
  const out: ReleasedFound[] = [];
  for (const n of root.descendantsOfType(['assert_statement', 'call'])) {
    if (!n) continue;
    const raw = n.type === 'assert_statement' ? classifyAssert(n) : classifyCall(n);
    if (raw === null) continue;
    if (typeof raw === 'string') {
      out.push({ drop: raw });
      continue;
    }
    const multiline = raw.target.includes('\n');
    const target = multiline ? pySplit(raw.target).join(' ') : raw.target;
    const t = pyStrip(target);
    let drop: ReleasedDrop | null = null;
    if (t === '') drop = 'empty-target';
    else if (t.startsWith(',')) drop = 'comma-leading';
    else if (PAREN_ONLY.has(t)) drop = 'paren-only';
    else if (pyLen(t) > MAX_TARGET_CHARS) drop = 'target-too-long';
    const { host, innermost } = hosts.around(n);
    if (!drop && !host) drop = 'no-function';
    if (drop) {
      out.push({ drop });
      continue;
    }
    out.push({
      family: raw.family,
      assertion: raw.assertion,
      cut: raw.first.startIndex,
      line: raw.first.startPosition.row + 1,
      target,
      multiline,
      kind: targetKind(target),
      host,
      testFunction: innermost,
    });
  }
  return out;
}

/**
 * The first Python-2-only construct in the file (tree-sitter's grammar still accepts them; Python 3's
 * parser, which the released builder uses, refuses the file), or null. Checked: print (not `print >> f, x`,
 * a valid Python 3 tuple) and exec statements, `except E, e:`, `raise E, "m"`, backticks, `<>`, integers with leading zeros or an L suffix,
 * ur"" strings.
 */
export function python2Construct(root: SyntaxNode): string | null {
  const at = (n: SyntaxNode, what: string) => `${what} at line ${n.startPosition.row + 1}`;
  for (const n of root.descendantsOfType([
    'print_statement',
    'exec_statement',
    'except_clause',
    'raise_statement',
    'comparison_operator',
    'integer',
    'string',
  ])) {
    if (!n) continue;
    switch (n.type) {
      // `print >> f, x` is also a Python 3 expression (a tuple): only the other forms are Python 2.
      case 'print_statement':
        if (!n.namedChildren.some((c) => c?.type === 'chevron')) return at(n, 'print statement');
        break;
      case 'exec_statement':
        return at(n, 'exec statement');
      case 'except_clause':
        if (n.children.some((c) => c?.type === ',')) return at(n, '"except E, e:"');
        break;
      case 'raise_statement':
        if (n.namedChildren.some((c) => c?.type === 'expression_list')) return at(n, '"raise E, value"');
        break;
      case 'comparison_operator':
        if (n.children.some((c) => c?.type === '<>')) return at(n, '"<>"');
        break;
      case 'integer':
        if ((/^0+[0-9]+[lL]?$/.test(n.text) && /[1-9]/.test(n.text)) || /^[0-9].*[lL]$/.test(n.text)) return at(n, `integer ${n.text}`);
        break;
      case 'string':
        if (n.text.startsWith('`') || /^[uU][rR]/.test(n.text)) return at(n, `string ${n.text.slice(0, 10)}`);
        break;
    }
  }
  return null;
}

/** The released builder's last filter: the prefix's last non-blank line must not hold "(,". */
export function prefixCommaMalformed(prefix: string): boolean {
  const lines = pyRstrip(prefix).split('\n');
  return pyStrip(lines[lines.length - 1] ?? '').includes('(,');
}
