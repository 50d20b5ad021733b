// `code2lora bench ...`: speed benchmarks that print figures and write JSON.
import type { Command } from 'commander';
import { applyThreads, intFlag, jsonOption, report, threadsOption, type JsonFlag } from '../flags.js';

export function register(program: Command): void {
  const bench = program.command('bench').description('speed benchmarks (print figures, write JSON)');
  const core = bench
    .command('core')
    .description('training step of the same Llama model in code2lora and PyTorch CPU, with the ratio; sgemm GFLOP/s')
    .option('--batch <n>', 'sequences per step', intFlag('--batch', 1), 8)
    .option('--seq <n>', 'tokens per sequence', intFlag('--seq', 2), 256)
    .option('--steps <n>', 'timed steps (median reported)', intFlag('--steps', 1), 5)
    .option('--warmup <n>', 'untimed steps first', intFlag('--warmup', 0), 1)
    .option('--seed <n>', 'random seed', intFlag('--seed', 0), 0)
    .option('--no-torch', 'skip the PyTorch peer')
    .option('--python <path>', 'python with torch (default: /usr/bin/python3)');
  threadsOption(core);
  jsonOption(core, 'the results').action(
    async (o: {
      batch: number;
      seq: number;
      steps: number;
      warmup: number;
      seed: number;
      torch: boolean;
      python?: string;
      threads: number;
      json: JsonFlag;
    }) => {
      applyThreads(o.threads); // the PyTorch peer runs with the same count
      // Benchmarks load lazily so other commands start fast.
      const { runCoreBench } = await import('../../bench/core.js');
      const quiet = o.json === true;
      const result = await runCoreBench({
        batch: o.batch,
        seq: o.seq,
        steps: o.steps,
        warmup: o.warmup,
        seed: o.seed,
        torch: o.torch,
        python: o.python,
        log: quiet ? undefined : (s) => console.log(s),
      });
      report(o.json, result, () => {});
    },
  );
  const generate = bench
    .command('generate')
    .description('greedy decoding tokens/s with and without a LoRA adapter (KV cache)')
    .option('--prompt <n>', 'prompt tokens', intFlag('--prompt', 1), 128)
    .option('--new-tokens <n>', 'tokens to generate', intFlag('--new-tokens', 1), 64)
    .option('--batch <n>', 'sequences decoded together', intFlag('--batch', 1), 1)
    .option('--repeats <n>', 'best of this many runs', intFlag('--repeats', 1), 3)
    .option('--seed <n>', 'random seed', intFlag('--seed', 0), 0);
  threadsOption(generate);
  jsonOption(generate, 'the results').action(
    async (o: { prompt: number; newTokens: number; batch: number; repeats: number; seed: number; threads: number; json: JsonFlag }) => {
      applyThreads(o.threads);
      const { runGenerateBench } = await import('../../bench/generate.js');
      const quiet = o.json === true;
      const result = runGenerateBench({
        prompt: o.prompt,
        newTokens: o.newTokens,
        batch: o.batch,
        repeats: o.repeats,
        seed: o.seed,
        log: quiet ? undefined : (s) => console.log(s),
      });
      report(o.json, result, () => {});
    },
  );
  registerStatic(bench);
  registerEvoTrack(bench);
  registerAdaptBench(bench);
  registerEvoBench(bench);
  registerServeBench(bench);
}

