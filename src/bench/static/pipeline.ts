// `code2lora bench static`: every stage of the static-track table in order, each skipped when its
// artefact exists with the same inputs hash (and intact files), then the report. An interrupted run
// continues where it stopped: finished stages are skipped, a killed training stage resumes from its
// checkpoint in <out>/work/, and nothing half-written ever counts as done.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelWithTokenizer } from '../../eval/prompting.js';
import { readTasks } from '../../eval/run-tasks.js';
import { resolveModelDir } from '../../model/default-model.js';
import type { Task } from '../../data/tasks/types.js';
import type { Progress } from '../../util/progress.js';
import type { BenchStaticConfig } from './config.js';
import { commitStage, fileSha256, hashJson, stageDir, stageState, type StageState } from './cache.js';
import { allStages, perRepoSample, type BenchContext, type Stage } from './stages.js';
import { writeReport } from './report.js';

export interface BenchStaticOptions {
  tasksDir: string;
  out: string;
  modelDir?: string;
  /** default: the corpus recorded in the tasks' stats.json */
  corpusDir?: string;
  config: Readonly<BenchStaticConfig>;
  /** run only these stages (a full name, or a method id for all its stages), plus unfinished deps */
  only?: string[];
  dryRun?: boolean;
  command: string;
  log?: (line: string) => void;
  progress?: (label: string, total: number) => Progress;
  /** stages to use instead of the full table (tests) */
  stages?: Stage[];
}

export interface PlannedStage {
  name: string;
  inputsHash: string;
  state: StageState;
  detail: string;
  estimateSeconds: number;
  selected: boolean;
}
export interface BenchStaticResult {
  plan: PlannedStage[];
  ran: string[];
  skipped: string[];
  report: string[];
}

const SPLITS = ['train', 'ir-val', 'ir-test', 'cr-val', 'cr-test'];

/** SHA-256 of the shipped base: weights, config and tokenizer together. */
export function baseModelHashes(dir: string): { base: string; tokenizer: string } {
  const files = ['config.json', 'model.safetensors', 'tokenizer.json'];
  for (const f of files) if (!existsSync(join(dir, f))) throw new Error(`bench: base model ${dir} has no ${f}`);
  const tokenizer = fileSha256(join(dir, 'tokenizer.json'));
  return {
    base: hashJson(Object.fromEntries(files.map((f) => [f, f === 'tokenizer.json' ? tokenizer : fileSha256(join(dir, f))]))),
    tokenizer,
  };
}

/** Refuses a task folder that names another tokenizer or base model (stats.json `tokenizer.sha256`,
 *  `baseModel.sha256`), with both hashes. */
export function checkTasksMatchBase(tasksDir: string, stats: Record<string, unknown>, base: { base: string; tokenizer: string }): void {
  const named = (k: string) => {
    const v = stats[k] as { sha256?: unknown } | undefined;
    return v && typeof v.sha256 === 'string' ? v.sha256 : undefined;
  };
  const tok = named('tokenizer'),
    model = named('baseModel');
  if (tok && tok !== base.tokenizer) {
    throw new Error(
      `bench: ${join(tasksDir, 'stats.json')} was built with tokenizer ${tok}, but the base model's tokenizer.json is ${base.tokenizer}`,
    );
  }
  if (model && model !== base.base)
    throw new Error(`bench: ${join(tasksDir, 'stats.json')} was built for base model ${model}, but this base model is ${base.base}`);
}

const silent: Progress = { update() {}, stop() {} };

