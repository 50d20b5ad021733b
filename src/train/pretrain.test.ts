// Pretraining end to end on a tiny corpus: an interrupted run resumed from its checkpoint ends with
// the same weights, loss curve and held-out loss as an uninterrupted one; outputs are complete.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WordCounter, trainBpe, validateBpeTrainConfig } from '../tokenizer/bpe-train.js';
import { writeTokenizerDir } from '../tokenizer/tokenizer-json.js';
import { loadTokenizer } from '../tokenizer/tokenizer.js';
import { Rng } from '../util/rng.js';
import {
  defaultPretrainConfig,
  drawWindows,
  heldOutLoss,
  pretrain,
  tokenizeFiles,
  validatePretrainConfig,
  type PretrainConfig,
} from './pretrain.js';

const dir = mkdtempSync(join(tmpdir(), 'c2l-pretrain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const source = (i: number) => `def f${i}(x):\n    return x * ${i} + 1\n\n\nclass C${i}:\n    def m(self):\n        return f${i}(${i})\n`;

describe('pretrain', () => {
  const files = Array.from({ length: 8 }, (_, i) => {
    const f = join(dir, 'src', `m${i}.py`);
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(f, source(i).repeat(3));
    return f;
  });
  writeFileSync(join(dir, 'src', 'latin1.py'), Buffer.from([0x23, 0x20, 0xe9, 0x0a])); // not UTF-8: skipped
  const counter = new WordCounter(validateBpeTrainConfig({ vocabSize: 300 }));
  for (const f of files) counter.add(readFileSync(f, 'utf8'));
  writeTokenizerDir(join(dir, 'tok'), trainBpe(counter).model);
  const tokenizerPath = join(dir, 'tok', 'tokenizer.json');
  const tokenizer = loadTokenizer(tokenizerPath);
  const train = tokenizeFiles([...files.slice(0, 6), join(dir, 'src', 'latin1.py')], tokenizer);
  const val = tokenizeFiles(files.slice(6), tokenizer);
  const config: PretrainConfig = validatePretrainConfig(
    {
      model: {
        hiddenSize: 32,
        numLayers: 2,
        numHeads: 4,
        numKvHeads: 2,
        intermediateSize: 64,
        vocabSize: 320,
        maxPositionEmbeddings: 32,
        ropeTheta: 10000,
        rmsNormEps: 1e-5,
        tieWordEmbeddings: true,
      },
      seq: 16,
      batch: 2,
      accumulation: 1,
      steps: 6,
      lr: 3e-3,
      minLr: 3e-4,
      warmupSteps: 1,
      clip: 1,
      weightDecay: 0.1,
      seed: 3,
      threads: 1,
      evalEvery: 3,
      evalWindows: 2,
      checkpointEvery: 2,
      testShare: null,
    },
    'test',
  ) as PretrainConfig;
  const run = (out: string, stopAfter?: number) =>
    pretrain({
      config,
      out,
      tokenizerPath,
      tokenizer,
      train,
      val,
      command: 'test',
      dataManifest: { files: files.length },
      stopAfter,
    });

  it('refuses a test-file share without a stream of test files', () => {
    expect(() =>
      pretrain({
        config: { ...config, testShare: 0.5 },
        out: join(dir, 'no-tests'),
        tokenizerPath,
        tokenizer,
        train,
        val,
        command: 'test',
        dataManifest: {},
      }),
    ).toThrow(/testShare 0.5 needs a stream of test files/);
  });

  it('records the assertion-target loss of validation tasks at every evaluation', () => {
    const scored: number[] = [];
    const r = pretrain({
      config,
      out: join(dir, 'tasks'),
      tokenizerPath,
      tokenizer,
      train,
      val,
      // the CLI scores real tasks (eval/target-loss); here the held-out loss of one window stands in
      valTasks: {
        count: 2,
        loss: (model) => {
          scored.push(1);
          return heldOutLoss(model, val.tokens, config.seq, 1, 1);
        },
      },
      command: 'test',
      dataManifest: {},
    })!;
    const evals = r.curve.filter((c) => c.valLoss !== undefined);
    expect(scored.length).toBe(2);
    expect(evals.map((c) => Number.isFinite(c.valTaskLoss))).toEqual([true, true]);
    expect(r.valTaskLoss).toBe(evals[1].valTaskLoss);
    expect(JSON.parse(readFileSync(join(dir, 'tasks', 'training.json'), 'utf8')).valTasks).toBe(2);
  });

  it('skips files that are not UTF-8', () => {
    expect(train.files).toBe(6);
  });

  it('resumes an interrupted run exactly and writes a complete model directory', () => {
    const full = run(join(dir, 'a'))!;
    expect(run(join(dir, 'b'), 3)).toBeNull();
    expect(existsSync(join(dir, 'b', 'training-state.safetensors'))).toBe(true);
    const resumed = run(join(dir, 'b'))!;
    expect(resumed.valLoss).toBe(full.valLoss);
    expect(resumed.curve.map((c) => c.loss)).toEqual(full.curve.map((c) => c.loss));
    expect(readFileSync(join(dir, 'b', 'model.safetensors')).equals(readFileSync(join(dir, 'a', 'model.safetensors')))).toBe(true);
    for (const f of ['config.json', 'tokenizer.json', 'loss-curve.svg', 'loss-curve.json', 'training.json']) {
      expect(existsSync(join(dir, 'b', f)), f).toBe(true);
    }
    expect(existsSync(join(dir, 'b', 'training-state.safetensors'))).toBe(false);
    expect(full.curve.filter((c) => c.valLoss !== undefined).map((c) => c.step)).toEqual([3, 6]);
  });
});

describe('pretraining run identity', () => {
  it('a resume with a changed config or data refuses, naming what changed', async () => {
    const { checkRunFingerprint } = await import('./pretrain.js');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = join(mkdtempSync(join(tmpdir(), 'c2l-fp-')), 'run-fingerprint.json');
    const fp = { config: { lr: 1e-3, steps: 10 }, trainTokens: 100, extraProjects: ['a'] };
    checkRunFingerprint(file, fp, false); // a fresh run writes it
    expect(() => checkRunFingerprint(file, fp, true)).not.toThrow();
    expect(() => checkRunFingerprint(file, { ...fp, config: { lr: 2e-3, steps: 10 } }, true)).toThrow(/config changed \(was \{"lr":0.001/);
    expect(() => checkRunFingerprint(file, { ...fp, extraProjects: ['a', 'b'] }, true)).toThrow(/extraProjects changed/);
  });
});

describe('test-file share of the training windows', () => {
  const train = new Int32Array(1000).fill(5),
    tests = new Int32Array(1000).fill(7);

  it('draws about testShare of the windows from the test files, reproducibly', () => {
    const draw = () => drawWindows(train, tests, 0.3, new Rng(4), 400, 8).ids;
    const ids = draw();
    const fromTests = Array.from({ length: 400 }, (_, b) => ids[b * 8]).filter((t) => t === 7).length;
    expect(fromTests / 400).toBeGreaterThan(0.25);
    expect(fromTests / 400).toBeLessThan(0.35);
    expect(draw()).toEqual(ids);
  });

  it('without a share draws exactly the windows it drew before the option existed', () => {
    const stream = Int32Array.from({ length: 500 }, (_, i) => i);
    const r = new Rng(9),
      old = new Rng(9);
    const { ids } = drawWindows(stream, null, null, r, 4, 6);
    for (let b = 0; b < 4; b++) expect(ids[b * 6]).toBe(old.int(500 - 6 - 1));
  });

  it('refuses a share outside (0, 1)', () => {
    for (const testShare of [0, 1, 1.5, Number.NaN])
      expect(() => validatePretrainConfig({ ...defaultPretrainConfig(), testShare }, 'x.json')).toThrow(
        /x.json: testShare must be null or between 0 and 1/,
      );
  });
});
