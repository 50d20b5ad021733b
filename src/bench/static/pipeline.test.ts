// The staged benchmark on a tiny fixture: every stage runs once and is then skipped; a changed input
// re-runs exactly what depends on it; a corrupt or half-written artefact is re-run; bad inputs are
// refused with errors that name the file or both hashes.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTinyBench, tinyBenchConfig } from '../../../test/fixtures/tiny-bench.js';
import { validateBenchStaticConfig } from './config.js';
import { runStaticBench } from './pipeline.js';
import { baseModelHashes } from '../staged-bench.js';
import { stageDir } from '../stage-cache.js';
import type { Stage } from './stages.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-bench-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bench = makeTinyBench(join(root, 'bench'));

const run = (out: string, over: Partial<Parameters<typeof runStaticBench>[0]> = {}, cfg = tinyBenchConfig()) =>
  runStaticBench({
    tasksDir: bench.tasksDir,
    out,
    modelDir: bench.modelDir,
    config: validateBenchStaticConfig(cfg, 'test'),
    command: 'test',
    ...over,
  });

describe('bench static', () => {
  const out = join(root, 'out');

  it('lists every stage with an estimate on --dry-run and runs nothing', async () => {
    const r = await run(out, { dryRun: true });
    expect(r.ran).toEqual([]);
    expect(r.plan.map((p) => p.name)).toEqual([
      'shared-lora:train',
      'full-ft:train',
      'per-repo-lora:train',
      'code2lora-static:train',
      'code2lora-static-tests:train',
      'code2lora-static-tests-norm:train',
      'code2lora-static-contrastive:train',
      'pretrained:cr',
      'pretrained:ir',
      'rag-code:cr',
      'rag-code:ir',
      'rag-siblings:cr',
      'rag-siblings:ir',
      'shared-lora:cr',
      'shared-lora:ir',
      'full-ft:cr',
      'full-ft:ir',
      'full-ft+rag:cr',
      'full-ft+rag:ir',
      'per-repo-lora:ir',
      'code2lora-static:cr',
      'code2lora-static:ir',
      'code2lora-static-tests:cr',
      'code2lora-static-tests:ir',
      'code2lora-static-tests-norm:cr',
      'code2lora-static-tests-norm:ir',
      'code2lora-static-contrastive:cr',
      'code2lora-static-contrastive:ir',
      'pretrained:loss-cr',
      'pretrained:loss-ir',
      'shared-lora:loss-cr',
      'shared-lora:loss-ir',
      'full-ft:loss-cr',
      'full-ft:loss-ir',
      'per-repo-lora:loss-ir',
      'code2lora-static:loss-cr',
      'code2lora-static:loss-ir',
      'code2lora-static-tests:loss-cr',
      'code2lora-static-tests:loss-ir',
      'code2lora-static-tests-norm:loss-cr',
      'code2lora-static-tests-norm:loss-ir',
      'code2lora-static-contrastive:loss-cr',
      'code2lora-static-contrastive:loss-ir',
      'latency',
      'code2lora-static:audit-cr',
      'code2lora-static:audit-ir',
      'code2lora-static-tests:audit-cr',
      'code2lora-static-tests:audit-ir',
      'code2lora-static-tests-norm:audit-cr',
      'code2lora-static-tests-norm:audit-ir',
      'code2lora-static-contrastive:audit-cr',
      'code2lora-static-contrastive:audit-ir',
      'code2lora-static:audit-loss-cr',
      'code2lora-static:audit-loss-ir',
      'code2lora-static:audit-loss-train',
      'code2lora-static-tests:audit-loss-cr',
      'code2lora-static-tests:audit-loss-ir',
      'code2lora-static-tests:audit-loss-train',
      'code2lora-static-tests-norm:audit-loss-cr',
      'code2lora-static-tests-norm:audit-loss-ir',
      'code2lora-static-tests-norm:audit-loss-train',
      'code2lora-static-contrastive:audit-loss-cr',
      'code2lora-static-contrastive:audit-loss-ir',
      'code2lora-static-contrastive:audit-loss-train',
    ]);
    expect(r.plan.every((p) => p.state === 'missing' && p.estimateSeconds > 0)).toBe(true);
    expect(existsSync(join(out, 'stages'))).toBe(false);
  });

  it('runs every stage once, writes the report, then skips them all', async () => {
    const first = await run(out);
    expect(first.ran).toHaveLength(64);
    const md = readFileSync(join(out, 'README.md'), 'utf8');
    expect(md).toContain('| Single shared LoRA |');
    expect(md).toContain('| Code2LoRA-Static |');
    expect(md).toContain('| Static, cross-repo | own - mean |');
    expect(md).toContain('| Static + tests, cross-repo | own - mean |');
    expect(md).toContain('| Static + tests + norm, cross-repo | own - mean |');
    expect(md).toMatch(/\| Static, cross-repo test \(\d+ tasks, \d+ repos\) \| mean - own \|/);
    expect(md).toMatch(/\| Single shared LoRA \| \d\.\d{3} \[/);
    expect(md).toMatch(/Headroom of repository conditioning on this base \(same \d+ in-repo tasks\)/);
    expect(md).toMatch(/\| Static \+ tests, training tasks of the sample .* \| wrong - own \|/);
    expect(md).toMatch(/Verdict: /);
    expect(md).not.toContain('not run');
    // IR rows of every method cover the same per-repo sample
    const irRepos = (m: string) =>
      [
        ...new Set(
          JSON.parse(readFileSync(join(stageDir(out, `${m}:ir`), 'eval.json'), 'utf8')).results.map((r: { repo: string }) => r.repo),
        ),
      ].sort();
    expect(irRepos('pretrained')).toEqual(irRepos('per-repo-lora'));
    expect(irRepos('pretrained')).toHaveLength(2);
    const again = await run(out);
    expect(again.ran).toEqual([]);
    expect(again.skipped).toHaveLength(64);
  });

  it('re-runs only what depends on a changed input', async () => {
    const cfg = tinyBenchConfig();
    cfg.train['full-ft'] = { ...cfg.train['full-ft'], lr: 1e-3 };
    expect((await run(out, {}, cfg)).ran).toEqual([
      'full-ft:train',
      'full-ft:cr',
      'full-ft:ir',
      'full-ft+rag:cr',
      'full-ft+rag:ir',
      'full-ft:loss-cr',
      'full-ft:loss-ir',
    ]);
    // and a changed test split re-runs its evaluations, not the training
    const tasks2 = join(root, 'tasks2');
    cpSync(bench.tasksDir, tasks2, { recursive: true });
    const lines = readFileSync(join(tasks2, 'cr-test.jsonl'), 'utf8').trim().split('\n');
    writeFileSync(join(tasks2, 'cr-test.jsonl'), lines.slice(1).join('\n') + '\n');
    const r = await run(out, { tasksDir: tasks2 }, cfg);
    expect(r.ran.sort()).toEqual([
      'code2lora-static-contrastive:audit-cr',
      'code2lora-static-contrastive:audit-loss-cr',
      'code2lora-static-contrastive:cr',
      'code2lora-static-contrastive:loss-cr',
      'code2lora-static-tests-norm:audit-cr',
      'code2lora-static-tests-norm:audit-loss-cr',
      'code2lora-static-tests-norm:cr',
      'code2lora-static-tests-norm:loss-cr',
      'code2lora-static-tests:audit-cr',
      'code2lora-static-tests:audit-loss-cr',
      'code2lora-static-tests:cr',
      'code2lora-static-tests:loss-cr',
      'code2lora-static:audit-cr',
      'code2lora-static:audit-loss-cr',
      'code2lora-static:cr',
      'code2lora-static:loss-cr',
      'full-ft+rag:cr',
      'full-ft:cr',
      'full-ft:loss-cr',
      'latency',
      'pretrained:cr',
      'pretrained:loss-cr',
      'rag-code:cr',
      'rag-siblings:cr',
      'shared-lora:cr',
      'shared-lora:loss-cr',
    ]);
  });

  it('detects a corrupt artefact and re-runs that stage', async () => {
    const f = join(stageDir(out, 'pretrained:ir'), 'eval.json');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"exact":', '"exact": '));
    const plan = (await run(out, { dryRun: true })).plan.find((p) => p.name === 'pretrained:ir')!;
    expect(plan.state).toBe('corrupt');
    expect(plan.detail).toMatch(/eval\.json does not match its recorded SHA-256/);
    expect((await run(out, { only: ['pretrained:ir'] })).ran).toEqual(['pretrained:ir']);
  });

  it('a stage killed midway leaves nothing that counts as done', async () => {
    const o2 = join(root, 'killed');
    let calls = 0;
    const stage: Stage = {
      name: 'flaky',
      deps: [],
      version: 1,
      inputs: () => ({}),
      estimateSeconds: () => 1,
      run(_ctx, dir) {
        calls++;
        writeFileSync(join(dir, 'half.json'), '{"half":');
        if (calls === 1) throw new Error('killed');
        writeFileSync(join(dir, 'half.json'), '{"half": false}');
        return {};
      },
    };
    await expect(run(o2, { stages: [stage] })).rejects.toThrow(/killed/);
    expect(existsSync(stageDir(o2, 'flaky'))).toBe(false);
    // a folder left by a hard kill (no stage.json) is not done either
    mkdirSync(stageDir(o2, 'flaky'), { recursive: true });
    writeFileSync(join(stageDir(o2, 'flaky'), 'half.json'), '{"half":');
    expect((await run(o2, { stages: [stage], dryRun: true })).plan[0].state).toBe('corrupt');
    expect((await run(o2, { stages: [stage] })).ran).toEqual(['flaky']);
    expect(JSON.parse(readFileSync(join(stageDir(o2, 'flaky'), 'half.json'), 'utf8'))).toEqual({ half: false });
  });

  it("--only runs a method's stages plus unfinished dependencies, and names unknown stages", async () => {
    const o3 = join(root, 'only');
    expect((await run(o3, { only: ['full-ft+rag'], dryRun: true })).plan.filter((p) => p.selected).map((p) => p.name)).toEqual([
      'full-ft:train',
      'full-ft+rag:cr',
      'full-ft+rag:ir',
    ]);
    await expect(run(o3, { only: ['nope'] })).rejects.toThrow(/--only nope: no such stage/);
  });

  it('refuses missing splits and a task folder built for another tokenizer or base model', async () => {
    const t3 = join(root, 'tasks3');
    cpSync(bench.tasksDir, t3, { recursive: true });
    rmSync(join(t3, 'ir-val.jsonl'));
    await expect(run(join(root, 'o4'), { tasksDir: t3 })).rejects.toThrow(/lacks the split\(s\) ir-val\.jsonl/);
    const t4 = join(root, 'tasks4');
    cpSync(bench.tasksDir, t4, { recursive: true });
    const stats = JSON.parse(readFileSync(join(t4, 'stats.json'), 'utf8'));
    writeFileSync(join(t4, 'stats.json'), JSON.stringify({ ...stats, tokenizer: { sha256: 'f00d' } }));
    const mine = baseModelHashes(bench.modelDir).tokenizer;
    await expect(run(join(root, 'o4'), { tasksDir: t4 })).rejects.toThrow(
      new RegExp(`tokenizer f00d, but the base model's tokenizer.json is ${mine}`),
    );
    writeFileSync(join(t4, 'stats.json'), JSON.stringify({ ...stats, baseModel: { sha256: 'beef' } }));
    await expect(run(join(root, 'o4'), { tasksDir: t4 })).rejects.toThrow(/base model beef, but this base model is [0-9a-f]{64}/);
  });
});
