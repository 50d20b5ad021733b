import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(42),
      b = new Rng(42),
      c = new Rng(43);
    const xa = Array.from({ length: 8 }, () => a.nextU32());
    const xb = Array.from({ length: 8 }, () => b.nextU32());
    const xc = Array.from({ length: 8 }, () => c.nextU32());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
  });
  it('next() is in [0,1) and roughly uniform', () => {
    const r = new Rng(1);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const x = r.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      sum += x;
    }
    expect(Math.abs(sum / 20000 - 0.5)).toBeLessThan(0.01);
  });
  it('int(n) covers [0,n) and shuffle is a permutation', () => {
    const r = new Rng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(r.int(5));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4]);
    const arr = Array.from({ length: 50 }, (_, i) => i);
    const sh = new Rng(7).shuffle([...arr]);
    expect([...sh].sort((x, y) => x - y)).toEqual(arr);
    expect(sh).not.toEqual(arr);
    expect(new Rng(7).shuffle([...arr])).toEqual(sh);
  });
  it('fork(name) is independent of consumption and of other names', () => {
    const r = new Rng(9);
    const f1 = r.fork('data').nextU32();
    r.nextU32();
    r.nextU32();
    expect(r.fork('data').nextU32()).toBe(f1);
    expect(r.fork('init').nextU32()).not.toBe(f1);
    expect(() => r.int(0)).toThrow(/positive integer/);
  });
});
