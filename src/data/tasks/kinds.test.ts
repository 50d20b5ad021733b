import { describe, expect, it } from 'vitest';
import { isPyFloat, targetKind } from './kinds.js';

describe("target kinds (the released builder's classifier)", () => {
  it('classifies in order, on the target without trailing ")"', () => {
    const cases: [string, string][] = [
      ['True', 'bool_literal'],
      ['False)', 'bool_literal'],
      ['None))', 'none_literal'],
      ['"x"', 'string_literal'],
      ["b'\\x00')", 'string_literal'],
      ['f"{a}"', 'string_literal'],
      ["r'x'", 'complex_expr'],
      ['42', 'numeric_literal'],
      ['-1.5e3)', 'numeric_literal'],
      ['1_000', 'numeric_literal'],
      ['inf', 'numeric_literal'],
      ['nan)', 'numeric_literal'],
      ['[1, 2]', 'collection'],
      ['(a, b))', 'collection'],
      ['{}', 'collection'],
      ['f(x)', 'func_call'],
      ['a.b(c))', 'func_call'],
      ['x[f(1)]', 'func_call'],
      ['result', 'variable'],
      ['_x1)', 'variable'],
      ['données', 'variable'],
      ['a.b', 'complex_expr'],
      ['x + 1', 'complex_expr'],
      ['ValueError, match="m")', 'complex_expr'],
      ['-x', 'complex_expr'],
    ];
    for (const [t, k] of cases) expect([t, targetKind(t)]).toEqual([t, k]);
  });
  it('accepts what Python float() accepts', () => {
    for (const s of ['1_000', '.5', '5.', '1e5', '1E-5', 'inf', 'Infinity', 'nan', ' 1 ', '+1', '١٢'])
      expect([s, isPyFloat(s)]).toEqual([s, true]);
    for (const s of ['1__0', '_1', '1j', '0x10', '', '.', 'e5', '1.5e', '--1', '1.2.3']) expect([s, isPyFloat(s)]).toEqual([s, false]);
  });
});
