// `code2lora bench ...`: speed benchmarks that print figures and write JSON.
import type { Command } from 'commander';
import { applyThreads, intFlag, jsonOption, report, threadsOption, type JsonFlag } from '../flags.js';

export function register(program: Command): void {
  const bench = program.command('bench').description('speed benchmarks (print figures, write JSON)');
  const core = bench.command('core')
    .description('training step of the same Llama model in code2lora and PyTorch CPU, with the ratio; sgemm GFLOP/s')
    .option('--batch <n>', 'sequences per step', intFlag('--batch', 1), 8)
    .option('--seq <n>', 'tokens per sequence', intFlag('--seq', 2), 256)
    .option('--steps <n>', 'timed steps (median reported)', intFlag('--steps', 1), 5)
    .option('--warmup <n>', 'untimed steps first', intFlag('--warmup', 0), 1)
    .option('--seed <n>', 'random seed', intFlag('--seed', 0), 0)
    .option('--no-torch', 'skip the PyTorch peer')
    .option('--python <path>', 'python with torch (default: /usr/bin/python3)');
  threadsOption(core);
  jsonOption(core, 'the results')
    .action(async (o: { batch: number; seq: number; steps: number; warmup: number; seed: number; torch: boolean; python?: string; threads: number; json: JsonFlag }) => {
      applyThreads(o.threads); // the PyTorch peer runs with the same count
      // Benchmarks load lazily so other commands start fast.
      const { runCoreBench } = await import('../../bench/core.js');
      const quiet = o.json === true;
      const result = await runCoreBench({
        batch: o.batch, seq: o.seq, steps: o.steps, warmup: o.warmup, seed: o.seed,
        torch: o.torch, python: o.python, log: quiet ? undefined : (s) => console.log(s),
      });
      report(o.json, result, () => {});
    });
  const generate = bench.command('generate')
    .description('greedy decoding tokens/s with and without a LoRA adapter (KV cache)')
    .option('--prompt <n>', 'prompt tokens', intFlag('--prompt', 1), 128)
    .option('--new-tokens <n>', 'tokens to generate', intFlag('--new-tokens', 1), 64)
    .option('--batch <n>', 'sequences decoded together', intFlag('--batch', 1), 1)
    .option('--repeats <n>', 'best of this many runs', intFlag('--repeats', 1), 3)
    .option('--seed <n>', 'random seed', intFlag('--seed', 0), 0);
  threadsOption(generate);
  jsonOption(generate, 'the results')
    .action(async (o: { prompt: number; newTokens: number; batch: number; repeats: number; seed: number; threads: number; json: JsonFlag }) => {
      applyThreads(o.threads);
      const { runGenerateBench } = await import('../../bench/generate.js');
      const quiet = o.json === true;
      const result = runGenerateBench({
        prompt: o.prompt, newTokens: o.newTokens, batch: o.batch, repeats: o.repeats, seed: o.seed,
        log: quiet ? undefined : (s) => console.log(s),
      });
      report(o.json, result, () => {});
    });
  registerStatic(bench);
}

/** `code2lora bench static`: the static-track table, every stage cached, then the report. */
function registerStatic(bench: Command): void {
  const cmd = bench.command('static')
    .description('RepoPeftBench static-track table: trains and evaluates every baseline as cached stages, then writes README.md + report.html')
    .requiredOption('--tasks <dir>', 'task directory written by `code2lora tasks build`')
    .option('--out <dir>', 'results folder (stages/, work/, README.md, report.html)', 'results/static')
    .option('--config <file>', 'benchmark config (the fine-tuning configs it names are read too)', 'configs/bench-static.json')
    .option('--model <dir>', 'base model directory (default: the shipped code2lora-base)')
    .option('--corpus <dir>', "corpus RAG retrieves from (default: the one recorded in the tasks' stats.json)")
    .option('--only <stage...>', 'run only these stages (a stage name like shared-lora:train, or a method id for all its stages), plus unfinished dependencies')
    .option('--dry-run', 'list the stages with their state and estimated cost; run nothing', false);
  threadsOption(cmd);
  jsonOption(cmd, 'the plan and what ran')
    .action(async (o: { tasks: string; out: string; config: string; model?: string; corpus?: string; only?: string[]; dryRun: boolean; threads: number; json: JsonFlag }) => {
      applyThreads(o.threads);
      const { runStaticBench } = await import('../../bench/static/pipeline.js');
      const { loadBenchStaticConfig } = await import('../../bench/static/config.js');
      const { progressBar } = await import('../progress.js');
      const quiet = o.json === true;
      const command = ['code2lora bench static', `--tasks ${o.tasks}`, `--out ${o.out}`, `--config ${o.config}`,
        ...(o.model ? [`--model ${o.model}`] : []), ...(o.corpus ? [`--corpus ${o.corpus}`] : []), `--threads ${o.threads}`].join(' ');
      const result = runStaticBench({
        tasksDir: o.tasks, out: o.out, modelDir: o.model, corpusDir: o.corpus, config: loadBenchStaticConfig(o.config), only: o.only, dryRun: o.dryRun,
        command, log: (s) => (quiet ? process.stderr.write(`${s}\n`) : console.log(s)),
        progress: (label, total) => progressBar(label, total, ['loss', 'val']),
      });
      report(o.json, result, () => {});
    });
}