/** `code2lora bench static`: the static-track table, every stage cached, then the report. */
function registerStatic(bench: Command): void {
  const cmd = bench
    .command('static')
    .description(
      'RepoPeftBench static-track table: trains and evaluates every baseline as cached stages, then writes README.md + report.html',
    )
    .requiredOption('--tasks <dir>', 'task directory written by `code2lora tasks build`')
    .option('--out <dir>', 'results folder (stages/, work/, README.md, report.html)', 'results/static')
    .option('--config <file>', 'benchmark config (the fine-tuning configs it names are read too)', 'configs/bench-static.json')
    .option('--model <dir>', 'base model directory (default: the shipped code2lora-base)')
    .option('--corpus <dir>', "corpus RAG retrieves from (default: the one recorded in the tasks' stats.json)");
  stagedBenchFlags(cmd, 'shared-lora:train').action(async (o: StagedBenchFlags & { corpus?: string }) => {
    applyThreads(o.threads);
    const { runStaticBench } = await import('../../bench/static/pipeline.js');
    const { loadBenchStaticConfig } = await import('../../bench/static/config.js');
    const command = [
      'code2lora bench static',
      `--tasks ${o.tasks}`,
      `--out ${o.out}`,
      `--config ${o.config}`,
      ...(o.model ? [`--model ${o.model}`] : []),
      ...(o.corpus ? [`--corpus ${o.corpus}`] : []),
      `--threads ${o.threads}`,
    ].join(' ');
    const result = await runStaticBench({
      tasksDir: o.tasks,
      out: o.out,
      modelDir: o.model,
      corpusDir: o.corpus,
      config: loadBenchStaticConfig(o.config),
      only: o.only,
      dryRun: o.dryRun,
      command,
      ...(await stagedBenchOutput(o.json)),
    });
    report(o.json, result, () => {});
  });
}

/** The flags every staged bench (static, evo-track) has: its own --tasks, --out, --config, --model,
 *  and the ones stagedBenchFlags adds. */
interface StagedBenchFlags {
  tasks: string;
  out: string;
  config: string;
  model?: string;
  only?: string[];
  dryRun: boolean;
  threads: number;
  json: JsonFlag;
}

/** Adds a staged bench's last flags: --only (`example` names a stage), --dry-run, --threads, --json. */
function stagedBenchFlags(cmd: Command, example: string): Command {
  cmd
    .option(
      '--only <stage...>',
      `run only these stages (a stage name like ${example}, or a method id for all its stages), plus unfinished dependencies`,
    )
    .option('--dry-run', 'list the stages with their state and estimated cost; run nothing', false);
  threadsOption(cmd);
  return jsonOption(cmd, 'the plan and what ran');
}

/** Where a staged bench (static, evo-track) reports: its log on stdout (stderr under --json, which
 *  keeps stdout for the JSON), training progress as bars with loss and val. */
async function stagedBenchOutput(json: JsonFlag) {
  const { progressBar } = await import('../progress.js');
  return {
    log: (s: string) => (json === true ? process.stderr.write(`${s}\n`) : console.log(s)),
    progress: (label: string, total: number) => progressBar(label, total, ['loss', 'val']),
  };
}

/** `code2lora bench evo-track`: the evolution-track table and the Evo audit, every stage cached, then the report. */
function registerEvoTrack(bench: Command): void {
  const cmd = bench
    .command('evo-track')
    .description(
      'evolution-track table: Pretrained, shared LoRA, Code2LoRA-Static re-embedded at each commit and Code2LoRA-Evo on cr-test and ir-test (EM/ES, target loss), the Evo conditioning audit; cached stages, then README.md + report.html',
    )
    .requiredOption('--tasks <dir>', 'evolution track from `code2lora tasks evo` (splits, commits.jsonl, stats.json)')
    .option('--out <dir>', 'results folder (stages/, work/, plots/, README.md, report.html)', 'results/evo')
    .option('--config <file>', 'benchmark config (the Evo and shared-LoRA configs it names are read too)', 'configs/bench-evo.json')
    .option(
      '--repos-dir <dir>',
      "folder holding the track's git repositories as NAME or NAME/repo (default: the paths in the track's stats.json)",
    )
    .option('--model <dir>', 'base model directory (default: the shipped code2lora-base)')
    .option('--cache <dir>', 'per-file and per-diff embedding cache (keyed by encoder; shared with `evo train`)', '.cache/embeddings');
  stagedBenchFlags(cmd, 'code2lora-evo:train').action(async (o: StagedBenchFlags & { reposDir?: string; cache: string }) => {
    applyThreads(o.threads);
    const { runEvoTrackBench } = await import('../../bench/evo-track/pipeline.js');
    const { loadBenchEvoConfig } = await import('../../bench/evo-track/config.js');
    // the recorded command names the mirror folder as MIRROR: results carry no machine path
    const command = [
      'code2lora bench evo-track',
      `--tasks ${o.tasks}`,
      `--out ${o.out}`,
      `--config ${o.config}`,
      ...(o.reposDir ? ['--repos-dir MIRROR'] : []),
      ...(o.model ? [`--model ${o.model}`] : []),
      `--cache ${o.cache}`,
      `--threads ${o.threads}`,
    ].join(' ');
    const result = await runEvoTrackBench({
      tasksDir: o.tasks,
      out: o.out,
      modelDir: o.model,
      reposDir: o.reposDir,
      cacheDir: o.cache,
      config: loadBenchEvoConfig(o.config),
      only: o.only,
      dryRun: o.dryRun,
      command,
      ...(await stagedBenchOutput(o.json)),
    });
    report(o.json, result, () => {});
  });
}

