// Code2LoRA-Static training on the miniature benchmark: it learns (validation loss chosen), the kept
// checkpoint loads as a Hypernetwork for the same base only, and an interrupted run resumes exactly.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTinyBench, TINY_TRAIN_SCHEDULE, TRAIN_REPOS, CR_VAL_REPOS, CR_TEST_REPOS } from '../../test/fixtures/tiny-bench.js';
import { loadLlama } from '../model/llama/io.js';
import { Hypernetwork, modelFileSha256 } from '../adapters/hyper/hypernet.js';
import { defaultHyperTrainConfig, trainHypernetwork, validateHyperTrainConfig, type HyperTrainConfig } from './hyper-train.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-hyper-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bench = makeTinyBench(join(root, 'bench'));
const sha = modelFileSha256(bench.modelDir);
const repoDirs = new Map([...TRAIN_REPOS, ...CR_VAL_REPOS, ...CR_TEST_REPOS].map((r) => [r, join(bench.corpusDir, 'projects', r)]));

function cfg(over: Partial<HyperTrainConfig> = {}): HyperTrainConfig {
  const d = defaultHyperTrainConfig();
  return {
    ...d,
    head: { ...d.head, embedDim: 64, hidden: 16, rank: 2, alpha: 4 },
    encoder: { ...d.encoder, windowTokens: 32, overlap: 8, batch: 4 },
    maxTokens: 64,
    tasksPerRepo: 3,
    reposPerStep: 2,
    ...TINY_TRAIN_SCHEDULE,
    ...over,
  };
}

async function run(out: string, c: HyperTrainConfig, stopAfter?: number) {
  const { model } = loadLlama(bench.modelDir);
  return trainHypernetwork({
    config: c,
    model,
    baseModelSha256: sha,
    tokenizer: bench.tok,
    train: bench.tasks.train,
    val: bench.tasks['cr-val'],
    repoDirs,
    cacheDir: join(root, 'emb-cache'),
    out,
    command: 'test',
    stopAfter,
  });
}