export function runStaticBench(o: BenchStaticOptions): BenchStaticResult {
  const log = o.log ?? (() => {});
  const cfg = o.config;
  const statsFile = join(o.tasksDir, 'stats.json');
  if (!existsSync(statsFile)) throw new Error(`bench: ${statsFile} is missing (build tasks with \`code2lora tasks build\`)`);
  const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as Record<string, unknown>;
  const missing = SPLITS.filter((s) => !existsSync(join(o.tasksDir, `${s}.jsonl`)));
  if (missing.length) throw new Error(`bench: ${o.tasksDir} lacks the split(s) ${missing.map((s) => `${s}.jsonl`).join(', ')}`);
  const modelDir = resolveModelDir(o.modelDir);
  const hashesBase = baseModelHashes(modelDir);
  checkTasksMatchBase(o.tasksDir, stats, hashesBase);
  const corpusDir = o.corpusDir ?? (typeof stats.corpus === 'string' ? stats.corpus : '');
  const corpusManifest = join(corpusDir, 'manifest.json');
  const splitHashes = new Map<string, string>();
  const taskCache = new Map<string, Task[]>();
  let sample: string[] | undefined;
  let loaded: ReturnType<typeof loadModelWithTokenizer> | undefined;
  const ctx: BenchContext = {
    out: o.out,
    tasksDir: o.tasksDir,
    modelDir,
    corpusDir,
    config: cfg,
    command: o.command,
    log,
    hashes: {
      base: hashesBase.base,
      get corpus() {
        if (!corpusDir || !existsSync(corpusManifest))
          throw new Error(`bench: the corpus for retrieval (${corpusManifest}) is missing; pass --corpus`);
        return fileSha256(corpusManifest);
      },
      split(name) {
        let h = splitHashes.get(name);
        if (!h) {
          h = fileSha256(join(o.tasksDir, `${name}.jsonl`));
          splitHashes.set(name, h);
        }
        return h;
      },
    },
    tasks(split) {
      let t = taskCache.get(split);
      if (!t) {
        t = readTasks(o.tasksDir, split);
        taskCache.set(split, t);
      }
      return t;
    },
    base() {
      // The first call reuses the loaded copy's tokenizer; every call gets fresh weights.
      const fresh = loadModelWithTokenizer(modelDir);
      loaded ??= fresh;
      const tcfg = join(modelDir, 'tokenizer_config.json');
      return {
        model: fresh.model,
        tok: loaded.tokenizer,
        tokenizerJson: readFileSync(join(modelDir, 'tokenizer.json'), 'utf8'),
        tokenizerConfigJson: existsSync(tcfg) ? readFileSync(tcfg, 'utf8') : undefined,
      };
    },
    perRepoSample() {
      sample ??= perRepoSample(
        ctx.tasks('train'),
        ctx.tasks('ir-val'),
        ctx.tasks('ir-test'),
        cfg.perRepo.repos,
        cfg.perRepo.minTrainTasks,
        cfg.seed,
      );
      return sample;
    },
    artefact(stage) {
      const dir = stageDir(o.out, stage);
      if (!existsSync(join(dir, 'stage.json'))) throw new Error(`bench: stage ${stage} has no finished artefact in ${dir}`);
      return dir;
    },
    progress: o.progress ?? (() => silent),
  };

  const stages = o.stages ?? allStages();
  const byName = new Map(stages.map((s) => [s.name, s]));
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
    const st = stageState(stageDir(o.out, s.name), h);
    return {
      name: s.name,
      inputsHash: h,
      state: st.state,
      detail: st.detail,
      estimateSeconds: st.state === 'done' ? 0 : s.estimateSeconds(ctx),
      selected: true,
    };
  });
  if (o.only?.length) {
    const known = new Set([...byName.keys(), ...stages.map((s) => s.name.split(':')[0] as string)]);
    for (const q of o.only)
      if (!known.has(q)) throw new Error(`bench: --only ${q}: no such stage or method (stages: ${[...byName.keys()].join(', ')})`);
    const want = new Set<string>();
    const add = (n: string) => {
      if (want.has(n)) return;
      want.add(n);
      for (const d of byName.get(n)!.deps) if (plan.find((p) => p.name === d)!.state !== 'done') add(d);
    };
    for (const s of stages) if (o.only.some((q) => s.name === q || s.name.split(':')[0] === q)) add(s.name);
    for (const p of plan) p.selected = want.has(p.name);
  }
  const todo = plan.filter((p) => p.selected && p.state !== 'done');
  const total = todo.reduce((a, p) => a + p.estimateSeconds, 0);
  log(`${plan.filter((p) => p.selected).length} stages, ${todo.length} to run, estimated ${(total / 60).toFixed(1)} min on this machine`);
  for (const p of plan.filter((q) => q.selected)) {
    log(
      `  ${p.state === 'done' ? 'cached' : p.state.padEnd(7)} ${p.name.padEnd(24)} ${p.state === 'done' ? '' : `~${(p.estimateSeconds / 60).toFixed(1)} min  (${p.detail})`}`,
    );
  }
  const result: BenchStaticResult = {
    plan,
    ran: [],
    skipped: plan.filter((p) => p.selected && p.state === 'done').map((p) => p.name),
    report: [],
  };
  if (o.dryRun) return result;

  let i = 0;
  const t0 = performance.now();
  for (const p of todo) {
    const s = byName.get(p.name) as Stage;
    i++;
    const elapsed = (performance.now() - t0) / 1000;
    log(`[${i}/${todo.length}] ${s.name} (~${(p.estimateSeconds / 60).toFixed(1)} min; ${(elapsed / 60).toFixed(1)} min elapsed)`);
    const work = join(o.out, 'work', `${s.name.replace(/[^A-Za-z0-9._+-]/g, '.')}-${p.inputsHash.slice(0, 12)}`);
    const rec = commitStage(stageDir(o.out, s.name), s.name, inputsOf.get(s.name), p.inputsHash, (dir) => s.run(ctx, dir, work));
    rmSync(work, { recursive: true, force: true });
    log(`[${i}/${todo.length}] ${s.name} done in ${rec.seconds.toFixed(1)} s`);
    result.ran.push(s.name);
  }
  result.report = writeReport(o.out, {
    command: o.command,
    config: cfg,
    stages,
    tasksDir: o.tasksDir,
    modelDir,
    baseHash: hashesBase.base,
  });
  for (const f of result.report) log(`wrote ${f}`);
  return result;
}
