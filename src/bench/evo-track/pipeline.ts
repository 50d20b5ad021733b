// `code2lora bench evo-track`: the evolution-track table (Pretrained, shared LoRA, Code2LoRA-Static
// re-embedded at each commit, Code2LoRA-Evo on cr-test and ir-test) and the Evo conditioning audit as
// cached stages (bench/stage-runner.ts, as `bench static`), then README.md + report.html. A finished
// stage is skipped while its inputs hash and files are unchanged; a killed training stage resumes
// from <out>/work/.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveModelDir } from '../../model/default-model.js';
import { readTrackCommits, readTrackTasks, trackRepoDirs, type TrackCommit } from '../../data/evo/track.js';
import type { SplitName } from '../../data/tasks/types.js';
import { fileSha256, hashJson } from '../stage-cache.js';
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
import { resolvePackagePath, type BenchEvoConfig } from './config.js';
import { evoStages, type EvoBenchContext, type EvoStage } from './stages.js';
import { writeEvoReport } from './report.js';

export interface BenchEvoOptions extends StagedBenchOptions<EvoStage> {
  /** folder holding the track's git repositories as NAME or NAME/repo (default: stats.json's paths) */
  reposDir?: string;
  /** the per-file and per-diff embedding cache (default <out>/work/embeddings); keyed by encoder, safe to share */
  cacheDir?: string;
  config: Readonly<BenchEvoConfig>;
}

export type BenchEvoResult = StagedBenchResult;

const SPLITS: SplitName[] = ['train', 'ir-val', 'ir-test', 'cr-val', 'cr-test'];

/** SHA-256 of a Static hypernetwork folder: its spec and head (what defines its adapters). */
export function hyperDirHash(dir: string): string {
  const files = ['hyper.json', 'head.safetensors'];
  for (const f of files) if (!existsSync(join(dir, f))) throw new Error(`bench evo-track: ${dir} has no ${f} (not a Static hypernetwork)`);
  return hashJson(Object.fromEntries(files.map((f) => [f, fileSha256(join(dir, f))])));
}

export async function runEvoTrackBench(o: BenchEvoOptions): Promise<BenchEvoResult> {
  const log = o.log ?? (() => {});
  const statsFile = join(o.tasksDir, 'stats.json');
  if (!existsSync(statsFile)) throw new Error(`bench evo-track: ${statsFile} is missing (build the track with \`code2lora tasks evo\`)`);
  const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as Record<string, unknown>;
  if (stats.track !== 'evolution')
    throw new Error(`bench evo-track: ${statsFile} is not an evolution track (track: ${JSON.stringify(stats.track)})`);
  const missing = [...SPLITS.map((s) => `${s}.jsonl`), 'commits.jsonl'].filter((f) => !existsSync(join(o.tasksDir, f)));
  if (missing.length) throw new Error(`bench evo-track: ${o.tasksDir} lacks ${missing.join(', ')}`);
  const modelDir = resolveModelDir(o.modelDir);
  const baseHashes = baseModelHashes(modelDir);
  checkTasksMatchBase(o.tasksDir, stats, baseHashes);
  let commits: Map<string, TrackCommit[]> | undefined;
  let commitsHash: string | undefined;
  const ctx: EvoBenchContext = {
    out: o.out,
    tasksDir: o.tasksDir,
    modelDir,
    config: o.config,
    command: o.command,
    log,
    cacheDir: o.cacheDir ?? join(o.out, 'work', 'embeddings'),
    hashes: {
      base: baseHashes.base,
      get commits() {
        commitsHash ??= fileSha256(join(o.tasksDir, 'commits.jsonl'));
        return commitsHash;
      },
      split: memo((name) => fileSha256(join(o.tasksDir, `${name}.jsonl`))),
      hyper: memo((dir) => hyperDirHash(resolvePackagePath(dir))),
    },
    tasks: memo((split) => readTrackTasks(o.tasksDir, split as SplitName)),
    commits() {
      commits ??= readTrackCommits(o.tasksDir);
      return commits;
    },
    repoDirs(names) {
      const dirs = trackRepoDirs(o.tasksDir, o.reposDir, names);
      const lost = names.filter((n) => !dirs.has(n));
      if (lost.length)
        throw new Error(
          `bench evo-track: no git directory for ${lost.join(', ')} (${o.reposDir ? `looked under --repos-dir ${o.reposDir} as NAME/repo and NAME` : `the paths in ${statsFile}; pass --repos-dir`})`,
        );
      return dirs;
    },
    base: baseLoader(modelDir),
    artefact: artefactLookup(o.out, 'bench evo-track'),
    progress: o.progress ?? (() => silentProgress),
  };
  const stages = o.stages ?? evoStages();
  const r = await runStages(ctx, { out: o.out, stages, only: o.only, dryRun: o.dryRun, log });
  const result: BenchEvoResult = { ...r, report: [] };
  if (o.dryRun) return result;
  result.report = writeEvoReport(o.out, { command: o.command, config: o.config, stages });
  for (const f of result.report) log(`wrote ${f}`);
  return result;
}
