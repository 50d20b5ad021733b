// The evolution-track benchmark on tiny git histories built on the fly: every stage runs once and is
// then skipped, a changed input re-runs exactly its dependents, the report has every row, and the
// Evo audit's paired differences are the per-task means of own minus each condition.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVO_REPOS, makeEvoRepo, tinyEvoConfig } from '../../../test/fixtures/tiny-evo.js';
import { makeTinyBench, type TinyBench } from '../../../test/fixtures/tiny-bench.js';
import { makeTinyHyper } from '../../../test/fixtures/tiny-hyper.js';
import { buildEvoTasks, defaultEvoConfig } from '../../data/evo/build.js';
import { defaultFinetuneConfig } from '../../train/finetune-tasks.js';
import { stageDir } from '../stage-cache.js';
import { defaultBenchEvoConfig, loadBenchEvoConfig, validateBenchEvoConfig, type BenchEvoConfig } from './config.js';
import { evoTokenBudget, validateEvoTrainConfig } from '../../train/evo-train.js';
import { tokenBudget } from '../../train/finetune-tasks.js';
import { repoRoot } from '../../util/repo-root.js';
import { runEvoTrackBench } from './pipeline.js';
import { auditStates, relativeIndex, type EvoAuditReport, type EvoEvalReport } from './stages.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-bench-evo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let bench: TinyBench;
let tasksDir: string;
let hyperDir: string;

beforeAll(async () => {
  bench = makeTinyBench(join(root, 'bench'));
  const dirs: string[] = [];
  for (const r of EVO_REPOS) {
    const d = join(root, 'repos', r);
    makeEvoRepo(d, r, 8);
    dirs.push(d);
  }
  tasksDir = join(root, 'evo-tasks');
  // two cross-repo test repositories so the audit has a wrong repository on both splits
  await buildEvoTasks({
    ...defaultEvoConfig(),
    repos: dirs,
    outDir: tasksDir,
    concurrency: 1,
    split: { seed: 0, crTest: 2, crVal: 1, irVal: 0.1, irTest: 0.1 },
  });
  hyperDir = join(root, 'hyper');
  makeTinyHyper(hyperDir, bench.modelDir);
}, 60_000);

function tinyConfig(over: Partial<BenchEvoConfig> = {}): BenchEvoConfig {
  const evo = tinyEvoConfig(); // 6 x 3 x 2 x 64 = 2,304 tokens
  return {
    ...defaultBenchEvoConfig(),
    eval: { batch: 4, maxNewTokens: 4, bootstrapSamples: 100, tasksPerCommit: 2, lossMaxTokens: 64, excludeRepos: [] },
    evo,
    sharedLora: {
      ...defaultFinetuneConfig('shared-lora'),
      maxTokens: 64,
      tasksPerRepo: 6,
      steps: 6,
      evalEvery: 3,
      checkpointEvery: 2,
      valTasksPerRepo: 0,
      valBatch: 4,
      threads: 1,
      lora: { rank: 2, alpha: 4, targetModules: ['q_proj', 'v_proj'], dropout: 0 },
    },
    staticHyper: hyperDir,
    evoInitHead: hyperDir,
    ...over,
  };
}

const run = (out: string, over: Partial<Parameters<typeof runEvoTrackBench>[0]> = {}, cfg = tinyConfig()) =>
  runEvoTrackBench({
    tasksDir,
    out,
    modelDir: bench.modelDir,
    config: validateBenchEvoConfig(cfg, 'test'),
    command: 'code2lora bench evo-track --tasks TASKS --out OUT',
    ...over,
  });

const ALL = [
  'shared-lora:train',
  'code2lora-evo:train',
  'pretrained:cr',
  'pretrained:ir',
  'shared-lora:cr',
  'shared-lora:ir',
  'code2lora-static:cr',
  'code2lora-static:ir',
  'code2lora-evo:cr',
  'code2lora-evo:ir',
  'code2lora-evo:audit-cr',
  'code2lora-evo:audit-ir',
];

