// The released builder's extraction rules (METHOD.md §2), one test per rule, through extractFileTasks.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPythonParser, type PythonParser } from '../python/parser.js';
import { defaultExtractConfig, extractFileTasks, type FileTasks } from './extract.js';
import { prefixCommaMalformed } from './rules.js';
import type { Task } from './types.js';

let parser: PythonParser;
beforeAll(async () => {
  parser = await loadPythonParser();
});

function run(src: string): Extract<FileTasks, { ok: true }> {
  const r = extractFileTasks(parser, src, 'repo', 'tests/test_x.py', defaultExtractConfig());
  if (!r.ok) throw new Error(r.detail);
  return r;
}
const targets = (src: string): string[] => run(src).tasks.map((t) => t.target);
const one = (src: string): Task => {
  const t = run(src).tasks;
  expect(t).toHaveLength(1);
  return t[0] as Task;
};
const fn = (body: string): string => `def test_a():\n${body}`;
const cls = (body: string): string => `import unittest\n\nclass TestX(unittest.TestCase):\n    def test_a(self):\n${body}`;

describe('released rules: assert statements', () => {
  it('a comparison: the first right-hand operand, prefix cut before it', () => {
    const src = fn('    x = 1\n    assert x == 2\n');
    const t = one(src);
    expect(t).toMatchObject({
      family: 'assert',
      assertion: 'assert',
      target: '2',
      line: 3,
      function: 'test_a',
      kind: 'numeric_literal',
      multiline: false,
    });
    expect(t.prefix.endsWith('    assert x == ')).toBe(true);
    expect(targets(fn('    assert x is None\n    assert 1 in y\n    assert 2 not in z, "msg"\n    assert 0 < n <= 10\n'))).toEqual([
      'None',
      'y',
      'z',
      'n',
    ]);
  });
  it('a parenthesised comparison is a task; a parenthesised operand loses its parentheses, a tuple keeps them', () => {
    expect(targets(fn('    assert (x == 1)\n    assert ((y != "a")), "msg"\n'))).toEqual(['1', '"a"']);
    const t = one(fn('    assert x == (a + b)\n'));
    expect(t.target).toBe('a + b');
    expect(t.prefix.endsWith('    assert x == (')).toBe(true);
    expect(targets(fn('    assert x == (1, 2)\n'))).toEqual(['(1, 2)']);
  });
  it('looks through backslash continuations and comments', () => {
    expect(targets(fn('    assert x == \\\n        f(1)\n    self.assertEqual(a,  # why\n        b)\n'))).toEqual(['f(1)', 'b)']);
  });
  it('refuses a bare assert (no comparison), a tuple and a negated comparison', () => {
    const r = run(
      fn('    assert isinstance(x, Foo)\n    assert not done\n    assert a == 1 and b\n    assert (a == 1, "m")\n    assert not a == b\n'),
    );
    expect(r.tasks).toEqual([]);
    expect(r.dropped['bare-assert']).toBe(5);
  });
  it('joins a multi-line target into one line with single spaces', () => {
    const src = fn('    assert compute(\n        g(1),\n    ) == {\n        "a": [1, 2],\n        "b":   3,\n    }\n');
    const t = one(src);
    expect(t).toMatchObject({ target: '{ "a": [1, 2], "b": 3, }', multiline: true, line: 4, kind: 'collection' });
    expect(t.prefix.endsWith('    ) == ')).toBe(true);
  });
});

describe('released rules: self.assert*', () => {
  it('assertRaises: "E)"; assertRaisesRegex: "E, pat)", as a call or a context manager', () => {
    expect(
      targets(
        cls('        self.assertRaises(ValueError, f, 1)\n        with self.assertRaisesRegex(KeyError, "no.*key"):\n            d["x"]\n'),
      ),
    ).toEqual(['ValueError)', 'KeyError, "no.*key")']);
  });
  it('assertTrue/False/IsNone/IsNotNone: the first argument plus ")", whatever follows', () => {
    const ts = run(cls('        self.assertTrue(ok, "message")\n        self.assertIsNone(f(1))\n')).tasks;
    expect(ts.map((t) => [t.assertion, t.target])).toEqual([
      ['self.assertTrue', 'ok)'],
      ['self.assertIsNone', 'f(1))'],
    ]);
  });
  it('other listed methods: the last positional argument plus ")" (a message included), keywords ignored', () => {
    const src = cls(
      '        self.assertEqual(f(1, 2), [3, 4])\n        self.assertEqual(a, b, "why")\n        self.assertAlmostEqual(x, 0.5, places=3)\n',
    );
    const ts = run(src).tasks;
    expect(ts.map((t) => t.target)).toEqual(['[3, 4])', '"why")', '0.5)']);
    expect(ts[0]!.prefix.endsWith('        self.assertEqual(f(1, 2), ')).toBe(true);
    expect(ts[0]!.function).toBe('TestX.test_a');
  });
  it('needs a positional argument (and two for the general rule); unlisted methods and cls.* are not tasks', () => {
    const r = run(
      cls(
        '        self.assertEqual(first=a, second=b)\n        self.assertIn(x)\n        self.assertEquals(a, b)\n        cls.assertEqual(a, b)\n',
      ),
    );
    expect(r.tasks).toEqual([]);
    expect(r.dropped['no-positional-argument']).toBe(2);
  });
});

