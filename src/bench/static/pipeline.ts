// `code2lora bench static`: every stage of the static-track table in order, each skipped when its
// artefact exists with the same inputs hash (and intact files), then the report. An interrupted run
// continues where it stopped: finished stages are skipped, a killed training stage resumes from its
// checkpoint in <out>/work/, and nothing half-written ever counts as done.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTasks } from '../../eval/run-tasks.js';
import { corpusContentHash, readManifestSync } from '../../data/manifest.js';
import { resolveModelDir } from '../../model/default-model.js';
import type { BenchStaticConfig } from './config.js';
import { fileSha256 } from '../stage-cache.js';
import { runStages } from '../stage-runner.js';
import {
  artefactLookup,
  baseLoader,
  baseModelHashes,
  checkTasksMatchBase,
  memo,
  silentProgress,
  type StagedBenchOptions,
  type StagedBenchResult,
} from '../staged-bench.js';
import { allStages, perRepoSample, type BenchContext, type Stage } from './stages.js';
import { writeReport } from './report.js';

export interface BenchStaticOptions extends StagedBenchOptions<Stage> {
  /** default: the corpus recorded in the tasks' stats.json */
  corpusDir?: string;
  config: Readonly<BenchStaticConfig>;
}

export type BenchStaticResult = StagedBenchResult;

const SPLITS = ['train', 'ir-val', 'ir-test', 'cr-val', 'cr-test'];

export async function runStaticBench(o: BenchStaticOptions): Promise<BenchStaticResult> {
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
  let sample: string[] | undefined;
  let corpusHash: string | undefined; // read once: every stage's inputs ask for it
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
        corpusHash ??= corpusContentHash(readManifestSync(corpusDir));
        return corpusHash;
      },
      split: memo((name) => fileSha256(join(o.tasksDir, `${name}.jsonl`))),
    },
    tasks: memo((split) => readTasks(o.tasksDir, split)),
    base: baseLoader(modelDir),
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
    artefact: artefactLookup(o.out, 'bench'),
    progress: o.progress ?? (() => silentProgress),
  };

  const stages = o.stages ?? allStages();
  const r = await runStages(ctx, { out: o.out, stages, only: o.only, dryRun: o.dryRun, log, nameWidth: 24 });
  const result: BenchStaticResult = { ...r, report: [] };
  if (o.dryRun) return result;
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