describe('hypernetwork training', () => {
  it('trains the head only, keeps the best validation checkpoint, and ships a loadable hypernetwork', async () => {
    const out = join(root, 'full');
    const s = (await run(out, cfg()))!;
    expect(s.bestValLoss).toBeLessThan(s.baseValLoss + 1); // it ran and validated
    expect(Number.isFinite(s.bestValLoss)).toBe(true);
    const curve = JSON.parse(readFileSync(join(out, 'loss-curve.json'), 'utf8'));
    expect(curve.filter((p: { valLoss?: number }) => p.valLoss !== undefined).map((p: { step: number }) => p.step)).toEqual([3, 6]);
    const { model } = loadLlama(bench.modelDir);
    const h = Hypernetwork.load(s.best, model, bench.tok, sha);
    const { adapter, embedding } = h.adapt(repoDirs.get('zeta')!, join(root, 'emb-cache'));
    expect(embedding.files).toBe(1);
    expect(adapter.weights.size).toBe(7);
    expect(() => Hypernetwork.load(s.best, model, bench.tok, '0'.repeat(64))).toThrow(
      new RegExp(`trained for base model sha256 ${sha}, but the loaded base model is sha256 0{64}`),
    );
    expect(existsSync(join(out, 'training-state.safetensors'))).toBe(false);
    const training = JSON.parse(readFileSync(join(out, 'training.json'), 'utf8'));
    expect(training.tokenBudget).toBe(6 * 2 * 3 * 64);
    expect(training.embeddings).toHaveLength(5);
  });

  it('resumes exactly after an interruption', async () => {
    const a = join(root, 'straight'),
      b = join(root, 'interrupted');
    await run(a, cfg());
    expect(await run(b, cfg(), 4)).toBeNull();
    await run(b, cfg());
    const la = JSON.parse(readFileSync(join(a, 'loss-curve.json'), 'utf8')).map((p: { loss: number }) => p.loss);
    const lb = JSON.parse(readFileSync(join(b, 'loss-curve.json'), 'utf8')).map((p: { loss: number }) => p.loss);
    expect(lb).toEqual(la);
    expect(readFileSync(join(b, 'hypernet', 'head.safetensors')).equals(readFileSync(join(a, 'hypernet', 'head.safetensors')))).toBe(true);
  });

  it('refuses configs that do not fit the base', () => {
    expect(() => validateHyperTrainConfig({ ...cfg(), head: { ...cfg().head, embedDim: 63 } }, 't', 32, 160)).toThrow(
      /embedDim must be 2 x the base's hidden size/,
    );
    expect(() => validateHyperTrainConfig({ ...cfg(), bogus: 1 } as unknown as HyperTrainConfig, 't', 32, 160)).toThrow(
      /unknown key "bogus"/,
    );
    expect(() => validateHyperTrainConfig({ ...cfg(), maxTokens: 999 }, 't', 32, 160)).toThrow(/exceeds the model's context/);
    expect(() => validateHyperTrainConfig({ ...cfg(), contrastive: -1 }, 't', 32, 160)).toThrow(/contrastive must be a number >= 0/);
    // configs written before the contrastive term existed still load, with it off
    const { contrastive: _c, contrastiveMargin: _m, ...old } = cfg();
    expect(validateHyperTrainConfig(old as HyperTrainConfig, 't', 32, 160).contrastive).toBe(0);
  });

  it('contrastive term: a second pass with swapped adapters changes the training, counts its tokens, and resumes exactly', async () => {
    const plain = join(root, 'no-contrast'),
      con = join(root, 'contrast'),
      cut = join(root, 'contrast-cut');
    await run(plain, cfg());
    const c = cfg({ contrastive: 1, contrastiveMargin: 0.5 });
    await run(con, c);
    const curve = (d: string) => JSON.parse(readFileSync(join(d, 'loss-curve.json'), 'utf8')) as { loss: number; tokens: number }[];
    const [p, q] = [curve(plain), curve(con)];
    expect(q.every((x) => Number.isFinite(x.loss))).toBe(true);
    expect(q.map((x) => x.loss)).not.toEqual(p.map((x) => x.loss));
    expect(q.at(-1)!.tokens).toBe(2 * p.at(-1)!.tokens); // the same batches, read twice
    expect(await run(cut, c, 3)).toBeNull();
    await run(cut, c);
    expect(curve(cut).map((x) => x.loss)).toEqual(q.map((x) => x.loss));
  });
});

describe('hypernetwork with test files embedded (own test file left out)', () => {
  it('gives each (repository, test file) its own adapter, never built from that file', async () => {
    const c = cfg({ repo: { ...defaultHyperTrainConfig().repo, maxTestFiles: 8 } });
    const s = (await run(join(root, 'tests-in'), c))!;
    const { model } = loadLlama(bench.modelDir);
    const h = Hypernetwork.load(s.best, model, bench.tok, sha);
    expect(h.perTestFile).toBe(true);
    const fv = h.fileVectors(repoDirs.get('zeta')!, null);
    expect(fv.paths).toEqual(['zeta/core.py', 'tests/test_math.py', 'tests/test_more.py']);
    expect(h.adapterKey({ repo: 'zeta', file: 'tests/test_math.py' })).not.toBe(h.adapterKey({ repo: 'zeta', file: 'tests/test_more.py' }));
    const a = h.adapterForFile(fv, 'tests/test_math.py'),
      b = h.adapterForFile(fv, 'tests/test_more.py');
    expect(Array.from(a.weights.get('*.q_proj')!.A.data)).not.toEqual(Array.from(b.weights.get('*.q_proj')!.A.data));
    // leaving out test_math.py equals pooling the other two files only
    const { poolFileVectors } = await import('../adapters/hyper/repo-embedding.js');
    const manual = h.adapterFromEmbedding(poolFileVectors([fv.vectors[0], fv.vectors[2]]));
    expect(Array.from(a.weights.get('*.q_proj')!.A.data)).toEqual(Array.from(manual.weights.get('*.q_proj')!.A.data));
  });
});