describe('bench evo-track', () => {
  const out = join(root, 'out');

  it('plans every stage on --dry-run and runs nothing', async () => {
    const r = await run(out, { dryRun: true });
    expect(r.plan.map((p) => p.name)).toEqual(ALL);
    expect(r.ran).toEqual([]);
    expect(r.plan.every((p) => p.state === 'missing' && p.estimateSeconds > 0)).toBe(true);
    expect(existsSync(join(out, 'stages'))).toBe(false);
  });

  it('runs every stage once, writes the report with every row, then skips them all', async () => {
    const first = await run(out);
    expect(first.ran).toEqual(ALL);
    const md = readFileSync(join(out, 'README.md'), 'utf8');
    for (const label of ['Pretrained', 'Single shared LoRA', 'Code2LoRA-Static (re-embedded at each commit)', 'Code2LoRA-Evo'])
      expect(md).toMatch(new RegExp(`\\| ${label.replace(/[()]/g, '\\$&')}[^|]* \\| \\d+\\.\\d \\[`));
    expect(md).not.toContain('not run');
    expect(md).toContain('| cross-repo test (');
    expect(md).toMatch(/\| in-repo test \(\d+ tasks, 2 repos\) \| own - frozen \|/);
    expect(md).toContain('code2lora bench evo-track --tasks TASKS --out OUT');
    expect(md).toMatch(/\| code2lora-evo:train \| \d+\.\d \|/);
    for (const f of ['em-by-commit-cr', 'loss-by-commit-cr', 'em-by-commit-ir', 'loss-by-commit-ir'])
      expect(readFileSync(join(out, 'plots', `${f}.svg`), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg');
    // IR tasks lie after the training commits: the Evo state was carried through them
    const ir = JSON.parse(readFileSync(join(stageDir(out, 'code2lora-evo:ir'), 'eval.json'), 'utf8')) as EvoEvalReport;
    expect(Math.min(...ir.results.map((r) => r.commitIndex))).toBeGreaterThan(3);
    const again = await run(out);
    expect(again.ran).toEqual([]);
    expect(again.skipped).toEqual(ALL);
  }, 120_000);

  it("the audit's paired differences are per-task means of own minus each condition, own is the table's Evo row", () => {
    for (const s of ['cr', 'ir']) {
      const a = JSON.parse(readFileSync(join(stageDir(out, `code2lora-evo:audit-${s}`), 'audit.json'), 'utf8')) as EvoAuditReport;
      const ev = JSON.parse(readFileSync(join(stageDir(out, `code2lora-evo:${s}`), 'eval.json'), 'utf8')) as EvoEvalReport;
      expect(a.results.map((r) => r.id)).toEqual(ev.results.map((r) => r.id));
      expect(a.conditions.own!.exactMatch.estimate).toBeCloseTo(ev.exactMatch.estimate, 12);
      expect(Object.keys(a.ownMinus)).toEqual(['mean', 'wrong', 'frozen']);
      for (const c of ['mean', 'wrong', 'frozen']) {
        const em = a.results.reduce((acc, r) => acc + (r.exact.own! - r.exact[c]!), 0) / a.results.length;
        expect(a.ownMinus[c]!.exactMatch.estimate).toBeCloseTo(em, 12);
        const lr = a.results.filter((r) => r.loss);
        const loss = lr.reduce((acc, r) => acc + (r.loss!.own! - r.loss![c]!), 0) / lr.length;
        expect(a.ownMinus[c]!.loss!.estimate).toBeCloseTo(loss, 12);
        expect(a.ownMinus[c]!.exactMatch.lo).toBeLessThanOrEqual(a.ownMinus[c]!.exactMatch.hi);
      }
      expect(new Set(Object.entries(a.wrong).map(([k, v]) => k === v))).toEqual(new Set([false]));
    }
  });

  it('a changed input re-runs only the stages that depend on it', async () => {
    const cfg = tinyConfig();
    cfg.sharedLora = { ...cfg.sharedLora, lr: 5e-3 };
    const r = await run(out, {}, cfg);
    expect(r.ran).toEqual(['shared-lora:train', 'shared-lora:cr', 'shared-lora:ir']);
    // --only a method runs its stages (and unfinished dependencies) only
    const cfg2 = { ...cfg, eval: { ...cfg.eval, maxNewTokens: 3 } };
    const o = await run(out, { only: ['pretrained'] }, cfg2);
    expect(o.ran).toEqual(['pretrained:cr', 'pretrained:ir']);
  }, 60_000);

  it('reads configs/bench-evo.json: configs/evo.json and the shared LoRA on the same token budget', () => {
    const c = loadBenchEvoConfig(join(repoRoot(), 'configs', 'bench-evo.json'));
    expect(c.evo.steps).toBe(700);
    expect(c.sharedLora.steps).toBe(700);
    expect(tokenBudget(c.sharedLora)).toBe(2_867_200);
    expect(evoTokenBudget(c.evo)).toBe(2_867_200);
    expect(c.audit.conditions).toEqual(['mean', 'wrong', 'frozen']);
    // the file leaves head fields (targetModules, scales) to the defaults: the stage's validator must accept it
    // with the shipped base's width and context
    const v = validateEvoTrainConfig(c.evo, 'configs/evo.json', 256, 1024);
    expect(v.head.targetModules.length).toBeGreaterThan(0);
    expect(v.head.rank).toBe(16);
  });

  it('refuses a shared LoRA whose token budget is not Evo’s', () => {
    const cfg = tinyConfig();
    expect(() => validateBenchEvoConfig({ ...cfg, sharedLora: { ...cfg.sharedLora, steps: 7 } }, 'x')).toThrow(
      /token budget 2688.*Evo's 2304/,
    );
  });
});

describe('audit states', () => {
  it('maps commit positions across histories of different lengths', () => {
    expect(relativeIndex(0, 10, 4)).toBe(0);
    expect(relativeIndex(9, 10, 4)).toBe(3);
    expect(relativeIndex(3, 7, 13)).toBe(6);
    expect(relativeIndex(2, 1, 5)).toBe(0);
  });
  it('mean is the average of every repository at the same relative position; frozen is h0', () => {
    const v = (x: number) => Float32Array.of(x, -x);
    const states = new Map([
      ['a', [v(0), v(1), v(2)]],
      ['b', [v(10), v(20), v(30), v(40), v(50)]],
    ]);
    const n = new Map([
      ['a', 3],
      ['b', 5],
    ]);
    const s = auditStates(
      states,
      n,
      new Map([
        ['a', 'b'],
        ['b', 'a'],
      ]),
      'a',
      1,
    );
    expect([...s.own]).toEqual([1, -1]);
    expect([...s.wrong]).toEqual([30, -30]);
    expect([...s.mean]).toEqual([15.5, -15.5]);
    expect([...s.frozen]).toEqual([0, -0]);
  });
});
