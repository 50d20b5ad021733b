// `code2lora hyper train`: trains the Code2LoRA-Static hypernetwork (thin action over trainHypernetwork).
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { modelFileSha256 } from '../../adapters/hyper/hypernet.js';
import { readManifest } from '../../data/corpus/manifest.js';
import { readTasks, tasksCorpusDir } from '../../eval/run-tasks.js';
import { loadModelWithTokenizer } from '../../eval/prompting.js';
import {
  defaultHyperTrainConfig,
  hyperTokenBudget,
  trainHypernetwork,
  validateHyperTrainConfig,
  type HyperTrainConfig,
} from '../../train/hyper-train.js';
import { progressBar, type Progress } from '../progress.js';
import { applyThreads, intFlag, threadsOption } from '../flags.js';

interface TrainFlags {
  tasks: string;
  out: string;
  config?: string;
  model?: string;
  corpus?: string;
  cache: string | false;
  steps?: number;
  printConfig?: boolean;
  threads: number;
}

/** Defaults, then the config file (unknown keys are refused by the validator), then flags. */
function loadConfig(file: string | undefined): HyperTrainConfig {
  const d = defaultHyperTrainConfig();
  if (!file) return d;
  const over = JSON.parse(readFileSync(file, 'utf8')) as Partial<HyperTrainConfig>;
  return {
    ...d,
    ...over,
    head: { ...d.head, ...(over.head ?? {}) },
    encoder: { ...d.encoder, ...(over.encoder ?? {}) },
    repo: { ...d.repo, ...(over.repo ?? {}) },
  };
}

export function register(program: Command): void {
  const hyper = program.command('hyper').description('Code2LoRA-Static hypernetwork: repository embedding -> LoRA adapter');
  const train = hyper
    .command('train')
    .description(
      "train the hypernetwork on the training repositories' tasks (target-only loss through the frozen base); cr-val loss, averaged per repository, picks the checkpoint",
    )
    .requiredOption('--tasks <dir>', 'task folder from `code2lora tasks build` (train + cr-val splits)')
    .requiredOption('--out <dir>', 'run folder: checkpoints, loss curve, training.json; the chosen hypernetwork in <out>/hypernet')
    .option('--config <file>', 'JSON with HyperTrainConfig fields (head, encoder, repo, steps, ...); unknown keys are refused')
    .option('--model <dir>', 'frozen base model (default: the shipped code2lora-base)')
    .option('--corpus <dir>', "corpus holding the repositories (default: the one recorded in the tasks' stats.json)")
    .option('--cache <dir>', 'per-file embedding cache', '.cache/embeddings')
    .option('--no-cache', 'embed every file afresh')
    .option('--steps <n>', 'override the number of optimiser steps', intFlag('--steps', 1))
    .option('--print-config', 'print the effective config and exit');
  threadsOption(train).action(async (o: TrainFlags) => {
    applyThreads(o.threads);
    const { dir, model, tokenizer } = loadModelWithTokenizer(o.model);
    let cfg = loadConfig(o.config);
    if (o.steps) cfg = { ...cfg, steps: o.steps };
    const valid = validateHyperTrainConfig(cfg, o.config ?? 'defaults', model.config.hiddenSize, model.config.maxPositionEmbeddings);
    if (o.printConfig) {
      console.log(JSON.stringify(valid, null, 2));
      return;
    }
    const corpus = o.corpus ?? tasksCorpusDir(o.tasks);
    const manifest = await readManifest(corpus);
    const repoDirs = new Map(manifest.projects.map((p) => [p.name, path.join(corpus, p.dir)]));
    console.error(
      `hyper train: token budget ${hyperTokenBudget(valid).toLocaleString('en-US')} (steps x accumulation x repositories x tasks x maxTokens)`,
    );
    let ebar: Progress | null = null,
      bar: Progress | null = null;
    const s = trainHypernetwork({
      config: valid,
      model,
      baseModelSha256: modelFileSha256(dir),
      tokenizer,
      train: readTasks(o.tasks, 'train'),
      val: readTasks(o.tasks, 'cr-val'),
      repoDirs,
      cacheDir: o.cache === false ? null : o.cache,
      out: o.out,
      command: ['code2lora', ...process.argv.slice(2)].join(' '),
      onEmbed: (d, t) => {
        ebar ??= progressBar('embed repositories', t);
        ebar.update(d);
      },
      onStep: (i) => {
        if (ebar) {
          ebar.stop();
          ebar = null;
        }
        bar ??= progressBar('hyper train', valid.steps, ['loss', 'val', 'tok_s']);
        bar.update(i.step, { loss: i.loss.toFixed(3), val: i.valLoss?.toFixed(3) ?? '', tok_s: (i.tokens / i.seconds).toFixed(0) });
        if (i.valLoss !== undefined && !process.stderr.isTTY)
          console.error(`step ${i.step}: cr-val loss ${i.valLoss.toFixed(4)} (per-repository mean)`);
      },
    });
    (bar as Progress | null)?.stop();
    if (!s) return;
    console.log(
      `best cr-val loss ${s.bestValLoss.toFixed(4)} at step ${s.bestStep} (base model without adapter: ${s.baseValLoss.toFixed(4)}); ` +
        `${s.tokensSeen.toLocaleString('en-US')} tokens in ${(s.seconds / 60).toFixed(1)} min (+${s.embedSeconds.toFixed(0)} s embedding); hypernetwork in ${s.best}`,
    );
  });
}
