// Find the assertion statements of a parsed test file and apply the target rules of METHOD.md §2:
//   assert a == b            -> cut before `b` (right-hand side of the first comparison)
//   assert e                 -> cut before `e` (bare assert: prefix "assert ", target "e")
//   self.assertEqual(a, b)   -> cut before `b`, target "b)" (last argument keeps the closing parenthesis)
//   self.assertTrue(x)       -> target "x)"; self.assertRaises(E, f) -> target "E" (first argument)
//   with pytest.raises(E):   -> target "E)"; pytest.approx(v, rel=..) -> target "v"
//   np.testing.assert_allclose(a, b) -> target "b)"
// The expected argument keeps its ")" only when it is the last argument and the ")" follows on the same
// line with nothing but spaces between (a trailing comma or a line break leaves the bare argument).
import { namedKids, type SyntaxNode } from '../python/parser.js';
import type { Family } from './types.js';

/** unittest methods whose subject is their first (or only) argument. */
const SELF_FIRST_ARG = new Set([
  'assertTrue',
  'assertFalse',
  'assertIsNone',
  'assertIsNotNone',
  'assert_',
  'failUnless',
  'failIf',
  'assertRaises',
  'assertRaisesRegex',
  'assertRaisesRegexp',
  'assertWarns',
  'assertWarnsRegex',
  'failUnlessRaises',
  'assertLogs',
  'assertNoLogs',
]);

/** unittest methods comparing two values: the expected value is the second argument. */
const SELF_TWO_ARG = new Set([
  'assertEqual',
  'assertEquals',
  'assertNotEqual',
  'assertNotEquals',
  'assertAlmostEqual',
  'assertAlmostEquals',
  'assertNotAlmostEqual',
  'assertNotAlmostEquals',
  'assertIs',
  'assertIsNot',
  'assertIn',
  'assertNotIn',
  'assertIsInstance',
  'assertNotIsInstance',
  'assertGreater',
  'assertGreaterEqual',
  'assertLess',
  'assertLessEqual',
  'assertRegex',
  'assertNotRegex',
  'assertRegexpMatches',
  'assertNotRegexpMatches',
  'assertCountEqual',
  'assertItemsEqual',
  'assertMultiLineEqual',
  'assertSequenceEqual',
  'assertListEqual',
  'assertTupleEqual',
  'assertSetEqual',
  'assertDictEqual',
  'assertDictContainsSubset',
  'failUnlessEqual',
  'failIfEqual',
  'failUnlessAlmostEqual',
  'failIfAlmostEqual',
]);

/** NumPy-style testing functions (numpy.testing, pandas.testing, xarray.testing) and the expected argument. */
const NUMPY_ASSERTS = new Map<string, 0 | 1>([
  ['assert_', 0],
  ['assert_raises', 0],
  ['assert_raises_regex', 0],
  ['assert_warns', 0],
  ['assert_equal', 1],
  ['assert_almost_equal', 1],
  ['assert_approx_equal', 1],
  ['assert_array_equal', 1],
  ['assert_array_almost_equal', 1],
  ['assert_allclose', 1],
  ['assert_array_less', 1],
  ['assert_string_equal', 1],
  ['assert_array_max_ulp', 1],
  ['assert_array_almost_equal_nulp', 1],
  ['assert_array_compare', 1],
  ['assert_frame_equal', 1],
  ['assert_series_equal', 1],
  ['assert_index_equal', 1],
  ['assert_extension_array_equal', 1],
  ['assert_numpy_array_equal', 1],
  ['assert_dict_equal', 1],
  ['assert_identical', 1],
  ['assert_duckarray_equal', 1],
  ['assert_duckarray_allclose', 1],
]);

export interface PytestNames {
  /** Names bound to the pytest module (`import pytest as pt`). */
  modules: Set<string>;
  /** Local name -> pytest attribute (`from pytest import raises as r`). */
  names: Map<string, string>;
}

