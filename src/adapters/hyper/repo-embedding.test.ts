// Repository encoder: windows, pooling, the per-file cache (hit, one-file change, corruption) and
// bad repositories (no Python, only tests, binary / non-UTF-8 files, symlink loops).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTinyBench } from '../../../test/fixtures/tiny-bench.js';
import { loadLlama } from '../../model/llama/io.js';
import { BaseModelEncoder, defaultWindowConfig, windowStarts } from './encoder.js';
import { EmbeddingCache } from './embedding-cache.js';
import { embedRepository, poolFileVectors } from './repo-embedding.js';
import { isEncoderExcluded, listEncoderFiles } from './repo-files.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-enc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bench = makeTinyBench(join(root, 'bench'));
const { model } = loadLlama(bench.modelDir);
const win = { ...defaultWindowConfig(), windowTokens: 16, overlap: 4, maxWindowsPerFile: 3, batch: 2 };
const encoder = new BaseModelEncoder(model, bench.tok, win);

function repo(name: string, files: Record<string, string | Buffer>): string {
  const dir = join(root, 'repos', name);
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), body);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

const code = (k: number) =>
  `def f_${k}(x):\n    y = x * ${k}\n    return y + ${k}\n\n\nclass C${k}:\n    def m(self):\n        return f_${k}(${k})\n`;

