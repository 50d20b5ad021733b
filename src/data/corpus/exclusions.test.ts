// The contamination guard of extra pretraining data: refused by name (benchmark and listed
// projects), vendored copies of benchmark test files and of cross-repo files dropped by hash.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildContaminationGuard, extraPretrainFiles, normalizeProjectName } from './exclusions.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-excl-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function corpus(dir: string, projects: Record<string, Record<string, string>>): string {
  for (const [name, files] of Object.entries(projects)) {
    for (const [rel, body] of Object.entries(files)) {
      mkdirSync(join(dir, 'projects', name, rel, '..'), { recursive: true });
      writeFileSync(join(dir, 'projects', name, rel), body);
    }
  }
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      format: 'code2lora-corpus',
      version: 1,
      projects: Object.keys(projects).map((name) => ({ name, version: '1', dir: `projects/${name}`, sha256: null })),
    }),
  );
  return dir;
}

// benchmark: "trainy" (training repo), "valy" (cr-val), "testy" (cr-test)
const bench = corpus(join(root, 'bench'), {
  trainy: { 'trainy/core.py': 'def core():\n    return 1\n', 'tests/test_core.py': 'def test_core():\n    assert core() == 1\n' },
  valy: { 'valy/v.py': 'VAL = 2\n' },
  'python-testy': { 'testy/t.py': 'SECRET = 3\n' },
});
const tasks = join(root, 'tasks');
mkdirSync(tasks);
writeFileSync(join(tasks, 'cr-val.jsonl'), JSON.stringify({ repo: 'valy' }) + '\n');
writeFileSync(join(tasks, 'cr-test.jsonl'), JSON.stringify({ repo: 'python-testy' }) + '\n');

describe('contamination guard', () => {
  it('compares bare project names', () => {
    expect(normalizeProjectName('python-dateutil')).toBe('dateutil');
    expect(normalizeProjectName('https://github.com/pallets/click')).toBe('click');
    expect(normalizeProjectName('python3-more_itertools')).toBe('more-itertools');
  });

  it('refuses an extra corpus holding a cross-repo test project, naming it', async () => {
    const guard = await buildContaminationGuard(bench, [tasks], []);
    const bad = corpus(join(root, 'bad'), { testy: { 'x.py': 'X = 1\n' }, fine: { 'f.py': 'F = 1\n' } });
    await expect(extraPretrainFiles(bad, guard, { maxBytesPerProject: 1e6, order: (_, l) => l })).rejects.toThrow(
      /testy \(benchmark cr-test project python-testy\)/,
    );
  });

  it('refuses projects on an extra exclusion list (evolution track)', async () => {
    const guard = await buildContaminationGuard(bench, [tasks], [{ name: 'https://github.com/pallets/click', why: 'evolution track' }]);
    const bad = corpus(join(root, 'bad2'), { 'python-click': { 'c.py': 'C = 1\n' } });
    await expect(extraPretrainFiles(bad, guard, { maxBytesPerProject: 1e6, order: (_, l) => l })).rejects.toThrow(
      /python-click \(evolution track\)/,
    );
  });

  it('drops vendored copies of benchmark test files and of cross-repo files by content, keeps the rest (tests included)', async () => {
    const guard = await buildContaminationGuard(bench, [tasks], []);
    const extra = corpus(join(root, 'extra'), {
      other: {
        'vendor/test_core.py': 'def test_core():\n    assert core() == 1\n', // copy of a benchmark test file
        'vendor/t.py': 'SECRET = 3\n', // copy of a cr-test production file
        'vendor/core.py': 'def core():\n    return 1\n', // copy of training production code: allowed
        'tests/test_own.py': 'def test_own():\n    assert 2 == 2\n',
      },
    });
    const r = await extraPretrainFiles(extra, guard, { maxBytesPerProject: 1e6, order: (_, l) => l });
    expect(r.droppedByHash.map((d) => d.file).sort()).toEqual(['other/vendor/t.py', 'other/vendor/test_core.py']);
    expect(r.droppedByHash.find((d) => d.file.endsWith('t.py'))!.copyOf).toBe('python-testy/testy/t.py');
    expect(r.files.map((f) => f.split('/projects/')[1]).sort()).toEqual(['other/tests/test_own.py', 'other/vendor/core.py']);
    expect(r.testFiles.map((f) => f.split('/projects/')[1])).toEqual(['other/tests/test_own.py']); // the test-share stream
    expect(r.projects[0].files).toBe(2);
  });

  it('caps the bytes taken per project', async () => {
    const guard = await buildContaminationGuard(bench, [tasks], []);
    const extra = corpus(join(root, 'big'), { big: { 'a.py': 'A = 1\n'.repeat(10), 'b.py': 'B = 2\n'.repeat(10), 'c.py': 'C = 3\n' } });
    const r = await extraPretrainFiles(extra, guard, { maxBytesPerProject: 70, order: (_, l) => l });
    expect(r.files.map((f) => f.split('/').pop())).toEqual(['a.py', 'c.py']);
    expect(r.cappedFiles).toBe(1);
  });
});