/** Read `import pytest [as x]` and `from pytest import a [as b]` at module level. */
export function pytestNames(root: SyntaxNode): PytestNames {
  const out: PytestNames = { modules: new Set(['pytest']), names: new Map() };
  for (const st of namedKids(root)) {
    if (st.type === 'import_statement') {
      for (const n of namedKids(st)) {
        if (n.type === 'aliased_import' && n.childForFieldName('name')?.text === 'pytest') {
          const alias = n.childForFieldName('alias')?.text;
          if (alias) out.modules.add(alias);
        }
      }
    } else if (st.type === 'import_from_statement' && st.childForFieldName('module_name')?.text === 'pytest') {
      for (const n of st.childrenForFieldName('name')) {
        if (!n) continue;
        if (n.type === 'aliased_import') {
          const name = n.childForFieldName('name')?.text;
          const alias = n.childForFieldName('alias')?.text;
          if (name && alias) out.names.set(alias, name);
        } else out.names.set(n.text, n.text);
      }
    }
  }
  return out;
}

type Callee = { kind: 'pytest'; name: string } | { kind: 'self'; name: string } | { kind: 'plain'; name: string };

function resolveCallee(call: SyntaxNode, py: PytestNames): Callee | null {
  const fn = call.childForFieldName('function');
  if (!fn) return null;
  if (fn.type === 'identifier') {
    const p = py.names.get(fn.text);
    return p ? { kind: 'pytest', name: p } : { kind: 'plain', name: fn.text };
  }
  if (fn.type === 'attribute') {
    const obj = fn.childForFieldName('object');
    const attr = fn.childForFieldName('attribute')?.text;
    if (!obj || !attr) return null;
    if (obj.type === 'identifier' && py.modules.has(obj.text)) return { kind: 'pytest', name: attr };
    if (obj.type === 'identifier' && (obj.text === 'self' || obj.text === 'cls')) return { kind: 'self', name: attr };
    return { kind: 'plain', name: attr };
  }
  return null;
}

const SELF_ASSERT_RE = /^(assert|fail)[A-Z_]/;

export interface Cut {
  family: Family;
  /** Offsets (UTF-16 code units) of the target in the file text. */
  targetStart: number;
  targetEnd: number;
}

export type Classified = Cut | { family: Family; malformed: string } | null;

/** The expected argument of an assertion call: its span, with ")" when it is the last argument. */
function argumentTarget(call: SyntaxNode, family: Family, index: 0 | 1 | 'auto', src: string): Classified {
  const args = call.childForFieldName('arguments');
  if (!args || args.type !== 'argument_list') return { family, malformed: 'call without an argument list' };
  const kids = namedKids(args);
  let positional = 0;
  for (const k of kids) {
    if (k.type === 'keyword_argument' || k.type === 'list_splat' || k.type === 'dictionary_splat') break;
    positional++;
  }
  const idx = index === 'auto' ? (positional >= 2 || (positional === 0 && kids.length >= 2) ? 1 : 0) : index;
  let arg: SyntaxNode;
  if (idx < positional) arg = kids[idx] as SyntaxNode;
  else if (positional === 0 && idx < kids.length && kids.every((k) => k.type === 'keyword_argument')) {
    // All-keyword style, e.g. assertEqual(first=a, second=b): the value of the argument in that place.
    const kw = kids[idx] as SyntaxNode;
    const name = kw.childForFieldName('name')?.text ?? '';
    const value = kw.childForFieldName('value');
    if (!value || name === 'msg' || name === 'message') return { family, malformed: `keyword argument ${name} is not a value` };
    arg = value;
  } else return { family, malformed: `expected positional argument ${idx + 1}, call has ${positional}` };
  if (arg.type === 'parenthesized_list_splat') return { family, malformed: 'splat argument' };
  let end = arg.endIndex;
  if (idx === kids.length - 1) {
    const close = args.endIndex - 1;
    if (src[close] === ')' && /^[ \t]*$/.test(src.slice(arg.endIndex, close))) end = args.endIndex;
  }
  return { family, targetStart: arg.startIndex, targetEnd: end };
}

function firstCall(node: SyntaxNode, pred: (call: SyntaxNode) => boolean): SyntaxNode | null {
  if (node.type === 'call' && pred(node)) return node;
  for (const c of node.namedChildren) {
    if (!c) continue;
    const r = firstCall(c, pred);
    if (r) return r;
  }
  return null;
}

