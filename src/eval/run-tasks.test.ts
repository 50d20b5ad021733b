// The evaluation runner end to end on a tiny random model: prompts cut from the left, every task
// scored against its own target, intervals around the estimate, per-family tallies.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WordCounter, trainBpe, validateBpeTrainConfig } from '../tokenizer/bpe-train.js';
import { writeTokenizerDir } from '../tokenizer/tokenizer-json.js';
import { loadTokenizer } from '../tokenizer/tokenizer.js';
import { validateLlamaConfig } from '../model/llama/config.js';
import { LlamaModel } from '../model/llama/model.js';
import { saveLlama } from '../model/llama/io.js';
import { Rng } from '../util/rng.js';
import { evaluateTasks, taskPrompt } from './run-tasks.js';

const dir = mkdtempSync(join(tmpdir(), 'c2l-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const code = 'def f(x):\n    return x + 1\n\n\ndef test_f():\n    assert f(1) == 2\n    assert f(2) == 3\n';

function setup() {
  const counter = new WordCounter(validateBpeTrainConfig({ vocabSize: 300 }));
  counter.add(code.repeat(4));
  const { model: bpe } = trainBpe(counter);
  writeTokenizerDir(join(dir, 'model'), bpe);
  const tok = loadTokenizer(join(dir, 'model', 'tokenizer.json'));
  const cfg = validateLlamaConfig(
    {
      hiddenSize: 32,
      numLayers: 1,
      numHeads: 2,
      numKvHeads: 1,
      intermediateSize: 64,
      vocabSize: tok.vocabSize,
      maxPositionEmbeddings: 80,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
      tieWordEmbeddings: true,
      eosTokenId: tok.eosId,
    },
    'test',
  );
  const model = LlamaModel.init(cfg, new Rng(0));
  saveLlama(join(dir, 'model'), model);
  return tok;
}

describe('evaluateTasks', () => {
  const tok = setup();
  const tasks = [
    {
      id: 'a',
      repo: 'r1',
      file: 't.py',
      line: 6,
      family: 'assert',
      prefix: 'def test_f():\n    assert f(1) == ',
      target: '2',
      function: 'test_f',
    },
    {
      id: 'b',
      repo: 'r1',
      file: 't.py',
      line: 7,
      family: 'assert',
      prefix: code.repeat(6) + '    assert f(2) == ',
      target: '3',
      function: 'test_f',
    },
    {
      id: 'c',
      repo: 'r2',
      file: 't.py',
      line: 3,
      family: 'self_assert',
      prefix: 'self.assertEqual(f(1), ',
      target: '2)',
      function: 'T.test_g',
    },
  ];
  writeFileSync(join(dir, 'cr-test.jsonl'), tasks.map((t) => JSON.stringify(t)).join('\n') + '\n');

  it('cuts long prefixes from the left, keeping the end nearest the target', () => {
    const full = tok.encode(tasks[1].prefix);
    const cut = taskPrompt(tok, tasks[1].prefix, 20);
    expect(cut.truncated).toBe(true);
    expect(cut.ids).toEqual(full.slice(full.length - 20));
  });

  it('scores every task against its own target, with intervals and per-family tallies', () => {
    const r = evaluateTasks({
      modelDir: join(dir, 'model'),
      tasksDir: dir,
      split: 'cr-test',
      maxNewTokens: 8,
      batch: 2,
      limit: 0,
      seed: 0,
    });
    expect(r.tasks).toBe(3);
    expect(r.truncatedPrompts).toBe(1); // only the long prefix exceeds 80 - 8 positions
    expect(r.results.map((x) => x.id)).toEqual(['a', 'b', 'c']);
    for (const x of r.results) expect(x.target).toBe(tasks.find((t) => t.id === x.id)!.target);
    expect(r.exactMatch.lo).toBeLessThanOrEqual(r.exactMatch.estimate);
    expect(r.exactMatch.hi).toBeGreaterThanOrEqual(r.exactMatch.estimate);
    expect(r.perFamily.assert.tasks).toBe(2);
    expect(r.perFamily.self_assert.tasks).toBe(1);
    // per repository: the mean of r1's mean and r2's mean, every repository weighing the same
    const repoMean = (k: 'exact' | 'edit', repo: string) => {
      const xs = r.results.filter((x) => x.repo === repo);
      return xs.reduce((a, x) => a + x[k], 0) / xs.length;
    };
    expect(r.perRepo.repos).toBe(2);
    expect(r.perRepo.exactMatch.estimate).toBeCloseTo((repoMean('exact', 'r1') + repoMean('exact', 'r2')) / 2, 12);
    expect(r.perRepo.editSimilarity.estimate).toBeCloseTo((repoMean('edit', 'r1') + repoMean('edit', 'r2')) / 2, 12);
    expect(r.perRepo.editSimilarity.lo).toBeLessThanOrEqual(r.perRepo.editSimilarity.estimate);
    expect(r.exactMatch.samples).toBe(5000);
    // deterministic: the same run gives the same predictions
    const again = evaluateTasks({
      modelDir: join(dir, 'model'),
      tasksDir: dir,
      split: 'cr-test',
      maxNewTokens: 8,
      batch: 3,
      limit: 0,
      seed: 0,
    });
    expect(again.results.map((x) => x.prediction)).toEqual(r.results.map((x) => x.prediction));
  });

  it('reads tasks through the checked reader: a bad record names the file and line', () => {
    writeFileSync(join(dir, 'cr-val.jsonl'), `${JSON.stringify(tasks[0])}\n${JSON.stringify({ ...tasks[1], target: 3 })}\n`);
    expect(() =>
      evaluateTasks({ modelDir: join(dir, 'model'), tasksDir: dir, split: 'cr-val', maxNewTokens: 8, batch: 2, limit: 0, seed: 0 }),
    ).toThrow(/cr-val\.jsonl:2: field "target" must be a string/);
  });

  it('names the missing split file', () => {
    expect(() =>
      evaluateTasks({ modelDir: join(dir, 'model'), tasksDir: dir, split: 'ir-test', maxNewTokens: 8, batch: 2, limit: 0, seed: 0 }),
    ).toThrow(/ir-test\.jsonl/);
  });
});
