// Balanced selection on a hand-made repository: each cap, the (file, target) deduplication and the
// allotment of the repository cap across target kinds.
import { describe, expect, it } from 'vitest';
import { defaultSelectConfig, noSelectConfig, selectBalanced, validateSelectConfig, type Selectable } from './select.js';
import { targetKind } from './kinds.js';

interface T extends Selectable {
  id: string;
}
let n = 0;
const t = (file: string, testFunction: string, target: string, multiline = false): T => ({
  id: `t${n++}`,
  file,
  testFunction,
  target,
  multiline,
  kind: targetKind(target),
});
const ids = (xs: T[]) => xs.map((x) => x.id);
const sel = (xs: T[], c: Partial<ReturnType<typeof defaultSelectConfig>>) => selectBalanced(xs, (x) => x, { ...noSelectConfig(), ...c });

describe('selectBalanced', () => {
  it('per function: keeps the best N, single-line first, then shorter targets, ties in input order', () => {
    const xs = [
      t('a.py', 'f', 'longer_name'),
      t('a.py', 'f', '{ "k": 1 }', true),
      t('a.py', 'f', 'x'),
      t('a.py', 'f', 'yy'),
      t('a.py', 'f', 'zz'),
      t('a.py', 'g', 'long_target_in_g'),
    ];
    const r = sel(xs, { maxPerFunction: 3 });
    expect(r.kept.map((x) => x.target)).toEqual(['x', 'yy', 'zz', 'long_target_in_g']);
    expect(r.removed).toEqual({ 'function-cap': 2, 'file-cap': 0, duplicate: 0, 'repo-cap': 0 });
  });
  it('groups by (file, bare function name): the same name in two files is two groups', () => {
    const xs = [t('a.py', 'f', '1'), t('a.py', 'f', '2'), t('b.py', 'f', '3'), t('b.py', 'f', '4')];
    expect(sel(xs, { maxPerFunction: 1 }).kept.map((x) => x.target)).toEqual(['1', '3']);
  });
  it('per file: keeps the best N of each file after the function cap', () => {
    const xs = [t('a.py', 'f', 'aaa'), t('a.py', 'g', 'b'), t('a.py', 'h', 'cc'), t('b.py', 'f', 'dddd')];
    const r = sel(xs, { maxPerFunction: 5, maxPerFile: 2 });
    expect(r.kept.map((x) => x.target)).toEqual(['b', 'cc', 'dddd']);
    expect(r.removed['file-cap']).toBe(1);
  });
  it('drops duplicates of (file, target) after the caps (duplicates use up cap places first)', () => {
    const xs = [t('a.py', 'f', 'x'), t('a.py', 'f', 'x'), t('a.py', 'f', 'y'), t('b.py', 'f', 'x')];
    const r = sel(xs, { maxPerFunction: 2 });
    expect(r.kept.map((x) => [x.file, x.target])).toEqual([
      ['a.py', 'x'],
      ['b.py', 'x'],
    ]);
    expect(r.removed).toEqual({ 'function-cap': 1, 'file-cap': 0, duplicate: 1, 'repo-cap': 0 });
  });
  it('per repository: slots allotted to kinds in proportion (floors, then largest remainders), best of each kind', () => {
    // 10 tasks: 5 variables, 3 numbers, 2 calls; cap 4 -> exact shares 2.0, 1.2, 0.8 -> floors 2, 1, 0,
    // one slot left goes to the largest remainder (calls, 0.8).
    const xs = [
      t('a.py', 'f1', 'long_var'),
      t('a.py', 'f1', 'v'),
      t('a.py', 'f2', 'ww'),
      t('a.py', 'f2', 'xyz'),
      t('a.py', 'f3', 'q'),
      t('a.py', 'f4', '100'),
      t('a.py', 'f4', '7'),
      t('a.py', 'f5', '3.5'),
      t('a.py', 'f6', 'g(1, 2)'),
      t('a.py', 'f6', 'h(x)'),
    ];
    const r = sel(xs, { maxPerRepo: 4 });
    expect(r.kept.map((x) => x.target)).toEqual(['v', 'q', '7', 'h(x)']);
    expect(r.removed['repo-cap']).toBe(6);
  });
  it('applies all caps in order with the defaults (5 / 20 / 200) and keeps a small repository whole', () => {
    expect(defaultSelectConfig()).toEqual({ maxPerFunction: 5, maxPerFile: 20, maxPerRepo: 200 });
    const xs = [t('a.py', 'f', '1'), t('a.py', 'g', '2')];
    expect(ids(selectBalanced(xs, (x) => x).kept)).toEqual(ids(xs));
    // 300 distinct tasks in 30 files of 10 functions of 1 task each: the file cap does nothing, the repo cap keeps 200.
    const many: T[] = [];
    for (let f = 0; f < 30; f++) for (let g = 0; g < 10; g++) many.push(t(`f${f}.py`, `g${g}`, g % 2 ? `name_${f}_${g}` : `${f * 10 + g}`));
    const r = selectBalanced(many, (x) => x);
    expect(r.kept).toHaveLength(200);
    expect(r.kept.filter((x) => x.kind === 'numeric_literal')).toHaveLength(100);
    expect(r.removed).toEqual({ 'function-cap': 0, 'file-cap': 0, duplicate: 0, 'repo-cap': 100 });
  });
  it('no caps: everything kept, duplicates included; bad caps are rejected', () => {
    const xs = [t('a.py', 'f', 'x'), t('a.py', 'f', 'x')];
    expect(selectBalanced(xs, (x) => x, noSelectConfig()).kept).toHaveLength(2);
    expect(() => validateSelectConfig({ maxPerFunction: -1, maxPerFile: 20, maxPerRepo: 200 })).toThrow(/SelectConfig.maxPerFunction/);
  });
});
