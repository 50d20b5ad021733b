// Reproducibility and exact resume of the training loop, on a tiny model with frozen base + LoRA
// and on full fine-tuning.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.js';
import { LlamaModel } from '../model/llama/model.js';
import { validateLlamaConfig } from '../model/llama/config.js';
import type { Tensor } from '../tensor/index.js';
import { trainLoop, type TrainLoopConfig } from './loop.js';

const dir = mkdtempSync(join(tmpdir(), 'c2l-loop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cfg = validateLlamaConfig(
  {
    hiddenSize: 32,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    intermediateSize: 48,
    vocabSize: 17,
    maxPositionEmbeddings: 16,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: true,
  },
  'test',
);

function run(steps: number, checkpointPath?: string, stopAfter?: number, arena = false) {
  const model = LlamaModel.init(cfg, new Rng(1).fork('init'));
  model.setTrainable(true);
  const params = new Map<string, Tensor>(model.params);
  const loop: TrainLoopConfig = {
    steps,
    accumulation: 2,
    lr: 1e-2,
    minLr: 1e-3,
    warmupSteps: 2,
    clip: 1,
    adamw: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 },
    seed: 5,
    checkpointEvery: 4,
    checkpointPath,
    stopAfter,
    arena,
  };
  const B = 2,
    T = 8;
  const result = trainLoop(params, loop, {
    microStep(tape, rng) {
      // a learnable pattern: next token = (token + 1) mod V
      const ids = new Int32Array(B * T),
        targets = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        let t0 = rng.int(cfg.vocabSize);
        for (let t = 0; t < T; t++) {
          ids[b * T + t] = t0;
          targets[b * T + t] = (t0 + 1) % cfg.vocabSize;
          t0 = (t0 + 1) % cfg.vocabSize;
        }
      }
      return { loss: model.loss(tape, { ids, B, T }, targets).loss, tokens: B * T };
    },
  });
  return { result, model };
}

describe('trainLoop', () => {
  it('is reproducible from its seed and the loss falls', () => {
    const a = run(10),
      b = run(10);
    expect(a.result.losses).toEqual(b.result.losses);
    expect(a.result.losses[9]).toBeLessThan(a.result.losses[0] * 0.8);
  });

  it('resumes bit-exactly after an interruption', () => {
    const full = run(6);
    const path = join(dir, 'state.safetensors');
    run(6, path, 3); // interrupted after step 3
    const resumed = run(6, path);
    expect(resumed.result.resumedFrom).toBe(3);
    expect(resumed.result.losses).toEqual(full.result.losses.slice(3));
    for (const [name, t] of full.model.params) expect([...resumed.model.param(name).data], name).toEqual([...t.data]);
  });

  it('gives bit-identical steps with the buffer arena (no buffer is reused while still needed)', () => {
    const fresh = run(6),
      pooled = run(6, undefined, undefined, true);
    expect(pooled.result.losses).toEqual(fresh.result.losses);
    for (const [name, t] of fresh.model.params) expect([...pooled.model.param(name).data], name).toEqual([...t.data]);
  });
});
