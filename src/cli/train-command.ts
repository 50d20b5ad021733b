// What the trainer commands (`hyper train`, `evo train`) share: the config flags (--steps,
// --print-config, --threads), the effective config (defaults, then --config FILE, then --steps,
// validated) and the progress of a run that embeds its repositories before it trains.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { mergeOverDefaults } from '../util/config-merge.js';
import { intFlag, threadsOption } from './flags.js';
import { progressBar, type Progress } from './progress.js';

export interface TrainConfigFlags {
  config?: string;
  steps?: number;
  printConfig?: boolean;
  threads: number;
}

/** Adds --steps, --print-config and --threads, after the command's own options. */
export function trainConfigOptions(cmd: Command): Command {
  return threadsOption(
    cmd
      .option('--steps <n>', 'override the number of optimiser steps', intFlag('--steps', 1))
      .option('--print-config', 'print the effective config and exit'),
  );
}

/**
 * The config a trainer command runs with: the defaults, then the --config file over them (each object
 * named in `nested` merged key by key; keys named in `ignored` dropped; unknown keys are left for the
 * validator to refuse), then --steps; validated (the source is the file, or "defaults"). With
 * --print-config it prints the validated config and returns null.
 */
export function effectiveTrainConfig<C extends { steps: number }, V>(
  o: TrainConfigFlags,
  defaults: C,
  nested: readonly (keyof C & string)[],
  validate: (c: C, source: string) => V,
  ignored: readonly string[] = [],
): V | null {
  let cfg = defaults;
  if (o.config) {
    const { ...over } = JSON.parse(readFileSync(o.config, 'utf8')) as Record<string, unknown>;
    for (const k of ignored) delete over[k];
    cfg = mergeOverDefaults(defaults, over, nested);
  }
  if (o.steps) cfg = { ...cfg, steps: o.steps };
  const valid = validate(cfg, o.config ?? 'defaults');
  if (o.printConfig) {
    console.log(JSON.stringify(valid, null, 2));
    return null;
  }
  return valid;
}

/** The command line as training.json records it. */
export function commandLine(): string {
  return ['code2lora', ...process.argv.slice(2)].join(' ');
}

/**
 * Progress of a run that embeds first, then trains: a bar `embedLabel` while it embeds (closed at the
 * first update), then a bar `trainLabel` over the steps with the loss, the last validation loss and
 * tokens/s; off a terminal, each cr-val loss also gets a line on stderr. stop() closes the training bar.
 */
export function trainProgress(
  embedLabel: string,
  trainLabel: string,
  steps: number,
): {
  onEmbed: (done: number, total: number) => void;
  onStep: (i: { step: number; loss: number; tokens: number; seconds: number; valLoss?: number }) => void;
  stop: () => void;
} {
  let ebar: Progress | null = null,
    bar: Progress | null = null;
  return {
    onEmbed: (d, t) => {
      ebar ??= progressBar(embedLabel, t);
      ebar.update(d);
    },
    onStep: (i) => {
      if (ebar) {
        ebar.stop();
        ebar = null;
      }
      bar ??= progressBar(trainLabel, steps, ['loss', 'val', 'tok_s']);
      bar.update(i.step, { loss: i.loss.toFixed(3), val: i.valLoss?.toFixed(3) ?? '', tok_s: (i.tokens / i.seconds).toFixed(0) });
      if (i.valLoss !== undefined && !process.stderr.isTTY)
        console.error(`step ${i.step}: cr-val loss ${i.valLoss.toFixed(4)} (per-repository mean)`);
    },
    stop: () => bar?.stop(),
  };
}
