// Task fine-tuning: the loss covers target tokens only, a shared LoRA resumes exactly, full
// fine-tuning keeps the checkpoint with the lowest validation loss, per-repo runs skip finished repos.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTinyBench } from '../../test/fixtures/tiny-bench.js';
import { loadLlama } from '../model/llama/io.js';
import { Rng } from '../util/rng.js';
import { defaultFinetuneConfig, finetuneTasks, tokenBudget, validateFinetuneConfig, type FinetuneConfig } from './finetune-tasks.js';
import { RepoTaskSampler, groupByRepo, perRepoValidationLoss, validationSet } from './task-sampling.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-ft-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bench = makeTinyBench(join(root, 'bench'));
const { tok } = bench;

function cfg(over: Partial<FinetuneConfig>): FinetuneConfig {
  return {
    ...defaultFinetuneConfig(over.mode),
    maxTokens: 48,
    tasksPerRepo: 3,
    steps: 6,
    evalEvery: 2,
    checkpointEvery: 2,
    valTasksPerRepo: 0,
    valBatch: 4,
    threads: 1,
    lora: { rank: 2, alpha: 4, targetModules: ['q_proj', 'v_proj', 'down_proj'], dropout: 0 },
    ...over,
  };
}

function run(out: string, c: FinetuneConfig, extra: { stopAfter?: number; repos?: string[] } = {}) {
  const { model } = loadLlama(bench.modelDir);
  const perRepo = c.mode === 'per-repo-lora';
  return finetuneTasks({
    config: c,
    model,
    tokenizer: tok,
    tokenizerJson: readFileSync(join(bench.modelDir, 'tokenizer.json'), 'utf8'),
    train: bench.tasks.train,
    val: perRepo ? bench.tasks['ir-val'] : bench.tasks['cr-val'],
    out,
    baseModelName: null,
    command: 'test',
    ...extra,
  });
}

