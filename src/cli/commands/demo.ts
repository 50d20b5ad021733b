// `code2lora demo`: trains a tiny byte-level model for a few steps and generates text, end to end
// through the native core, autograd, AdamW and KV-cache decoding.
import type { Command } from 'commander';
import { runDemo } from '../../train/demo.js';
import { applyThreads, intFlag, threadsOption } from '../flags.js';

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description(
      'train a tiny byte-level Llama on a Python snippet, then a LoRA adapter on another (saved as PEFT), and complete with both',
    )
    .option('--steps <n>', 'optimiser steps', intFlag('--steps', 1), 200)
    .option('--lora-steps <n>', 'LoRA steps on the second snippet (base frozen)', intFlag('--lora-steps', 1), 100)
    .option('--seed <n>', 'random seed', intFlag('--seed', 0), 0)
    .option('--out <dir>', 'save the model (Hugging Face directory) and the adapter (PEFT directory) here');
  threadsOption(cmd).action((o: { steps: number; loraSteps: number; seed: number; out?: string; threads: number }) => {
    applyThreads(o.threads);
    runDemo({ steps: o.steps, loraSteps: o.loraSteps, seed: o.seed, out: o.out, log: (s) => console.log(s) });
  });
}