describe('repository encoder', () => {
  it('cuts overlapping windows and drops short tails', () => {
    const c = { ...win, windowTokens: 10, overlap: 2, minWindowTokens: 3 };
    expect(windowStarts(25, c)).toEqual([0, 8, 16]); // 16..25 has 9 tokens
    expect(windowStarts(10, c)).toEqual([0]);
    expect(windowStarts(2, c)).toEqual([]);
    expect(windowStarts(18, c)).toEqual([0, 8]); // 8..18 covers the end; 16..18 would be 2 < 3
  });

  it('excludes any path component containing "test", and caps files evenly', async () => {
    expect(isEncoderExcluded('pkg/testing/util.py')).toBe(true);
    expect(isEncoderExcluded('pkg/conftest.py')).toBe(true);
    expect(isEncoderExcluded('pkg/core.py')).toBe(false);
    const dir = repo('many', Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p/m${i}.py`, code(i)])));
    const l = listEncoderFiles(dir, 4);
    expect(l.files).toEqual(['p/m0.py', 'p/m2.py', 'p/m5.py', 'p/m7.py']);
    expect(l.capped).toBe(6);
  });

  it("falls back to the benchmark's narrower test rule when METHOD's rule leaves no file", () => {
    const dir = repo('pkgtest', { 'django_test_migrations/core.py': code(1), 'django_test_migrations/tests/test_core.py': code(2) });
    const l = listEncoderFiles(dir, 10);
    expect(l.narrowTestRule).toBe(true);
    expect(l.files).toEqual(['django_test_migrations/core.py']);
    expect(embedRepository(dir, encoder, null).files).toBe(1);
  });

  it('a file vector is the mean of its windows (batching changes nothing)', () => {
    const text = code(1) + code(2) + code(3);
    const a = encoder.embedFile(text)!;
    const b = new BaseModelEncoder(model, bench.tok, { ...win, batch: 1 }).embedFile(text)!;
    expect(a.windows).toBeGreaterThan(1);
    for (let j = 0; j < a.vector.length; j++) expect(a.vector[j]).toBeCloseTo(b.vector[j], 5);
  });

  it('pools files as L2-normalised concat(mean, max)', () => {
    const v = poolFileVectors([Float32Array.from([1, -2]), Float32Array.from([3, 0])]);
    const raw = [2, -1, 3, 0],
      n = Math.hypot(...raw);
    expect(Array.from(v).map((x) => +x.toFixed(6))).toEqual(raw.map((x) => +(x / n).toFixed(6)));
  });

  it('re-embeds only the changed file; the cache gives identical embeddings', async () => {
    const dir = repo('cached', {
      'a.py': code(1),
      'b.py': code(2),
      'c.py': code(3),
      'tests/test_a.py': 'def test():\n    assert 1 == 1\n',
    });
    const cache = new EmbeddingCache(join(root, 'cache1'), encoder.id);
    const cold = embedRepository(dir, encoder, cache);
    expect(cold.files).toBe(3);
    expect(cold.cached).toBe(0);
    expect(cold.testFilesExcluded).toBe(1);
    const warm = embedRepository(dir, encoder, cache);
    expect(warm.cached).toBe(3);
    expect(Array.from(warm.vector)).toEqual(Array.from(cold.vector));
    writeFileSync(join(dir, 'b.py'), code(7));
    const changed = embedRepository(dir, encoder, cache);
    expect(changed.cached).toBe(2);
    expect(Array.from(changed.vector)).not.toEqual(Array.from(cold.vector));
    const nocache = embedRepository(dir, encoder, null);
    for (let j = 0; j < nocache.vector.length; j++) expect(changed.vector[j]).toBeCloseTo(nocache.vector[j], 6);
  });

  it('detects a corrupt or truncated cache entry by its checksum and rebuilds it', async () => {
    const dir = repo('corrupt', { 'a.py': code(4) });
    const cacheDir = join(root, 'cache2');
    const cache = new EmbeddingCache(cacheDir, encoder.id);
    const first = embedRepository(dir, encoder, cache);
    const entryDir = join(cacheDir, encoder.id);
    const sub = readdirSync(entryDir)[0];
    const entry = join(entryDir, sub, readdirSync(join(entryDir, sub))[0]);
    const bytes = readFileSync(entry);
    bytes[20] ^= 0xff; // flip bits inside the vector
    writeFileSync(entry, bytes);
    const again = embedRepository(dir, encoder, cache);
    expect(again.corrupt).toHaveLength(1);
    expect(again.corrupt[0]).toMatch(/checksum/);
    expect(again.cached).toBe(0);
    expect(Array.from(again.vector)).toEqual(Array.from(first.vector));
    writeFileSync(entry, bytes.subarray(0, 10)); // truncated
    const third = embedRepository(dir, encoder, cache);
    expect(third.corrupt[0]).toMatch(/bytes, expected/);
    expect(statSync(entry).size).toBe(bytes.length); // rebuilt
  });

  it('skips binary and non-UTF-8 files, survives symlink loops, and reports what it skipped', async () => {
    const dir = repo('mixed', {
      'ok.py': code(5),
      'bin.py': Buffer.from([0, 1, 2, 3, 0]),
      'latin.py': Buffer.from([0x63, 0xe9, 0xe9, 0x0a]),
    });
    symlinkSync(dir, join(dir, 'loop'));
    symlinkSync(join(dir, 'ok.py'), join(dir, 'link.py'));
    const r = embedRepository(dir, encoder, null);
    expect(r.files).toBe(1);
    expect(r.skipped.map((s) => s.file).sort()).toEqual(['bin.py', 'latin.py']);
  });

  it('refuses a repository with no Python files, or only tests, naming it', async () => {
    const none = repo('nopy', { 'README.md': '# hi\n' });
    expect(() => embedRepository(none, encoder, null)).toThrow(/nopy: it has no Python files/);
    const onlyTests = repo('onlytests', { 'tests/test_x.py': code(1) });
    expect(() => embedRepository(onlyTests, encoder, null)).toThrow(/only test files/);
    expect(() => embedRepository(join(root, 'missing'), encoder, null)).toThrow(/does not exist/);
  });

  it('a different encoder (other weights or windows) has a different cache identity', () => {
    const other = new BaseModelEncoder(model, bench.tok, { ...win, windowTokens: 12 });
    expect(other.id).not.toBe(encoder.id);
    expect(new BaseModelEncoder(model, bench.tok, { ...win, batch: 7 }).id).toBe(encoder.id);
  });
});