/** Apply the family and target rules to one statement; null when it is not an assertion. */
export function classifyStatement(stmt: SyntaxNode, py: PytestNames, src: string): Classified {
  switch (stmt.type) {
    case 'assert_statement': {
      const test = namedKids(stmt)[0];
      if (!test) return { family: 'assert', malformed: 'assert without an expression' };
      const approx = firstCall(test, (c) => {
        const k = resolveCallee(c, py);
        return k?.kind === 'pytest' && k.name === 'approx';
      });
      if (approx) return argumentTarget(approx, 'pytest_approx', 0, src);
      if (test.type === 'comparison_operator') {
        const rhs = namedKids(test)[1];
        if (!rhs) return { family: 'assert', malformed: 'comparison without a right-hand side' };
        return { family: 'assert', targetStart: rhs.startIndex, targetEnd: rhs.endIndex };
      }
      return { family: 'assert', targetStart: test.startIndex, targetEnd: test.endIndex };
    }
    case 'expression_statement': {
      const e = namedKids(stmt)[0];
      if (!e || e.type !== 'call') return null;
      const k = resolveCallee(e, py);
      if (!k) return null;
      if (k.kind === 'pytest' && k.name === 'raises') return argumentTarget(e, 'pytest_raises', 0, src);
      if (k.kind === 'self' && SELF_ASSERT_RE.test(k.name)) {
        const idx = SELF_FIRST_ARG.has(k.name) ? 0 : SELF_TWO_ARG.has(k.name) ? 1 : 'auto';
        return argumentTarget(e, 'self_assert', idx, src);
      }
      if (k.kind === 'plain' && NUMPY_ASSERTS.has(k.name))
        return argumentTarget(e, 'numpy_assert', NUMPY_ASSERTS.get(k.name) as 0 | 1, src);
      return null;
    }
    case 'with_statement': {
      const clause = stmt.namedChildren.find((c) => c?.type === 'with_clause');
      if (!clause) return null;
      for (const item of namedKids(clause)) {
        if (item.type !== 'with_item') continue;
        let v = item.childForFieldName('value');
        if (v?.type === 'as_pattern') v = namedKids(v)[0] ?? null;
        if (!v || v.type !== 'call') continue;
        const k = resolveCallee(v, py);
        if (k?.kind === 'pytest' && k.name === 'raises') return argumentTarget(v, 'pytest_raises', 0, src);
        if (k?.kind === 'self' && SELF_ASSERT_RE.test(k.name)) {
          const idx = SELF_FIRST_ARG.has(k.name) ? 0 : SELF_TWO_ARG.has(k.name) ? 1 : 'auto';
          return argumentTarget(v, 'self_assert', idx, src);
        }
      }
      return null;
    }
    default:
      return null;
  }
}

export interface Host {
  /** The outermost function around the assertion (its decorated_definition when decorated). */
  node: SyntaxNode;
  /** The function_definition itself. */
  fn: SyntaxNode;
  /** Classes around the host, outermost first. */
  classes: SyntaxNode[];
  /** Qualified name, e.g. TestX.test_y. */
  name: string;
}

export interface Found {
  stmt: SyntaxNode;
  host: Host | null;
  result: Cut | { family: Family; malformed: string };
}

const STATEMENTS = new Set(['assert_statement', 'expression_statement', 'with_statement']);

/** Every assertion statement of the file, in source order, with its host function (null at module level). */
export function findAssertions(root: SyntaxNode, src: string): Found[] {
  const py = pytestNames(root);
  const out: Found[] = [];
  const walk = (node: SyntaxNode, host: Host | null, classes: SyntaxNode[]): void => {
    for (const child of node.namedChildren) {
      if (!child) continue;
      const t = child.type;
      if (!host && (t === 'function_definition' || t === 'decorated_definition')) {
        const fn = t === 'function_definition' ? child : child.childForFieldName('definition');
        if (fn?.type === 'function_definition') {
          const name = [...classes.map((c) => c.childForFieldName('name')?.text ?? '?'), fn.childForFieldName('name')?.text ?? '?'].join(
            '.',
          );
          const h: Host = { node: child, fn, classes, name };
          const body = fn.childForFieldName('body');
          if (body) walk(body, h, classes);
          continue;
        }
        if (fn?.type === 'class_definition') {
          const body = fn.childForFieldName('body');
          if (body) walk(body, null, [...classes, fn]);
          continue;
        }
      }
      if (!host && t === 'class_definition') {
        const body = child.childForFieldName('body');
        if (body) walk(body, null, [...classes, child]);
        continue;
      }
      if (STATEMENTS.has(t)) {
        const r = classifyStatement(child, py, src);
        if (r) out.push({ stmt: child, host, result: r });
        if (t !== 'with_statement') continue; // a with-body holds more statements
      }
      walk(child, host, classes);
    }
  };
  walk(root, null, []);
  return out;
}
