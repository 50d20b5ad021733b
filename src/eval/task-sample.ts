// A seeded per-repository sample of tasks (for ablations): at most k tasks of each repository, the
// same k for the same seed whatever the order of the input, original order kept.
import { Rng } from '../util/rng.js';

export function sampleTasksPerRepo<T extends { id: string; repo: string }>(tasks: readonly T[], k: number, seed: number): T[] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`sampleTasksPerRepo: k must be a positive integer, got ${k}`);
  const byRepo = new Map<string, T[]>();
  for (const t of tasks) {
    const g = byRepo.get(t.repo);
    if (g) g.push(t);
    else byRepo.set(t.repo, [t]);
  }
  const keep = new Set<string>();
  for (const [repo, ts] of byRepo) {
    const sorted = [...ts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const t of ts.length <= k ? sorted : new Rng(seed).fork(`sample:${repo}`).shuffle(sorted).slice(0, k)) keep.add(t.id);
  }
  return tasks.filter((t) => keep.has(t.id));
}

/** n tasks spread evenly over the repositories (at most ceil(n / repositories) each), in a seeded
 *  order: the validation sample pretraining scores at every evaluation, and comparisons re-score. */
export function sampleTasksEvenly<T extends { id: string; repo: string }>(tasks: readonly T[], n: number, seed: number): T[] {
  const repos = new Set(tasks.map((t) => t.repo)).size;
  if (repos === 0) throw new Error('sampleTasksEvenly: no tasks');
  return new Rng(seed)
    .fork('val-tasks')
    .shuffle(sampleTasksPerRepo(tasks, Math.ceil(n / repos), seed))
    .slice(0, n);
}