describe('task fine-tuning', () => {
  it('takes the loss on target tokens (and EOS) only, never on the prefix', () => {
    const { model } = loadLlama(bench.modelDir);
    const sampler = new RepoTaskSampler(bench.tasks.train, tok, { maxTokens: 48, tasksPerRepo: 4 });
    const b = sampler.next(new Rng(1), tok.padId);
    expect(new Set(b.tasks.map((t) => t.repo)).size).toBe(1); // one repository per micro-batch
    const { batch, targets } = b.batch;
    const trainerLoss = model.loss(null, batch, targets).loss.data[0];
    // by hand: log-softmax at the positions that predict a target token or EOS, nothing else
    const logits = model.forward(null, batch).logits.data;
    const V = model.config.vocabSize,
      T = batch.T;
    let sum = 0,
      n = 0,
      allSum = 0,
      allN = 0;
    b.seqs.forEach((s, r) => {
      const off = T - s.ids.length;
      for (let t = 0; t < s.ids.length - 1; t++) {
        const row = (r * T + off + t) * V;
        let max = -Infinity;
        for (let v = 0; v < V; v++) max = Math.max(max, logits[row + v]);
        let z = 0;
        for (let v = 0; v < V; v++) z += Math.exp(logits[row + v] - max);
        const nll = -(logits[row + s.ids[t + 1]] - max - Math.log(z));
        allSum += nll;
        allN++;
        if (t >= s.targetStart - 1) {
          sum += nll;
          n++;
        }
      }
    });
    expect(n).toBe(b.seqs.reduce((a, s) => a + s.ids.length - s.targetStart, 0));
    expect(trainerLoss).toBeCloseTo(sum / n, 4);
    expect(Math.abs(trainerLoss - allSum / allN)).toBeGreaterThan(1e-3);
  });

  it('averages validation loss per repository, not per task', () => {
    const { model } = loadLlama(bench.modelDir);
    const tasks = [...bench.tasks['ir-val'], ...bench.tasks.train.filter((t) => t.repo === 'alpha')]; // alpha holds most tasks
    const set = validationSet(tasks, tok, { maxTokens: 48, batch: 4, tasksPerRepo: 0, maxRepos: 0, seed: 0 });
    const v = perRepoValidationLoss(model, set, tok.padId, 4, () => null);
    const per = Object.values(v.perRepo);
    expect(per.length).toBe(groupByRepo(tasks).size);
    expect(v.loss).toBeCloseTo(per.reduce((a, r) => a + r.loss, 0) / per.length, 10);
    expect(v.perRepo.alpha.tasks).toBe(8);
  });

  it('shared LoRA: an interrupted run resumes exactly (same losses, same adapter bytes)', () => {
    const c = cfg({ mode: 'shared-lora' });
    const a = run(join(root, 'a'), c)!;
    expect(a).toHaveLength(1);
    expect(run(join(root, 'b'), c, { stopAfter: 3 })).toBeNull();
    expect(existsSync(join(root, 'b', 'training-state.safetensors'))).toBe(true);
    const b = run(join(root, 'b'), c)!;
    const curve = (d: string) =>
      JSON.parse(readFileSync(join(root, d, 'loss-curve.json'), 'utf8')).map((p: { loss: number; valLoss?: number }) => [
        p.loss,
        p.valLoss ?? null,
      ]);
    expect(curve('b')).toEqual(curve('a'));
    expect(b[0].bestStep).toBe(a[0].bestStep);
    const bytes = (d: string) => readFileSync(join(root, d, 'adapter', 'adapter_model.safetensors'));
    expect(bytes('b').equals(bytes('a'))).toBe(true);
    expect(existsSync(join(root, 'b', 'training-state.safetensors'))).toBe(false);
    const t = JSON.parse(readFileSync(join(root, 'a', 'training.json'), 'utf8'));
    expect(t.tokenBudget).toBe(tokenBudget(c));
    expect(t.tokensSeen).toBeLessThanOrEqual(t.tokenBudget);
  });

  it('full fine-tune keeps the checkpoint with the lowest per-repository validation loss', () => {
    const out = join(root, 'full');
    const [s] = run(out, cfg({ mode: 'full-ft', lr: 1e-2 }))!;
    const curve = JSON.parse(readFileSync(join(out, 'loss-curve.json'), 'utf8')) as Array<{ step: number; valLoss?: number }>;
    const vals = curve.filter((p) => p.valLoss !== undefined);
    const min = vals.reduce((m, p) => (p.valLoss! < m.valLoss! ? p : m));
    expect(s.bestStep).toBe(min.step);
    expect(existsSync(join(out, 'model', 'model.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'model', 'tokenizer.json'))).toBe(true);
    // the saved model scores the recorded validation loss
    const { model } = loadLlama(join(out, 'model'));
    const set = validationSet(bench.tasks['cr-val'], tok, { maxTokens: 48, batch: 4, tasksPerRepo: 0, maxRepos: 0, seed: 0 });
    expect(perRepoValidationLoss(model, set, tok.padId, 4, () => null).loss).toBeCloseTo(s.bestValLoss, 4);
  });

  it('per-repo LoRA: one adapter per sampled repository; finished repositories are skipped', () => {
    const out = join(root, 'per');
    const c = cfg({ mode: 'per-repo-lora', steps: 2, evalEvery: 1 });
    const first = run(out, c, { repos: ['alpha', 'gamma'] })!;
    expect(first.map((s) => s.best)).toEqual([join(out, 'repos', 'alpha', 'adapter'), join(out, 'repos', 'gamma', 'adapter')]);
    const before = readFileSync(join(out, 'repos', 'alpha', 'training.json'), 'utf8');
    const again = run(out, c, { repos: ['alpha', 'gamma'] })!;
    expect(again.map((s) => s.bestValLoss)).toEqual(first.map((s) => s.bestValLoss));
    expect(readFileSync(join(out, 'repos', 'alpha', 'training.json'), 'utf8')).toBe(before);
    expect(() => run(join(root, 'per2'), c, { repos: ['nope'] })).toThrow(/nope has no tasks/);
  });

  it('rejects unknown config keys and bad values, naming them', () => {
    expect(() => validateFinetuneConfig({ ...defaultFinetuneConfig(), lrr: 1 } as unknown as FinetuneConfig, 'x.json')).toThrow(
      /x\.json: unknown key "lrr"/,
    );
    expect(() => validateFinetuneConfig({ ...defaultFinetuneConfig(), mode: 'adapter' } as unknown as FinetuneConfig, 'x.json')).toThrow(
      /mode must be one of/,
    );
    expect(() => validateFinetuneConfig({ ...defaultFinetuneConfig(), steps: 0 }, 'x.json')).toThrow(/steps must be a positive integer/);
  });
});
