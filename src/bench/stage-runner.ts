// A cached stage pipeline over any context (`bench static` and `bench evo-track` both run on it): each
// stage's inputs hash covers its own inputs and its dependencies' hashes, a stage is skipped when its
// artefact (bench/stage-cache.ts) records the same hash with intact files, `--only` selects stages (a
// full name, or a method id for all its stages) plus their unfinished dependencies, and `--dry-run`
// only plans. Stages may be asynchronous.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { commitStage, hashJson, stageDir, stageState, type StageState } from './stage-cache.js';

export interface CachedStage<C> {
  name: string;
  deps: string[];
  /** bump when the stage's code changes what it produces */
  version: number;
  /** everything the stage reads, hashed (the deps' hashes are added by the runner) */
  inputs(ctx: C): Record<string, unknown>;
  estimateSeconds(ctx: C): number;
  /** writes artefacts into `dir` (renamed into place when it resolves); `work` survives a kill */
  run(ctx: C, dir: string, work: string): unknown;
}

export interface PlannedStage {
  name: string;
  inputsHash: string;
  state: StageState;
  detail: string;
  estimateSeconds: number;
  selected: boolean;
}

export interface StageRunResult {
  plan: PlannedStage[];
  ran: string[];
  skipped: string[];
}

/** Checks that every dependency is defined before its stage and that names are unique. */
export function checkStageOrder(stages: readonly { name: string; deps: string[] }[]): void {
  const names = new Set<string>();
  for (const s of stages) {
    for (const d of s.deps) if (!names.has(d)) throw new Error(`bench: stage ${s.name} depends on ${d}, which is not defined before it`);
    if (names.has(s.name)) throw new Error(`bench: stage ${s.name} is defined twice`);
    names.add(s.name);
  }
}

/** Plans the stages (hashes, states, estimates, selection) without running anything. */
export function planStages<C>(
  ctx: C,
  out: string,
  stages: readonly CachedStage<C>[],
  only?: readonly string[],
): { plan: PlannedStage[]; inputsOf: Map<string, unknown> } {
  checkStageOrder(stages);
  const hashes = new Map<string, string>();
  const inputsOf = new Map<string, unknown>();
  for (const s of stages) {
    const inputs = {
      stage: s.name,
      version: s.version,
      inputs: s.inputs(ctx),
      deps: Object.fromEntries(s.deps.map((d) => [d, hashes.get(d)])),
    };
    inputsOf.set(s.name, inputs);
    hashes.set(s.name, hashJson(inputs));
  }
  const plan: PlannedStage[] = stages.map((s) => {
    const h = hashes.get(s.name) as string;
    const st = stageState(stageDir(out, s.name), h);
    return {
      name: s.name,
      inputsHash: h,
      state: st.state,
      detail: st.detail,
      estimateSeconds: st.state === 'done' ? 0 : s.estimateSeconds(ctx),
      selected: true,
    };
  });
  if (only?.length) {
    const byName = new Map(stages.map((s) => [s.name, s]));
    const known = new Set([...byName.keys(), ...stages.map((s) => s.name.split(':')[0] as string)]);
    for (const q of only)
      if (!known.has(q)) throw new Error(`bench: --only ${q}: no such stage or method (stages: ${[...byName.keys()].join(', ')})`);
    const want = new Set<string>();
    const add = (n: string) => {
      if (want.has(n)) return;
      want.add(n);
      for (const d of byName.get(n)!.deps) if (plan.find((p) => p.name === d)!.state !== 'done') add(d);
    };
    for (const s of stages) if (only.some((q) => s.name === q || s.name.split(':')[0] === q)) add(s.name);
    for (const p of plan) p.selected = want.has(p.name);
  }
  return { plan, inputsOf };
}

/** Plans, logs the plan, and (unless dryRun) runs every selected stage that is not done, in order. */
export async function runStages<C>(
  ctx: C,
  o: {
    out: string;
    stages: readonly CachedStage<C>[];
    only?: readonly string[];
    dryRun?: boolean;
    log: (line: string) => void;
    /** the stage-name column of the plan listing (default 28) */
    nameWidth?: number;
  },
): Promise<StageRunResult> {
  const { plan, inputsOf } = planStages(ctx, o.out, o.stages, o.only);
  const todo = plan.filter((p) => p.selected && p.state !== 'done');
  const total = todo.reduce((a, p) => a + p.estimateSeconds, 0);
  o.log(`${plan.filter((p) => p.selected).length} stages, ${todo.length} to run, estimated ${(total / 60).toFixed(1)} min on this machine`);
  for (const p of plan.filter((q) => q.selected))
    o.log(
      `  ${p.state === 'done' ? 'cached' : p.state.padEnd(7)} ${p.name.padEnd(o.nameWidth ?? 28)} ${p.state === 'done' ? '' : `~${(p.estimateSeconds / 60).toFixed(1)} min  (${p.detail})`}`,
    );
  const result: StageRunResult = {
    plan,
    ran: [],
    skipped: plan.filter((p) => p.selected && p.state === 'done').map((p) => p.name),
  };
  if (!o.dryRun) {
    const byName = new Map(o.stages.map((s) => [s.name, s]));
    const t0 = performance.now();
    for (const [i, p] of todo.entries()) {
      const s = byName.get(p.name) as CachedStage<C>;
      const elapsed = (performance.now() - t0) / 1000;
      o.log(`[${i + 1}/${todo.length}] ${s.name} (~${(p.estimateSeconds / 60).toFixed(1)} min; ${(elapsed / 60).toFixed(1)} min elapsed)`);
      const work = join(o.out, 'work', `${s.name.replace(/[^A-Za-z0-9._+-]/g, '.')}-${p.inputsHash.slice(0, 12)}`);
      const rec = await commitStage(stageDir(o.out, s.name), s.name, inputsOf.get(s.name), p.inputsHash, (dir) => s.run(ctx, dir, work));
      rmSync(work, { recursive: true, force: true });
      o.log(`[${i + 1}/${todo.length}] ${s.name} done in ${rec.seconds.toFixed(1)} s`);
      result.ran.push(s.name);
    }
  }
  return result;
}