/** `code2lora bench evo`: one Evo update (diff, diff embedding, GRU step, head) and a replay of N commits. */
function registerEvoBench(bench: Command): void {
  const cmd = bench
    .command('evo')
    .description(
      'Code2LoRA-Evo speed on a generated git repository: init (cold cache), one update by part (diff, diff embedding, GRU, head), a replay of N commits',
    )
    .option('--files <n>', 'files in the generated repository', intFlag('--files', 1), 40)
    .option('--commits <n>', 'commits applied (each changes 3 files)', intFlag('--commits', 1), 10)
    .option('--model <dir>', 'base model directory (default: the shipped code2lora-base)')
    .option('--evo <dir>', 'Evo checkpoint (default: a fresh recurrent part around the shipped Static head; timings only)')
    .option('--seed <n>', 'random seed', intFlag('--seed', 0), 0);
  threadsOption(cmd);
  jsonOption(cmd, 'the results').action(
    async (o: { files: number; commits: number; model?: string; evo?: string; seed: number; threads: number; json: JsonFlag }) => {
      applyThreads(o.threads);
      const { runEvoBench } = await import('../../bench/evo.js');
      const result = await runEvoBench({
        files: o.files,
        commits: o.commits,
        modelDir: o.model,
        evoDir: o.evo,
        seed: o.seed,
        log: o.json === true ? undefined : (s) => console.log(s),
      });
      report(o.json, result, () => {});
    },
  );
}

/** `code2lora bench adapt`: adapter time (cold, one file changed), head forward, decoding with the
 *  adapter folded / unfolded, and the hypernetwork training step against plain LoRA's. */
