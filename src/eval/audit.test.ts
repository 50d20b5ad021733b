// The audit end to end on the miniature benchmark: every condition scored on the same tasks, paired
// differences consistent with the per-task scores, diversity and a verdict reported.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTinyBench, TRAIN_REPOS, CR_VAL_REPOS, CR_TEST_REPOS } from '../../test/fixtures/tiny-bench.js';
import { loadLlama } from '../model/llama/io.js';
import { modelFileSha256 } from '../adapters/hyper/hypernet.js';
import { defaultHyperTrainConfig, trainHypernetwork } from '../train/hyper-train.js';
import { runAudit } from './audit.js';
import { lossAuditLines, runLossAudit } from './audit-loss.js';
import { meanTargetLoss, targetLossPerSequence } from './target-loss.js';
import { encodeTaskSequence, taskBatch } from '../train/task-batch.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-audit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bench = makeTinyBench(join(root, 'bench'));

describe('conditioning audit', () => {
  let hyperDir = '';
  it('scores own, mean, wrong, zero and none on the same tasks with paired differences', async () => {
    const d = defaultHyperTrainConfig();
    const { model } = loadLlama(bench.modelDir);
    const repoDirs = new Map([...TRAIN_REPOS, ...CR_VAL_REPOS, ...CR_TEST_REPOS].map((r) => [r, join(bench.corpusDir, 'projects', r)]));
    const s = trainHypernetwork({
      config: {
        ...d,
        head: { ...d.head, embedDim: 64, hidden: 16, rank: 2, alpha: 4 },
        encoder: { ...d.encoder, windowTokens: 32, overlap: 8 },
        maxTokens: 64,
        tasksPerRepo: 3,
        steps: 3,
        evalEvery: 3,
        checkpointEvery: 3,
        valTasksPerRepo: 0,
        valBatch: 4,
        dtype: 'F32',
      },
      model,
      baseModelSha256: modelFileSha256(bench.modelDir),
      tokenizer: bench.tok,
      train: bench.tasks.train,
      val: bench.tasks['cr-val'],
      repoDirs,
      cacheDir: null,
      out: join(root, 'run'),
      command: 'test',
    })!;
    const r = runAudit({
      hyperDir: s.best,
      modelDir: bench.modelDir,
      tasksDir: bench.tasksDir,
      split: 'ir-test',
      corpusDir: bench.corpusDir,
      cacheDir: join(root, 'cache'),
      conditions: ['mean', 'wrong', 'zero', 'none'],
      maxNewTokens: 4,
      batch: 4,
      tasksPerRepo: 0,
      bootstrapSamples: 200,
      seed: 0,
    });
    expect(r.repos).toBe(4);
    expect(r.tasks).toBe(bench.tasks['ir-test'].length);
    expect(Object.keys(r.conditions).sort()).toEqual(['mean', 'none', 'own', 'wrong', 'zero']);
    for (const c of ['mean', 'wrong', 'zero', 'none'] as const) {
      const own = r.exactByCondition.own!,
        other = r.exactByCondition[c]!;
      const diff = own.reduce((a, x, i) => a + x - other[i], 0) / own.length;
      expect(r.ownMinus[c]!.exactMatch.estimate).toBeCloseTo(diff, 10);
    }
    expect(r.conditions.own!.exactMatch.estimate).toBeCloseTo(r.results.reduce((a, x) => a + x.exact, 0) / r.tasks, 10);
    for (const [k, v] of Object.entries(r.wrongAssignment)) expect(v).not.toBe(k);
    expect(r.diversity.adapters).toBe(4);
    expect(r.verdict.length).toBeGreaterThan(10);
    hyperDir = s.best;
  });

  it('loss audit: per-sequence target loss equals the model loss; condition - own differences are paired means', () => {
    const { model } = loadLlama(bench.modelDir);
    const seqs = bench.tasks['ir-test'].slice(0, 3).map((t) => encodeTaskSequence(bench.tok, t, 64)!);
    const per = targetLossPerSequence(model, seqs, bench.tok.padId, null);
    for (const [i, q] of seqs.entries()) {
      const tb = taskBatch([q], bench.tok.padId);
      expect(per[i]).toBeCloseTo(model.loss(null, tb.batch, tb.targets).loss.data[0], 4);
    }
    // pretraining's validation-task measure: the same mean, whatever the batching
    const mean = per.reduce((x, y) => x + y, 0) / per.length;
    expect(meanTargetLoss(model, seqs, bench.tok.padId, 1)).toBeCloseTo(mean, 5);
    expect(meanTargetLoss(model, seqs, bench.tok.padId, 2)).toBeCloseTo(mean, 5);
    expect(() => meanTargetLoss(model, [], bench.tok.padId, 2)).toThrow(/no task sequences/);
    const r = runLossAudit({
      hyperDir,
      modelDir: bench.modelDir,
      tasksDir: bench.tasksDir,
      split: 'ir-test',
      corpusDir: bench.corpusDir,
      cacheDir: join(root, 'cache'),
      conditions: ['mean', 'wrong', 'none'],
      maxTokens: 64,
      batch: 3,
      tasksPerRepo: 0,
      bootstrapSamples: 200,
      seed: 0,
    });
    expect(r.repos).toBe(4);
    expect(r.tasks + r.skipped).toBe(bench.tasks['ir-test'].length);
    expect(Object.keys(r.conditions).sort()).toEqual(['mean', 'none', 'own', 'wrong']);
    for (const c of ['mean', 'wrong', 'none'] as const) {
      const g = r.gainOverOwn[c]!;
      expect(g.estimate).toBeCloseTo(r.conditions[c]!.perTask.estimate - r.conditions.own!.perTask.estimate, 10);
      expect(g.lo).toBeLessThanOrEqual(g.hi);
    }
    // the base model without adapter is a different model: its loss differs from the own adapter's
    expect(Math.abs(r.gainOverOwn.none!.estimate)).toBeGreaterThan(0);
    expect(r.verdict).toMatch(/on the loss/);
    const lines = lossAuditLines(r);
    expect(lines).toHaveLength(2 + Object.keys(r.conditions).length);
    expect(lines.find((l) => l.trim().startsWith('mean'))).toMatch(/mean - own -?\d/);
  });
});
