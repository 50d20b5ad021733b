// Reading a built evolution track (`code2lora tasks evo --out DIR`): the kept commits of each
// repository (commits.jsonl, oldest first, with their split) and the tasks of each split.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTaskFile } from '../tasks/format.js';
import type { CommitRecord, EvoTask, SplitName } from '../tasks/types.js';

export type TrackCommit = CommitRecord & { split: SplitName };

/** Each repository's kept commits, sorted by index (a gap in the indices is an error naming it). */
export function readTrackCommits(tasksDir: string): Map<string, TrackCommit[]> {
  const file = join(tasksDir, 'commits.jsonl');
  if (!existsSync(file)) throw new Error(`no ${file}: build the evolution track with \`code2lora tasks evo\``);
  const byRepo = new Map<string, TrackCommit[]>();
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      let c: TrackCommit;
      try {
        c = JSON.parse(line) as TrackCommit;
      } catch {
        throw new Error(`${file}:${i + 1}: not JSON`);
      }
      if (typeof c.repo !== 'string' || typeof c.commit !== 'string' || !Number.isInteger(c.index) || typeof c.diff !== 'string')
        throw new Error(`${file}:${i + 1}: not a commit record (repo, commit, index, diff)`);
      const list = byRepo.get(c.repo) ?? [];
      list.push(c);
      byRepo.set(c.repo, list);
    });
  for (const [repo, list] of byRepo) {
    list.sort((a, b) => a.index - b.index);
    list.forEach((c, i) => {
      if (c.index !== i) throw new Error(`${file}: repository ${repo} has no commit with index ${i}`);
    });
  }
  return byRepo;
}

/** One split's evolution tasks. */
export function readTrackTasks(tasksDir: string, split: SplitName): EvoTask[] {
  return readTaskFile<EvoTask>(join(tasksDir, `${split}.jsonl`));
}

/** Repository name -> git directory: from --repos-dir (NAME or NAME/repo under it), else the paths
 *  the track recorded in stats.json. */
export function trackRepoDirs(tasksDir: string, reposDir: string | undefined, names: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  let recorded: Map<string, string> = new Map();
  const stats = join(tasksDir, 'stats.json');
  if (existsSync(stats)) {
    const s = JSON.parse(readFileSync(stats, 'utf8')) as { repoDetails?: { repo: string; path: string }[] };
    recorded = new Map((s.repoDetails ?? []).map((r) => [r.repo, r.path]));
  }
  for (const name of names) {
    const cands = reposDir ? [join(reposDir, name, 'repo'), join(reposDir, name)] : [recorded.get(name) ?? ''];
    const dir = cands.find((c) => c && existsSync(c));
    if (dir) out.set(name, dir);
  }
  return out;
}
