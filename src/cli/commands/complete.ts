// `code2lora complete`: greedy completion of a prompt file with the default (or a given) model,
// optionally with a PEFT LoRA adapter.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { completeText } from '../../eval/complete.js';
import { parseIntFlag } from '../flags.js';

export function register(program: Command): void {
  program.command('complete')
    .description('complete the text in a prompt file (greedy, KV cache) with the shipped base model or --model')
    .requiredOption('--prompt <file>', 'file whose contents are the prompt ("-" for stdin)')
    .option('--model <dir>', 'Hugging Face model directory (default: the shipped code2lora-base)')
    .option('--adapter <dir>', 'PEFT LoRA adapter directory to apply')
    .option('--max-new-tokens <n>', 'tokens to generate at most', '64')
    .option('--stop <string...>', 'stop at any of these strings (default: end of line)')
    .option('--multiline', 'do not stop at the end of the line')
    .option('--json', 'print JSON instead of text')
    .action((o) => {
      const prompt = readFileSync(o.prompt === '-' ? 0 : o.prompt, 'utf8');
      const r = completeText({
        prompt, modelDir: o.model, adapterDir: o.adapter, maxNewTokens: parseIntFlag('--max-new-tokens', o.maxNewTokens, 1),
        stopStrings: o.stop ?? (o.multiline ? [] : ['\n']),
      });
      if (o.json) console.log(JSON.stringify(r));
      else process.stdout.write(r.completion + '\n');
    });
}
