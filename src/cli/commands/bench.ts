// `code2lora bench ...`: speed benchmarks that print figures and write JSON.
import type { Command } from 'commander';
import { parseIntFlag, writeJsonFile } from '../flags.js';

export function register(program: Command): void {
  const bench = program.command('bench').description('speed benchmarks (print figures, write JSON)');
  bench.command('core')
    .description('training step of the same Llama model in code2lora and PyTorch CPU, with the ratio; sgemm GFLOP/s')
    .option('--json <file>', 'write the results as JSON')
    .option('--batch <n>', 'sequences per step', '8')
    .option('--seq <n>', 'tokens per sequence', '256')
    .option('--steps <n>', 'timed steps (median reported)', '5')
    .option('--warmup <n>', 'untimed steps first', '1')
    .option('--threads <n>', 'threads for both frameworks', '2')
    .option('--seed <n>', 'random seed', '0')
    .option('--no-torch', 'skip the PyTorch peer')
    .option('--python <path>', 'python with torch (default: /usr/bin/python3)')
    .action(async (o) => {
      // Benchmarks load lazily so other commands start fast.
      const { runCoreBench } = await import('../../bench/core.js');
      const result = await runCoreBench({
        batch: parseIntFlag('--batch', o.batch, 1), seq: parseIntFlag('--seq', o.seq, 2), steps: parseIntFlag('--steps', o.steps, 1),
        warmup: parseIntFlag('--warmup', o.warmup), threads: parseIntFlag('--threads', o.threads, 1), seed: parseIntFlag('--seed', o.seed),
        torch: o.torch, python: o.python, log: (s) => console.log(s),
      });
      writeJsonFile(o.json, result);
    });
  bench.command('generate')
    .description('greedy decoding tokens/s with and without a LoRA adapter (KV cache)')
    .option('--json <file>', 'write the results as JSON')
    .option('--prompt <n>', 'prompt tokens', '128')
    .option('--new-tokens <n>', 'tokens to generate', '64')
    .option('--batch <n>', 'sequences decoded together', '1')
    .option('--repeats <n>', 'best of this many runs', '3')
    .option('--threads <n>', 'threads', '2')
    .option('--seed <n>', 'random seed', '0')
    .action(async (o) => {
      const { runGenerateBench } = await import('../../bench/generate.js');
      const result = runGenerateBench({
        prompt: parseIntFlag('--prompt', o.prompt, 1), newTokens: parseIntFlag('--new-tokens', o.newTokens, 1),
        batch: parseIntFlag('--batch', o.batch, 1), repeats: parseIntFlag('--repeats', o.repeats, 1),
        threads: parseIntFlag('--threads', o.threads, 1), seed: parseIntFlag('--seed', o.seed), log: (s) => console.log(s),
      });
      writeJsonFile(o.json, result);
    });
}