function registerAdaptBench(bench: Command): void {
  const cmd = bench
    .command('adapt')
    .description(
      'adapter generation speed (cold cache, one file changed, head alone), decoding with the adapter folded/unfolded, hypernetwork vs plain LoRA training step',
    )
    .option('--files <n>', 'files in the synthetic repository', intFlag('--files', 1), 200)
    .option('--corpus <dir>', 'corpus whose projects/* supply real code (missing: generated code)', '.cache/corpus')
    .option('--model <dir>', 'base model directory (default: the shipped code2lora-base)')
    .option('--hyper <dir>', 'hypernetwork directory (default: the shipped one, else an untrained head of the shipped config)')
    .option('--head-runs <n>', 'timed head forward passes (median reported)', intFlag('--head-runs', 1), 50)
    .option('--prompt <n>', 'prompt tokens for decoding', intFlag('--prompt', 1), 128)
    .option('--new-tokens <n>', 'tokens decoded per run', intFlag('--new-tokens', 1), 64)
    .option('--repeats <n>', 'best of this many decoding runs', intFlag('--repeats', 1), 3)
    .option('--repos-per-step <n>', 'repositories per training step', intFlag('--repos-per-step', 1), 2)
    .option('--seqs-per-repo <n>', 'sequences per repository per training step', intFlag('--seqs-per-repo', 1), 8)
    .option('--seq <n>', 'tokens per training sequence', intFlag('--seq', 2), 256)
    .option('--steps <n>', 'timed training steps of each kind (median reported)', intFlag('--steps', 1), 3)
    .option('--warmup <n>', 'untimed training steps first', intFlag('--warmup', 0), 1)
    .option('--seed <n>', 'random seed', intFlag('--seed', 0), 0);
  threadsOption(cmd);
  jsonOption(cmd, 'the results (perf/results/adapt.json for the record)').action(
    async (o: {
      files: number;
      corpus: string;
      model?: string;
      hyper?: string;
      headRuns: number;
      prompt: number;
      newTokens: number;
      repeats: number;
      reposPerStep: number;
      seqsPerRepo: number;
      seq: number;
      steps: number;
      warmup: number;
      seed: number;
      threads: number;
      json: JsonFlag;
    }) => {
      applyThreads(o.threads);
      const { runAdaptBench } = await import('../../bench/adapt.js');
      const { threads: _t, json, ...opts } = o;
      const result = await runAdaptBench({
        ...opts,
        modelDir: o.model,
        hyperDir: o.hyper,
        log: json === true ? undefined : (s) => console.log(s),
      });
      report(json, result, () => {});
    },
  );
}

/** `code2lora bench serve`: the completion server on loopback (throughput and latency by client count,
 *  mixed vs shared adapters, registration time, a register/delete soak with RSS). */
function registerServeBench(bench: Command): void {
  const list = (v: string) => v.split(',').map((x) => intFlag('--clients', 1)(x.trim()));
  const cmd = bench
    .command('serve')
    .description(
      'completion server on loopback: tok/s and p50/p99 latency by client count, mixed vs shared adapters, registration time, adapter soak with RSS',
    )
    .option('--model <dir>', 'base model directory (default: the shipped code2lora-base)')
    .option('--hyper <dir>', 'hypernetwork for the repository registration timing (default: the shipped one with the shipped base)')
    .option('--clients <list>', 'client counts, comma-separated', list, [1, 8, 32])
    .option('--requests <n>', 'requests per client, one after another', intFlag('--requests', 1), 4)
    .option('--max-tokens <n>', 'max_tokens of every completion (greedy, no stop string)', intFlag('--max-tokens', 1), 16)
    .option('--mixed-clients <n>', 'clients in the one-adapter-each vs all-on-one comparison', intFlag('--mixed-clients', 1), 32)
    .option('--max-batch <n>', "the server's --max-batch", intFlag('--max-batch', 1), 32)
    .option('--soak <n>', 'distinct adapters registered and deleted while serving', intFlag('--soak', 0), 1000)
    .option('--soak-seconds <n>', 'the soak stops after this many seconds', intFlag('--soak-seconds', 1), 120)
    .option('--seed <n>', 'random seed (adapters)', intFlag('--seed', 0), 0);
  threadsOption(cmd);
  jsonOption(cmd, 'the results (perf/results/serve.json for the record)').action(
    async (o: {
      model?: string;
      hyper?: string;
      clients: number[];
      requests: number;
      maxTokens: number;
      mixedClients: number;
      maxBatch: number;
      soak: number;
      soakSeconds: number;
      seed: number;
      threads: number;
      json: JsonFlag;
    }) => {
      applyThreads(o.threads);
      const { runServeBench } = await import('../../bench/serve.js');
      const result = await runServeBench({
        modelDir: o.model,
        hyperDir: o.hyper,
        clients: o.clients,
        requestsPerClient: o.requests,
        maxTokens: o.maxTokens,
        mixedClients: o.mixedClients,
        maxBatch: o.maxBatch,
        soakAdapters: o.soak,
        soakSeconds: o.soakSeconds,
        seed: o.seed,
        log: o.json === true ? undefined : (s) => console.log(s),
      });
      report(o.json, result, () => {});
    },
  );
}