describe('released rules: pytest', () => {
  it('pytest.raises(E, k=v): "E, k=v)"; pytest.approx(x, k=v): "x, k=v)", each call also where an assert holds it', () => {
    const src =
      'import pytest\n\n' +
      fn('    with pytest.raises(ValueError, match="bad"):\n        f()\n    assert g() == pytest.approx(0.1, rel=1e-3)\n');
    const ts = run(src).tasks;
    expect(ts.map((t) => [t.assertion, t.target])).toEqual([
      ['pytest.raises', 'ValueError, match="bad")'],
      ['assert', 'pytest.approx(0.1, rel=1e-3)'],
      ['pytest.approx', '0.1, rel=1e-3)'],
    ]);
    expect(ts[2]!.prefix.endsWith('    assert g() == pytest.approx(')).toBe(true);
  });
  it('only the name pytest counts (aliases and bare raises do not)', () => {
    expect(
      targets(
        'import pytest as pt\nfrom pytest import raises\n\n' +
          fn('    with pt.raises(E):\n        f()\n    with raises(E):\n        f()\n'),
      ),
    ).toEqual([]);
  });
});

describe('released rules: assert_* calls', () => {
  it('NumPy-style functions and mock methods: the last positional argument plus ")"', () => {
    const src =
      'import numpy as np\nfrom numpy.testing import assert_allclose\n\n' +
      fn(
        '    np.testing.assert_array_equal(a, [1, 2])\n    assert_allclose(x, y, rtol=1e-5)\n    m.assert_called_once_with(1, key="v")\n    m.assert_called_with(path)\n',
      );
    const ts = run(src).tasks;
    expect(ts.map((t) => [t.family, t.assertion, t.target])).toEqual([
      ['numpy_assert', 'assert_*', '[1, 2])'],
      ['numpy_assert', 'assert_*', 'y)'],
      ['numpy_assert', 'assert_*', '1)'],
      ['numpy_assert', 'assert_*', 'path)'],
    ]);
  });
  it('not x.mock.assert_*, not assert_ itself, not without a positional argument', () => {
    const r = run(
      fn('    self.mock.assert_called_with(1)\n    np.assert_(x)\n    m.assert_called_once()\n    m.assert_called_with(key=1)\n'),
    );
    expect(r.tasks).toEqual([]);
    expect(r.dropped['no-positional-argument']).toBe(2);
  });
});

describe('released rules: filters', () => {
  it('refuses candidates outside a function', () => {
    const r = run('assert X == 1\n\nclass TestA:\n    assert Y == 2\n    def test_b(self):\n        assert z == 3\n');
    expect(r.tasks.map((t) => t.target)).toEqual(['3']);
    expect(r.dropped['no-function']).toBe(2);
  });
  it('refuses targets over 500 characters (code points) and paren-only targets', () => {
    const long = `"${'x'.repeat(499)}"`; // 501 characters
    const r = run(fn(`    assert a == ${long}\n    assert b == "${'y'.repeat(498)}"\n`));
    expect(r.tasks.map((t) => t.target.length)).toEqual([500]);
    expect(r.dropped['target-too-long']).toBe(1);
  });
  it('a nested function is its own test function for the cap; the prefix host stays the outer test', () => {
    const r = run(fn('    def check(v):\n        assert v == 1\n    check(1)\n'));
    expect(r.tasks[0]!.function).toBe('test_a');
    expect(r.testFunctions).toEqual(['check']);
  });
  it('the "(," rule looks at the last non-blank line of the prefix', () => {
    expect(prefixCommaMalformed('x = 1\n    f(,   \n\n')).toBe(true);
    expect(prefixCommaMalformed('f(,\n    assert x == ')).toBe(false);
  });
  it('a file only Python 2 accepts gives no tasks (the released builder parses with Python 3)', () => {
    const py2 = [
      '    print "x"\n',
      '    try:\n        f()\n    except OSError, e:\n        pass\n',
      '    raise E, "m"\n',
      '    x = 0777\n',
      '    x = 10L\n',
      '    x = `y`\n',
      '    x = a <> b\n',
      '    x = ur"a"\n',
    ];
    for (const body of py2) {
      const r = extractFileTasks(parser, fn(`${body}    assert x == 1\n`), 'repo', 't.py');
      expect([body, r.ok, !r.ok && r.reason]).toEqual([body, false, 'python2']);
      if (!r.ok) expect(r.detail).toMatch(/^repo\/t.py: Python 2 syntax \(.+ at line \d+\)$/);
    }
    const py3 = fn(
      '    print >> sys.stderr, "m"\n    try:\n        f()\n    except (A, B) as e:\n        raise E("m") from e\n    x = 00 + 0x1f + 1_0 + 0\n    y = u"a" + rb"b"\n    assert x == 1\n',
    );
    expect(run(py3).tasks.map((t) => t.target)).toEqual(['1']);
  });
  it('a file with a syntax error gives no tasks', () => {
    const r = extractFileTasks(parser, 'def test_a(:\n    assert x == 1\n', 'repo', 't.py');
    expect(r.ok).toBe(false);
  });
});
