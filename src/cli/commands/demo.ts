// `code2lora demo`: trains a tiny byte-level model for a few steps and generates text, end to end
// through the native core, autograd, AdamW and KV-cache decoding.
import type { Command } from 'commander';
import { runDemo } from '../../train/demo.js';

export function register(program: Command): void {
  program.command('demo')
    .description('train a tiny byte-level Llama for a few steps on a Python snippet and generate from it')
    .option('--steps <n>', 'optimiser steps', '60')
    .option('--seed <n>', 'random seed', '0')
    .option('--out <dir>', 'save the trained model here as a Hugging Face directory')
    .action((opts: { steps: string; seed: string; out?: string }) => {
      runDemo({ steps: parseIntFlag('--steps', opts.steps), seed: parseIntFlag('--seed', opts.seed), out: opts.out, log: (s) => console.log(s) });
    });
}

export function parseIntFlag(flag: string, v: string, min = 0): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}, got "${v}"`);
  return n;
}
