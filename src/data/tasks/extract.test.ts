// The legacy rules (`tasks build --legacy`, and the evolution track's finder); the released rules,
// the default, are tested in rules.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPythonParser, type PythonParser } from '../python/parser.js';
import { defaultExtractConfig, extractFileTasks, type ExtractConfig, type FileTasks } from './extract.js';
import type { Task } from './types.js';

let parser: PythonParser;
beforeAll(async () => {
  parser = await loadPythonParser();
});

const legacy = (): ExtractConfig => ({ ...defaultExtractConfig(), rules: 'legacy' });

function run(src: string, cfg = legacy()): Extract<FileTasks, { ok: true }> {
  const r = extractFileTasks(parser, src, 'repo', 'tests/test_x.py', cfg);
  if (!r.ok) throw new Error(r.detail);
  return r;
}
const targets = (src: string): string[] => run(src).tasks.map((t) => t.target);
const one = (src: string): Task => {
  const t = run(src).tasks;
  expect(t).toHaveLength(1);
  return t[0] as Task;
};
/** The prefix must end exactly where the target begins in the file. */
function expectCut(src: string, t: Task, before: string): void {
  expect(t.prefix.endsWith(before)).toBe(true);
  expect(src).toContain(before + t.target);
}

describe('family: bare assert', () => {
  it('cuts after the first comparison operator', () => {
    const src = 'def test_a():\n    x = 1\n    assert x == 2\n';
    const t = one(src);
    expect(t).toMatchObject({ family: 'assert', target: '2', line: 3, repo: 'repo', file: 'tests/test_x.py', function: 'test_a' });
    expectCut(src, t, '    assert x == ');
    expect(t.id).toBe('repo/tests/test_x.py:3:16');
  });
  it('handles is / in / not in / chained comparisons and keeps the message out', () => {
    expect(
      targets('def test_a():\n    assert x is None\n    assert 1 in y\n    assert 2 not in z, "msg"\n    assert 0 < n <= 10\n'),
    ).toEqual(['None', 'y', 'z', 'n']);
  });
  it('gives prefix "assert " and the whole expression for a bare assert', () => {
    const src = 'def test_a():\n    assert isinstance(x, Foo)\n    assert not done\n    assert a == 1 and b\n';
    const ts = run(src).tasks;
    expect(ts.map((t) => t.target)).toEqual(['isinstance(x, Foo)', 'not done', 'a == 1 and b']);
    expect(ts[0]!.prefix.endsWith('    assert ')).toBe(true);
  });
  it('keeps strings containing commas or == intact', () => {
    expect(targets('def test_a():\n    assert f("a == b") == "x, y == z"\n')).toEqual(['"x, y == z"']);
  });
  it('handles multi-line asserts and nested calls', () => {
    const src = 'def test_a():\n    assert compute(\n        g(1, h(2)),\n    ) == {\n        "a": [1, 2],\n    }\n';
    const t = one(src);
    expect(t.target).toBe('{\n        "a": [1, 2],\n    }');
    expect(t.line).toBe(4);
    expectCut(src, t, '    ) == ');
  });
});

describe('family: self.assert*', () => {
  const cls = (body: string): string => `import unittest\n\nclass TestX(unittest.TestCase):\n    def test_a(self):\n${body}`;
  it('takes the last of two arguments with its closing parenthesis', () => {
    const src = cls('        self.assertEqual(f(1, 2), [3, 4])\n');
    const t = one(src);
    expect(t).toMatchObject({ family: 'self_assert', target: '[3, 4])', function: 'TestX.test_a' });
    expectCut(src, t, 'self.assertEqual(f(1, 2), ');
  });
  it('assertTrue / assertIsNone take their only argument, assertRaises its first', () => {
    expect(
      targets(cls('        self.assertTrue(ok)\n        self.assertIsNone(r.get("k"))\n        self.assertRaises(ValueError, int, "x")\n')),
    ).toEqual(['ok)', 'r.get("k"))', 'ValueError']);
  });
  it('drops the parenthesis after a trailing comma or a line break, and ignores a msg argument', () => {
    expect(
      targets(
        cls(
          '        self.assertEqual(\n            a,\n            b,\n        )\n        self.assertEqual(c, d\n        )\n        self.assertEqual(e, f, "msg")\n        self.assertTrue(g, msg="m")\n',
        ),
      ),
    ).toEqual(['b', 'd', 'f', 'g']);
  });
  it('treats `with self.assertRaises(E):` as a self assertion', () => {
    const src = cls(
      '        with self.assertRaises(KeyError) as cm:\n            d["x"]\n        self.assertEqual(cm.exception.args, ("x",))\n',
    );
    expect(run(src).tasks.map((t) => [t.family, t.target])).toEqual([
      ['self_assert', 'KeyError)'],
      ['self_assert', '("x",))'],
    ]);
  });
  it('uses the second argument of unknown two-argument helpers and ignores other objects', () => {
    expect(
      targets(cls('        self.assertJSONEqual(resp, expected)\n        mock.assert_called_once_with(1)\n        self.helper(1)\n')),
    ).toEqual(['expected)']);
  });
  it('marks calls with too few arguments, a splat or only a msg as malformed', () => {
    const r = run(cls('        self.assertEqual(a)\n        self.assertTrue(*args)\n        self.assertTrue(msg="m")\n'));
    expect(r.tasks).toEqual([]);
    expect(r.dropped.malformed).toBe(3);
  });
  it('reads the all-keyword style by position', () => {
    expect(
      targets(
        cls(
          '        self.assertEqual(first=a, second=b)\n        self.assertIn(\n            member=x,\n            container=str(y),\n        )\n',
        ),
      ),
    ).toEqual(['b)', 'str(y)']);
  });
});

