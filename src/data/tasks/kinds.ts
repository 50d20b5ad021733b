// Target kinds, as the released builder (version 2) classifies targets for its per-repository
// allotment. The checks run in order on the target trimmed and stripped of trailing ')':
//   True/False -> bool_literal; None -> none_literal; starts with ' " b' b" f' f" -> string_literal;
//   a Python float() literal once one '-' is removed -> numeric_literal; starts with [ ( { -> collection;
//   '(' anywhere in the target -> func_call; an identifier -> variable; else complex_expr.
import { pyStrip } from '../../util/pystr.js';
import type { TargetKind } from './types.js';

const DIGITS = '\\p{Nd}(?:_?\\p{Nd})*';
/** What Python's float() accepts (surrounding whitespace included): decimals, exponents, inf, nan. */
const PY_FLOAT = new RegExp(
  `^[\\s]*[+-]?(?:(?:${DIGITS})?\\.${DIGITS}(?:[eE][+-]?${DIGITS})?|${DIGITS}\\.?(?:[eE][+-]?${DIGITS})?|inf|infinity|nan)[\\s]*$`,
  'iu',
);
const IDENTIFIER = /^[\p{ID_Start}_][\p{ID_Continue}]*$/u;

/** Whether Python's float(s) would succeed. */
export function isPyFloat(s: string): boolean {
  return PY_FLOAT.test(s);
}

export function targetKind(target: string): TargetKind {
  const t = pyStrip(target).replace(/\)+$/, '');
  if (t === 'True' || t === 'False') return 'bool_literal';
  if (t === 'None') return 'none_literal';
  if (/^(?:['"]|[bf]['"])/.test(t)) return 'string_literal';
  if (isPyFloat(t.replace('-', ''))) return 'numeric_literal';
  if (/^[[({]/.test(t)) return 'collection';
  if (target.includes('(')) return 'func_call';
  if (IDENTIFIER.test(t)) return 'variable';
  return 'complex_expr';
}
