// Code2LoRA-Evo training on small git histories built on the fly: it trains (cr-val loss picks the
// checkpoint), the kept checkpoint loads for the same base, and a run killed mid-way resumes exactly.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTinyEvo, tinyEvoConfig, type TinyEvo } from '../../test/fixtures/tiny-evo.js';
import { loadLlama } from '../model/llama/io.js';
import { EvoNetwork } from '../adapters/hyper/evo.js';
import { readTrackCommits, readTrackTasks } from '../data/evo/track.js';
import { trainEvo, validateEvoTrainConfig, type EvoTrainConfig } from './evo-train.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-evo-train-'));
let t: TinyEvo;
beforeAll(async () => {
  t = await makeTinyEvo(root);
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function run(out: string, c: EvoTrainConfig, stopAfter?: number) {
  const { model } = loadLlama(t.bench.modelDir);
  return trainEvo({
    config: c,
    model,
    baseModelSha256: t.baseModelSha256,
    tokenizer: t.bench.tok,
    commits: readTrackCommits(t.tasksDir),
    train: readTrackTasks(t.tasksDir, 'train'),
    val: readTrackTasks(t.tasksDir, 'cr-val'),
    repoDirs: t.repoDirs,
    cacheDir: join(root, 'cache'),
    out,
    command: 'test',
    stopAfter,
  });
}

describe('evo training', () => {
  it('trains the GRU and head, keeps the best cr-val checkpoint, writes its record', async () => {
    const out = join(root, 'full');
    const s = (await run(out, tinyEvoConfig()))!;
    expect(Number.isFinite(s.bestValLoss)).toBe(true);
    expect(Number.isFinite(s.frozenStateValLoss)).toBe(true);
    const curve = JSON.parse(readFileSync(join(out, 'loss-curve.json'), 'utf8'));
    expect(curve.map((p: { step: number }) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(curve.filter((p: { valLoss?: number }) => p.valLoss !== undefined).map((p: { step: number }) => p.step)).toEqual([3, 6]);
    const { model } = loadLlama(t.bench.modelDir);
    const evo = EvoNetwork.load(s.best, model, t.bench.tok, t.baseModelSha256);
    expect(evo.net.stateDim).toBe(24);
    expect(() => EvoNetwork.load(s.best, model, t.bench.tok, '0'.repeat(64))).toThrow(/trained for base model sha256/);
    expect(existsSync(join(out, 'training-state.safetensors'))).toBe(false);
    const training = JSON.parse(readFileSync(join(out, 'training.json'), 'utf8'));
    expect(training.tokenBudget).toBe(6 * 3 * 2 * 64);
    expect(training.trainRepos.length).toBe(3);
    expect(training.valRepos.length).toBe(1);
    expect(evo.spec.training?.config).toBeDefined();
  }, 120_000);

  it('resumes exactly after an interruption', async () => {
    const a = join(root, 'straight'),
      b = join(root, 'interrupted');
    await run(a, tinyEvoConfig());
    expect(await run(b, tinyEvoConfig(), 4)).toBeNull();
    expect(existsSync(join(b, 'training-state.safetensors'))).toBe(true);
    await run(b, tinyEvoConfig());
    const la = JSON.parse(readFileSync(join(a, 'loss-curve.json'), 'utf8')).map((p: { loss: number }) => p.loss);
    const lb = JSON.parse(readFileSync(join(b, 'loss-curve.json'), 'utf8')).map((p: { loss: number }) => p.loss);
    expect(lb).toEqual(la);
    for (const f of ['evo.safetensors', 'head.safetensors'])
      expect(readFileSync(join(b, 'evo', f)).equals(readFileSync(join(a, 'evo', f)))).toBe(true);
  }, 120_000);

  it('refuses bad configs', () => {
    expect(() => validateEvoTrainConfig({ ...tinyEvoConfig(), bogus: 1 } as unknown as EvoTrainConfig, 't', 32, 160)).toThrow(
      /unknown key "bogus"/,
    );
    expect(() => validateEvoTrainConfig({ ...tinyEvoConfig(), window: 0 }, 't', 32, 160)).toThrow(/window must be a positive integer/);
    expect(() => validateEvoTrainConfig({ ...tinyEvoConfig(), maxTokens: 999 }, 't', 32, 160)).toThrow(/exceeds the model's context/);
  });
});
