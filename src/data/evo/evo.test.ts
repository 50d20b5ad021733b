// The evolution track on small git repositories built here with the git CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildEvoTasks, defaultEvoConfig, repoName, type EvoReport } from './build.js';
import { isProductionPath, productionPathspecs } from './paths.js';
import type { CommitRecord, EvoTask } from '../tasks/types.js';

let work: string;
let repo: string;
let other: string;
const sha: Record<string, string> = {};

function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=t', '-c', 'user.email=t@e', '-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', '-C', cwd, ...args],
    { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_DATE: '2020-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2020-01-01T00:00:00Z' } },
  ).trim();
}
function write(rel: string, text: string, root = repo): void {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), text);
}
function commit(name: string, root = repo): void {
  git(root, 'add', '-A');
  git(root, 'commit', '-qm', name);
  sha[name] = git(root, 'rev-parse', 'HEAD');
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'evo-'));
  repo = path.join(work, 'proj');
  mkdirSync(repo);
  git(repo, 'init', '-q');
  write('pkg/mod.py', 'def f(x):\n    return x + 1\n');
  write('tests/test_a.py', 'from pkg.mod import f\n\ndef test_a():\n    assert f(1) == 2\n    assert f(2) == 3\n');
  commit('A');
  write('pkg/mod.py', 'def f(x):\n    """Add one."""\n    return x + 1\n');
  write('README.md', '# proj\n');
  commit('B'); // production code only: not kept
  write('tests/test_a.py', 'from pkg.mod import f\n\ndef test_a():\n    assert f(1) == 2\n    assert f(2) == 33\n    assert f(3) == 4\n');
  write('pkg/mod.py', 'def f(x):\n    """Add one."""\n    return x + 1\n\ndef g():\n    return 0\n');
  write('vendor/lib.py', 'x = 1\n');
  write('docs/guide.rst', 'Guide\n=====\n');
  write('tests/helpers.py', 'H = 1\n');
  write('pkg/testing_utils.py', 'T = 1\n');
  commit('C'); // one changed and one new assertion
  git(repo, 'mv', 'tests/test_a.py', 'tests/test_b.py');
  commit('D'); // a rename: nothing new
  write('tests/test_many.py', `def test_many():\n${Array.from({ length: 12 }, (_, i) => `    assert h(${i}) == ${i * 7}\n`).join('')}`);
  write('tests/test_broken.py', 'def test_x(:\n    assert 1 == 1\n');
  commit('E'); // 12 new assertions: 8 kept
  git(repo, 'checkout', '-qb', 'side');
  write(
    'tests/test_b.py',
    'from pkg.mod import f\n\ndef test_a():\n    assert f(1) == 2\n    assert f(2) == 33\n    assert f(3) == 4\n\ndef test_side():\n    assert f(10) == 11\n',
  );
  commit('S');
  git(repo, 'checkout', '-q', 'main');
  write('pkg/mod.py', 'def f(x):\n    """Add one."""\n    return x + 1\n\ndef g():\n    return 1\n');
  commit('F'); // production code only
  git(repo, 'merge', '-q', '--no-ff', '-m', 'M', 'side');
  sha.M = git(repo, 'rev-parse', 'HEAD');

  other = path.join(work, 'other');
  mkdirSync(other);
  git(other, 'init', '-q');
  write('test_x.py', 'def test_x():\n    self.assertEqual(a, b)\n', other);
  commit('X1', other);
  write('test_x.py', 'def test_x():\n    self.assertEqual(a, b)\n    self.assertTrue(c)\n', other);
  commit('X2', other);
  mkdirSync(path.join(work, 'empty'));
  git(path.join(work, 'empty'), 'init', '-q');
  mkdirSync(path.join(work, 'notgit'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const readJsonl = <T>(f: string): T[] =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

describe('tasks evo', () => {
  let r: EvoReport;
  let tasks: EvoTask[];
  let commits: (CommitRecord & { split: string })[];
  beforeAll(async () => {
    r = await buildEvoTasks({
      ...defaultEvoConfig(),
      repos: [repo, other, path.join(work, 'empty'), path.join(work, 'notgit')],
      outDir: path.join(work, 'out'),
      split: { ...defaultEvoConfig().split, crTest: 1, crVal: 0 },
    });
    tasks = ['train', 'ir-val', 'ir-test', 'cr-val', 'cr-test'].flatMap((s) => readJsonl<EvoTask>(path.join(work, 'out', `${s}.jsonl`)));
    commits = readJsonl(path.join(work, 'out', 'commits.jsonl'));
  });

  it('keeps commits that add or change assertions, oldest first', () => {
    const mine = commits.filter((c) => c.repo === 'proj');
    expect(mine.map((c) => c.commit)).toEqual([sha.A, sha.C, sha.E, sha.M]);
    expect(mine.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    const byCommit = (s: string | undefined): string[] => tasks.filter((t) => t.commit === s).map((t) => t.target);
    expect(byCommit(sha.A)).toEqual(['2', '3']);
    expect(byCommit(sha.C)).toEqual(['33', '4']);
    expect(byCommit(sha.M)).toEqual(['11']);
    expect(byCommit(sha.E)).toHaveLength(8);
    expect(new Set(byCommit(sha.E)).size).toBe(8);
    expect(r.repos.find((x) => x.repo === 'proj')).toMatchObject({ commitsWalked: 7, keptCommits: 4, tasks: 13 });
  });

  it('gives each task the whole file up to the cut, and its commit index', () => {
    const t = tasks.find((x) => x.commit === sha.C && x.target === '4') as EvoTask;
    expect(t.prefix).toBe('from pkg.mod import f\n\ndef test_a():\n    assert f(1) == 2\n    assert f(2) == 33\n    assert f(3) == ');
    expect(t).toMatchObject({ repo: 'proj', file: 'tests/test_a.py', line: 6, family: 'assert', commitIndex: 1 });
    expect(t.id).toBe(`proj/tests/test_a.py:6:19@${sha.C?.slice(0, 12)}`);
    expect(Object.keys(t)).toEqual(['id', 'repo', 'file', 'line', 'family', 'prefix', 'target', 'function', 'commit', 'commitIndex']);
  });

  it('stores each kept commit production diff from the previous kept commit, tests and vendor excluded', () => {
    const c = commits.find((x) => x.commit === sha.C) as CommitRecord;
    expect(c.diff).toContain('diff --git a/pkg/mod.py b/pkg/mod.py');
    expect(c.diff).toContain('+    """Add one."""'); // from B, which was not kept
    expect(c.diff).toContain('diff --git a/README.md b/README.md');
    expect(c.diff).toContain('diff --git a/docs/guide.rst b/docs/guide.rst');
    expect(c.diff).not.toMatch(/tests\/|vendor\/|testing_utils/);
    const a = commits.find((x) => x.commit === sha.A) as CommitRecord;
    expect(a.diff).toContain('new file mode');
    expect(a.diff).toContain('pkg/mod.py');
    expect(a.diff).not.toContain('tests/');
    const m = commits.find((x) => x.commit === sha.M) as CommitRecord;
    expect(m.diff).toContain('-    return 0'); // F's change, between kept E and M
  });

  it('splits chronologically in training repositories and by repository across repos', () => {
    expect(commits.filter((c) => c.repo === 'proj').map((c) => c.split)).toEqual(['train', 'train', 'ir-val', 'ir-test']);
    expect(commits.filter((c) => c.repo === 'other').map((c) => c.split)).toEqual(['cr-test', 'cr-test']);
    expect(r.stats.tasks).toMatchObject({ 'cr-test': 2, 'ir-test': 1, 'ir-val': 8, train: 4 });
    expect(r.stats.commits.total).toBe(6);
  });

  it('reports an empty repository and a folder that is not a git repository', () => {
    expect(r.skipped.map((s) => path.basename(s.path))).toEqual(['empty', 'notgit']);
    expect(r.skipped[0]?.reason).toMatch(/empty repository/);
    expect(r.skipped[1]?.reason).toMatch(/not a git repository/);
  });

  it('is deterministic', async () => {
    const again = await buildEvoTasks({
      ...defaultEvoConfig(),
      repos: [repo, other],
      outDir: path.join(work, 'out2'),
      split: { ...defaultEvoConfig().split, crTest: 1, crVal: 0 },
    });
    expect(again.stats.tasks).toEqual(r.stats.tasks);
    expect(readFileSync(path.join(work, 'out2', 'ir-val.jsonl'), 'utf8')).toBe(
      readFileSync(path.join(work, 'out', 'ir-val.jsonl'), 'utf8'),
    );
  });
});

describe('production paths', () => {
  it('git pathspecs select the same files as the rule', () => {
    const files = [
      'pkg/a.py',
      'README.md',
      'docs/x.rst',
      'docs/X.RST',
      'tests/t.py',
      'pkg/test_x.py',
      'pkg/testing/u.py',
      'Tests/u.py',
      'vendor/v.py',
      'pkg/_vendor/w.py',
      'a/third_party/b.md',
      'setup.cfg',
      'pkg/data.json',
      'contest.py',
      'x/y/z.py',
      'attestation.py',
    ];
    const dir = path.join(work, 'paths');
    mkdirSync(dir);
    git(dir, 'init', '-q');
    for (const f of files) write(f, 'x\n', dir);
    commit('P', dir);
    const viaGit = git(dir, 'ls-files', '--', ...productionPathspecs())
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(viaGit).toEqual(files.filter(isProductionPath).sort());
    expect(viaGit).toEqual(['README.md', 'docs/X.RST', 'docs/x.rst', 'pkg/a.py', 'x/y/z.py']);
  });
  it('names repositories after their folder (or its parent for repo / .git)', () => {
    expect(repoName('/m/pallets+click/repo')).toBe('pallets+click');
    expect(repoName('/src/attrs/.git')).toBe('attrs');
    expect(repoName('/src/toolz.git')).toBe('toolz');
  });
});
