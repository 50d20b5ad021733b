// `code2lora eval`: assertion completion on a task split, with confidence intervals.
import type { Command } from 'commander';
import { evaluateTasks } from '../../eval/run-tasks.js';
import { progressBar } from '../progress.js';
import { parseIntFlag, writeJsonFile } from '../flags.js';

export function register(program: Command): void {
  program.command('eval')
    .description('greedy assertion completion on a task split: exact match and edit similarity with bootstrap 95% CIs')
    .requiredOption('--tasks <dir>', 'task directory written by `code2lora tasks build`')
    .option('--split <name>', 'split to evaluate (cr-test, cr-val, ir-test, ir-val)', 'cr-test')
    .option('--model <dir>', 'Hugging Face model directory (default: the shipped code2lora-base)')
    .option('--adapter <dir>', 'PEFT LoRA adapter to apply')
    .option('--max-new-tokens <n>', 'tokens generated at most per task', '64')
    .option('--batch <n>', 'tasks decoded together', '8')
    .option('--limit <n>', 'evaluate a seeded sample of this many tasks (0 = all)', '0')
    .option('--seed <n>', 'seed for sampling and the bootstrap', '0')
    .option('--threads <n>', 'threads', '2')
    .option('--json <file>', 'write the report (with every prediction) as JSON')
    .action((o) => {
      let bar: ReturnType<typeof progressBar> | undefined;
      const r = evaluateTasks({
        tasksDir: o.tasks, split: o.split, modelDir: o.model, adapterDir: o.adapter,
        maxNewTokens: parseIntFlag('--max-new-tokens', o.maxNewTokens, 1), batch: parseIntFlag('--batch', o.batch, 1),
        limit: parseIntFlag('--limit', o.limit), seed: parseIntFlag('--seed', o.seed), threads: parseIntFlag('--threads', o.threads, 1),
        onProgress: (done, total) => {
          bar ??= progressBar('eval', total);
          bar.update(done);
        },
      });
      bar?.stop();
      const pct = (x: number) => (100 * x).toFixed(1);
      console.log(`${r.split}: ${r.tasks} tasks, exact match ${pct(r.exactMatch.estimate)}% [${pct(r.exactMatch.lo)}, ${pct(r.exactMatch.hi)}], ` +
        `edit similarity ${pct(r.editSimilarity.estimate)} [${pct(r.editSimilarity.lo)}, ${pct(r.editSimilarity.hi)}] (95% CI, repository bootstrap)`);
      for (const [f, s] of Object.entries(r.perFamily)) console.log(`  ${f.padEnd(14)} ${String(s.tasks).padStart(6)} tasks  EM ${pct(s.exactMatch)}%  ES ${pct(s.editSimilarity)}`);
      console.log(`  ${r.seconds.toFixed(1)} s, ${r.generatedTokensPerS.toFixed(0)} generated tokens/s, ${r.truncatedPrompts} prompts cut from the left`);
      writeJsonFile(o.json, r);
    });
}
