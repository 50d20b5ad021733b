// `code2lora demo`: trains a tiny byte-level model for a few steps and generates text, end to end
// through the native core, autograd, AdamW and KV-cache decoding.
import type { Command } from 'commander';
import { runDemo } from '../../train/demo.js';
import { parseIntFlag } from '../flags.js';

export function register(program: Command): void {
  program.command('demo')
    .description('train a tiny byte-level Llama on a Python snippet, then a LoRA adapter on another (saved as PEFT), and complete with both')
    .option('--steps <n>', 'optimiser steps', '200')
    .option('--lora-steps <n>', 'LoRA steps on the second snippet (base frozen)', '100')
    .option('--seed <n>', 'random seed', '0')
    .option('--out <dir>', 'save the model (Hugging Face directory) and the adapter (PEFT directory) here')
    .action((opts: { steps: string; loraSteps: string; seed: string; out?: string }) => {
      runDemo({ steps: parseIntFlag('--steps', opts.steps, 1), loraSteps: parseIntFlag('--lora-steps', opts.loraSteps, 1), seed: parseIntFlag('--seed', opts.seed), out: opts.out, log: (s) => console.log(s) });
    });
}
