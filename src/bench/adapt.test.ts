// bench adapt without timing anything: the synthetic repository (real corpus code, tests left out,
// generated padding) and one tiny end-to-end run whose report is complete and self-consistent.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTinyBench } from '../../test/fixtures/tiny-bench.js';
import { makeTinyHyper, makeTinyModel } from '../../test/fixtures/tiny-hyper.js';
import { buildSyntheticRepo, runAdaptBench } from './adapt.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-bench-adapt-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const body = (k: number) => Array.from({ length: 40 }, (_, i) => `def f_${k}_${i}(x):\n    return x * ${i} + ${k}\n`).join('\n');

describe('bench adapt', () => {
  it('builds the repository from corpus code (never test files, at most n/10 per project), padded with generated modules', async () => {
    const corpus = join(root, 'corpus');
    for (const p of ['p1', 'p2']) {
      mkdirSync(join(corpus, 'projects', p, 'pkg'), { recursive: true });
      mkdirSync(join(corpus, 'projects', p, 'tests'), { recursive: true });
      for (let i = 0; i < 3; i++) writeFileSync(join(corpus, 'projects', p, 'pkg', `m${i}.py`), body(i));
      writeFileSync(join(corpus, 'projects', p, 'tests', 'test_m.py'), body(9));
      writeFileSync(join(corpus, 'projects', p, 'pkg', 'small.py'), 'x = 1\n');
    }
    const dir = join(root, 'repo');
    const s = await buildSyntheticRepo(dir, 20, corpus, 0);
    expect(s).toEqual({ fromCorpus: 4, generated: 16, projects: 2 });
    const files = readdirSync(join(dir, 'pkg'));
    expect(files).toHaveLength(20);
    const texts = files.map((f) => readFileSync(join(dir, 'pkg', f), 'utf8'));
    expect(texts.filter((t) => t === body(9))).toHaveLength(0);
    expect(new Set(texts).size).toBe(20 - 2); // p1 and p2 hold the same m0/m1 texts
    const none = await buildSyntheticRepo(join(root, 'gen'), 5, join(root, 'no-corpus'), 0);
    expect(none).toEqual({ fromCorpus: 0, generated: 5, projects: 0 });
  });

  it('runs end to end on a tiny model and hypernetwork and reports every figure', async () => {
    const bench = makeTinyBench(join(root, 'bench'));
    const modelDir = makeTinyModel(join(root, 'model'), bench.modelDir);
    makeTinyHyper(join(root, 'hyper'), modelDir);
    const r = await runAdaptBench({
      files: 6,
      corpus: join(root, 'none'),
      modelDir,
      hyperDir: join(root, 'hyper'),
      headRuns: 3,
      prompt: 16,
      newTokens: 6,
      repeats: 1,
      reposPerStep: 2,
      seqsPerRepo: 1,
      seq: 16,
      steps: 1,
      warmup: 0,
      seed: 0,
    });
    expect(r.hypernetwork).toMatch(/^untrained hypernetwork/);
    expect(r.repository).toMatchObject({ files: 6, generated: 6, encoded: 6 });
    expect(r.adapter.one_file_change_cached_files).toBe(5);
    expect(r.head_forward_ms.runs).toBe(3);
    expect(r.generate.folded_same_tokens).toBe(true);
    expect(r.generate.base.tokens).toBe(6);
    expect(r.train_step.batch.tokens).toBe(32);
    for (const x of [r.adapter.cold_s, r.head_forward_ms.median, r.generate.folded.tokens_per_s, r.train_step.ratio])
      expect(x).toBeGreaterThan(0);
    expect(Number.isFinite(r.train_step.hyper.loss) && Number.isFinite(r.train_step.lora.loss)).toBe(true);
  });
});
