import { describe, expect, it } from 'vitest';
import { assignRepos, chronologicalRoles, defaultSplitConfig, splitInRepo, validateSplitConfig } from './splits.js';
import { computeStats, median } from './stats.js';
import type { Task } from './types.js';

const repos = Array.from({ length: 100 }, (_, i) => `repo${String(i).padStart(3, '0')}`);

describe('cross-repo assignment', () => {
  it('is deterministic per seed, independent of input order, 10%/10% by default', () => {
    const cfg = defaultSplitConfig();
    const a = assignRepos(repos, cfg);
    const b = assignRepos([...repos].reverse(), cfg);
    expect([...a].sort()).toEqual([...b].sort());
    const count = (m: Map<string, string>, r: string): number => [...m.values()].filter((x) => x === r).length;
    expect([count(a, 'cr-test'), count(a, 'cr-val'), count(a, 'train')]).toEqual([10, 10, 80]);
    const c = assignRepos(repos, { ...cfg, seed: 1 });
    expect([...c]).not.toEqual([...a]);
  });
  it('accepts counts and always keeps a training repository', () => {
    const m = assignRepos(repos, { ...defaultSplitConfig(), crTest: 52, crVal: 30 });
    expect([...m.values()].filter((r) => r === 'cr-test')).toHaveLength(52);
    const small = assignRepos(['a', 'b'], { ...defaultSplitConfig(), crTest: 5, crVal: 5 });
    expect([...small.values()]).toContain('train');
    expect(assignRepos(['solo'], defaultSplitConfig()).get('solo')).toBe('train');
  });
  it('rejects bad configs with the field name', () => {
    expect(() => validateSplitConfig({ ...defaultSplitConfig(), irVal: 0.6, irTest: 0.5 })).toThrow(/irVal \+ irTest/);
    expect(() => validateSplitConfig({ ...defaultSplitConfig(), crTest: 2.5 })).toThrow(/SplitConfig.crTest/);
  });
});

describe('in-repo splits', () => {
  it('static: a seeded 8:1:1 that keeps every item exactly once', () => {
    const items = Array.from({ length: 200 }, (_, i) => i);
    const s = splitInRepo(items, 'r', defaultSplitConfig());
    expect([s.train.length, s['ir-val'].length, s['ir-test'].length]).toEqual([160, 20, 20]);
    expect([...s.train, ...s['ir-val'], ...s['ir-test']].sort((x, y) => x - y)).toEqual(items);
    expect(splitInRepo(items, 'r', defaultSplitConfig())).toEqual(s);
    expect(splitInRepo(items, 'other', defaultSplitConfig()).train).not.toEqual(s.train);
  });
  it('evolution: chronological 80/10/10 with the newest commits last', () => {
    expect(chronologicalRoles(10, defaultSplitConfig())).toEqual([...Array(8).fill('train'), 'ir-val', 'ir-test']);
    const r = chronologicalRoles(100, defaultSplitConfig());
    expect(r.lastIndexOf('train')).toBe(79);
    expect(r.indexOf('ir-test')).toBe(90);
    expect(chronologicalRoles(3, defaultSplitConfig())).toEqual(['train', 'ir-val', 'ir-test']);
    expect(chronologicalRoles(2, defaultSplitConfig())).toEqual(['train', 'train']);
    expect(chronologicalRoles(1, defaultSplitConfig())).toEqual(['train']);
  });
});

describe('stats', () => {
  it('counts per split and family, medians in characters and tokens', () => {
    const t = (family: Task['family'], prefix: string, target: string): Task => ({
      id: prefix,
      repo: 'r',
      file: 'f',
      line: 1,
      family,
      prefix,
      target,
      function: 'test',
    });
    const s = computeStats(
      { train: [t('assert', 'ab', 'x'), t('self_assert', 'abcd', 'xyz')], 'cr-test': [t('assert', 'abcdef', 'xy')] },
      { total: 2 },
      { countTokens: (x) => x.length * 2 },
    );
    expect(s.tasks).toEqual({ train: 2, 'cr-test': 1, total: 3 });
    expect(s.families).toMatchObject({ assert: 2, self_assert: 1, pytest_raises: 0 });
    expect(s.median).toMatchObject({ prefixChars: 4, targetChars: 2, prefixTokens: 8, targetTokens: 4, tokenSample: 3 });
    expect(s.medianBySplit.train).toMatchObject({ prefixChars: 3, targetChars: 2 });
    expect(median([])).toBe(0);
  });
});
