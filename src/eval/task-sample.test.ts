// The seeded task samples: per repository, and n tasks spread evenly over the repositories.
import { describe, expect, it } from 'vitest';
import { sampleTasksEvenly, sampleTasksPerRepo } from './task-sample.js';

const tasks = ['a', 'b', 'c'].flatMap((repo, r) => Array.from({ length: 10 + 5 * r }, (_, i) => ({ id: `${repo}-${i}`, repo })));

describe('task samples', () => {
  it('keeps at most k per repository, the same k whatever the input order', () => {
    const s = sampleTasksPerRepo(tasks, 3, 1);
    expect(s.length).toBe(9);
    expect(new Set(sampleTasksPerRepo([...tasks].reverse(), 3, 1).map((t) => t.id))).toEqual(new Set(s.map((t) => t.id)));
  });

  it('spreads n tasks evenly over the repositories, reproducibly', () => {
    const s = sampleTasksEvenly(tasks, 12, 0);
    expect(s.length).toBe(12);
    const perRepo = ['a', 'b', 'c'].map((r) => s.filter((t) => t.repo === r).length);
    expect(Math.max(...perRepo)).toBeLessThanOrEqual(4);
    expect(sampleTasksEvenly(tasks, 12, 0)).toEqual(s);
    expect(sampleTasksEvenly(tasks, 12, 1)).not.toEqual(s);
    expect(() => sampleTasksEvenly([], 4, 0)).toThrow(/no tasks/);
  });
});
