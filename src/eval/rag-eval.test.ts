// Evaluation with retrieval, per-repository adapters and per-repository samples (tiny benchmark).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTinyBench } from '../../test/fixtures/tiny-bench.js';
import { loadLlama } from '../model/llama/io.js';
import { defaultRagConfig } from '../retrieval/rag.js';
import { evaluateLoaded, evaluateTasks } from './run-tasks.js';
import { sampleTasksPerRepo } from './task-sample.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-rag-eval-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bench = makeTinyBench(join(root, 'bench'));
const base = {
  modelDir: bench.modelDir,
  tasksDir: bench.tasksDir,
  maxNewTokens: 4,
  batch: 4,
  limit: 0,
  seed: 0,
  threads: 1,
  bootstrapSamples: 200,
};

describe('eval with RAG', () => {
  it('prepends retrieved chunks (reported per prompt) and keeps the same tasks', () => {
    const plain = evaluateTasks({ ...base, split: 'ir-test' });
    const rag = evaluateTasks({ ...base, split: 'ir-test', rag: defaultRagConfig('bm25-siblings') });
    expect(rag.results.map((r) => r.id)).toEqual(plain.results.map((r) => r.id));
    expect(plain.retrievedTokensPerTask).toBe(0);
    expect(rag.retrievedTokensPerTask).toBeGreaterThan(0);
    expect(rag.promptTokensPerTask).toBeGreaterThan(plain.promptTokensPerTask);
    expect(rag.rag?.variant).toBe('bm25-siblings');
    for (const r of rag.results) expect(r.promptTokens!).toBeLessThanOrEqual(160 - 4);
  });

  it('samples per repository and restricts to chosen repositories', () => {
    const r = evaluateTasks({ ...base, split: 'ir-test', tasksPerRepo: 1, repos: ['alpha', 'beta'] });
    expect(r.results.map((x) => x.repo).sort()).toEqual(['alpha', 'beta']);
    expect(() => evaluateTasks({ ...base, split: 'ir-test', repos: ['nobody'] })).toThrow(/none of the 1 chosen repositories/);
    const s1 = sampleTasksPerRepo(bench.tasks['ir-test'], 1, 3),
      s2 = sampleTasksPerRepo([...bench.tasks['ir-test']].reverse(), 1, 3);
    expect(s1.map((t) => t.id).sort()).toEqual(s2.map((t) => t.id).sort());
  });

  it("uses each repository's own adapter when given adapterFor", () => {
    const { model } = loadLlama(bench.modelDir);
    const asked: string[] = [];
    evaluateLoaded(model, bench.tok, {
      ...base,
      split: 'ir-test',
      modelName: 'tiny',
      adapterFor: (repo) => {
        asked.push(repo);
        return null;
      },
    });
    expect([...new Set(asked)].sort()).toEqual(['alpha', 'beta', 'delta', 'gamma']);
    // one batch never mixes repositories: one call per repository (2 tasks each, batch 4)
    expect(asked).toHaveLength(4);
  });
});