describe('family: pytest.raises', () => {
  it('with-statement and call forms, aliases and from-imports', () => {
    const src =
      'import pytest\nimport pytest as pt\nfrom pytest import raises\n\ndef test_a():\n    with pytest.raises(ValueError):\n        f()\n    with pt.raises(TypeError, match="a, b"):\n        g()\n    raises(KeyError, d.__getitem__, "k")\n    with open(p) as fh, pytest.raises((OSError, IOError)) as e:\n        pass\n';
    const ts = run(src).tasks;
    expect(ts.map((t) => [t.family, t.target])).toEqual([
      ['pytest_raises', 'ValueError)'],
      ['pytest_raises', 'TypeError'],
      ['pytest_raises', 'KeyError'],
      ['pytest_raises', '(OSError, IOError))'],
    ]);
    expectCut(src, ts[0] as Task, 'with pytest.raises(');
  });
});

describe('family: pytest.approx', () => {
  it('cuts inside approx and takes its first argument', () => {
    const src =
      'import pytest\nfrom pytest import approx\n\ndef test_a():\n    assert mean([1, 2]) == pytest.approx(1.5)\n    assert x == approx(0.1, rel=1e-3)\n    assert y == pytest.approx([0.1, 0.2], abs=1e-9)\n';
    const ts = run(src).tasks;
    expect(ts.map((t) => [t.family, t.target])).toEqual([
      ['pytest_approx', '1.5)'],
      ['pytest_approx', '0.1'],
      ['pytest_approx', '[0.1, 0.2]'],
    ]);
    expectCut(src, ts[0] as Task, 'pytest.approx(');
  });
});

describe('family: numpy-style assert_*', () => {
  it('accepts numpy/pandas testing functions under any qualifier', () => {
    const src =
      'import numpy as np\nfrom numpy.testing import assert_array_equal\nimport pandas._testing as tm\n\ndef test_a():\n    np.testing.assert_allclose(a, [1.0, 2.0], rtol=1e-5)\n    assert_array_equal(b, np.arange(3))\n    tm.assert_frame_equal(df, expected)\n    np.testing.assert_raises(ValueError, f)\n    assert_valid(x, y)\n';
    expect(run(src).tasks.map((t) => [t.family, t.target])).toEqual([
      ['numpy_assert', '[1.0, 2.0]'],
      ['numpy_assert', 'np.arange(3))'],
      ['numpy_assert', 'expected)'],
      ['numpy_assert', 'ValueError'],
    ]);
  });
});

describe('filters', () => {
  it('drops module-level asserts and class-body asserts', () => {
    const r = run('assert VERSION == "1"\nclass TestX:\n    assert True\n    def test_a(self):\n        assert 1 == one\n');
    expect(r.tasks.map((t) => t.target)).toEqual(['one']);
    expect(r.dropped['module-level']).toBe(2);
    expect(r.assertions).toBe(3);
  });
  it('drops empty and punctuation-only targets', () => {
    const r = run('def test_a():\n    assert x == []\n    assert y == ""\n    self.assertEqual(z, {})\n    assert w == [0]\n');
    expect(r.tasks.map((t) => t.target)).toEqual(['[0]']);
    expect(r.dropped['punctuation-only']).toBe(3);
  });
  it('drops duplicate targets within one test function only', () => {
    const r = run('def test_a():\n    assert f(1) == 2\n    assert g(1) ==  2\n    assert h == 3\n\ndef test_b():\n    assert f(2) == 2\n');
    expect(r.tasks.map((t) => `${t.function}:${t.target}`)).toEqual(['test_a:2', 'test_a:3', 'test_b:2']);
    expect(r.dropped['duplicate-target']).toBe(1);
  });
  it('drops targets over the optional length cap', () => {
    const cfg = legacy();
    const r = run('def test_a():\n    assert x == "' + 'a'.repeat(50) + '"\n    assert y == 1\n', {
      ...cfg,
      filter: { maxTargetChars: 20 },
    });
    expect(r.tasks.map((t) => t.target)).toEqual(['1']);
    expect(r.dropped['target-too-long']).toBe(1);
  });
  it('skips a file with a syntax error (the caller keeps the other files)', () => {
    const r = extractFileTasks(parser, 'def test_a(:\n    assert x == 1\n', 'repo', 'tests/test_bad.py');
    expect(r).toMatchObject({ ok: false, reason: 'syntax-error' });
    if (!r.ok) expect(r.detail).toMatch(/repo\/tests\/test_bad\.py: .*line 1/);
  });
});

