// `code2lora complete`: greedy completion of a prompt file with the default (or a given) model,
// optionally with a PEFT LoRA adapter.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { completeText } from '../../eval/complete.js';
import { applyThreads, intFlag, jsonOption, report, threadsOption, type JsonFlag } from '../flags.js';

interface CompleteFlags {
  prompt: string; model?: string; adapter?: string; maxNewTokens: number; stop?: string[]; multiline?: boolean;
  threads: number; json: JsonFlag;
}

export function register(program: Command): void {
  const cmd = program.command('complete')
    .description('complete the text in a prompt file (greedy, KV cache) with the shipped base model or --model')
    .requiredOption('--prompt <file>', 'file whose contents are the prompt ("-" for stdin)')
    .option('--model <dir>', 'Hugging Face model directory (default: the shipped code2lora-base)')
    .option('--adapter <dir>', 'PEFT LoRA adapter directory to apply')
    .option('--max-new-tokens <n>', 'tokens to generate at most', intFlag('--max-new-tokens', 1), 64)
    .option('--stop <string...>', 'stop at any of these strings (default: end of line)')
    .option('--multiline', 'do not stop at the end of the line');
  threadsOption(cmd);
  jsonOption(cmd, 'the completion and its token counts')
    .action((o: CompleteFlags) => {
      applyThreads(o.threads);
      const prompt = readFileSync(o.prompt === '-' ? 0 : o.prompt, 'utf8');
      const r = completeText({
        prompt, modelDir: o.model, adapterDir: o.adapter, maxNewTokens: o.maxNewTokens,
        stopStrings: o.stop ?? (o.multiline ? [] : ['\n']),
      });
      report(o.json, r, () => process.stdout.write(`${r.completion}\n`));
    });
}