describe('decorators, async tests, nesting', () => {
  it('keeps decorators in the prefix and handles async tests', () => {
    const src =
      'import pytest\n\n@pytest.mark.parametrize("a,b", [(1, 2), (3, 4)])\n@pytest.mark.slow\ndef test_p(a, b):\n    assert a + 1 == b\n\n@pytest.mark.asyncio\nasync def test_async():\n    r = await fetch()\n    assert await r.json() == {"ok": True}\n';
    const ts = run(src).tasks;
    expect(ts.map((t) => t.target)).toEqual(['b', '{"ok": True}']);
    expect(ts[0]!.prefix).toContain(
      '@pytest.mark.parametrize("a,b", [(1, 2), (3, 4)])\n@pytest.mark.slow\ndef test_p(a, b):\n    assert a + 1 == ',
    );
    expect(ts[1]!.prefix).toContain('@pytest.mark.asyncio\nasync def test_async():');
  });
  it('finds assertions in nested blocks and nested functions, attributed to the outer test', () => {
    const ts = run(
      'def test_a():\n    for i in range(3):\n        if i:\n            try:\n                assert f(i) == i\n            except E:\n                pass\n    def inner():\n        assert g() == 5\n    with ctx():\n        assert h() == 6\n',
    );
    expect(ts.tasks.map((t) => `${t.function}:${t.target}`)).toEqual(['test_a:i', 'test_a:5', 'test_a:6']);
  });
});

describe('static prefix', () => {
  const src = [
    'import os',
    'from mod import thing',
    '',
    'CONST = 41',
    'UNUSED = 0',
    '',
    'def helper(x):',
    '    return x + 1',
    '',
    'def unused_helper():',
    '    pass',
    '',
    '@pytest.fixture',
    'def base():',
    '    return 1',
    '',
    '@pytest.fixture',
    'def data(base):',
    '    return [base]',
    '',
    'def test_other():',
    '    assert 1 == one',
    '',
    'class TestThing:',
    '    attr = 3',
    '',
    '    def setUp(self):',
    '        self.x = 1',
    '',
    '    def _make(self):',
    '        return thing()',
    '',
    '    def _unused(self):',
    '        pass',
    '',
    '    def test_sibling(self):',
    '        pass',
    '',
    '    def test_it(self, data):',
    '        obj = self._make()',
    '        assert helper(CONST) == 42',
    '        assert obj.name == SECRET',
    '',
  ].join('\n');
  it('holds imports, referenced helpers and fixtures (with their own fixtures), the class and the body', () => {
    const ts = run(src).tasks.filter((t) => t.function === 'TestThing.test_it');
    expect(ts).toHaveLength(2);
    expect(ts[0]!.prefix).toBe(
      [
        'import os\nfrom mod import thing',
        'CONST = 41',
        'def helper(x):\n    return x + 1',
        '@pytest.fixture\ndef base():\n    return 1',
        '@pytest.fixture\ndef data(base):\n    return [base]',
        'class TestThing:\n\n    attr = 3\n\n    def setUp(self):\n        self.x = 1\n\n    def _make(self):\n        return thing()',
        '    def test_it(self, data):\n        obj = self._make()\n        assert helper(CONST) == ',
      ].join('\n\n'),
    );
    expect(ts[0]!.target).toBe('42');
    // A name used only in the target is not pulled in (no leak), and no other test appears.
    expect(ts[1]!.prefix).not.toContain('SECRET =');
    expect(ts[1]!.prefix).not.toContain('test_sibling');
    expect(ts[1]!.prefix).not.toContain('unused');
  });
});

describe('robustness', () => {
  it('handles non-ASCII text with correct offsets', () => {
    const src = 'def test_é():\n    s = "日本語😀"\n    assert s == "ü😀"\n    assert t == 2\n';
    const ts = run(src).tasks;
    expect(ts.map((t) => t.target)).toEqual(['"ü😀"', '2']);
    expectCut(src, ts[1] as Task, 'assert t == ');
  });
  it('copes with an empty file and a file of only comments', () => {
    expect(run('').tasks).toEqual([]);
    expect(run('# nothing\n').tasks).toEqual([]);
  });
});
