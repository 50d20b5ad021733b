// `code2lora hyper train`: trains the Code2LoRA-Static hypernetwork (thin action over trainHypernetwork).
import type { Command } from 'commander';
import * as path from 'node:path';
import { modelFileSha256 } from '../../adapters/hyper/hypernet.js';
import { readManifest } from '../../data/corpus/manifest.js';
import { readTasks, tasksCorpusDir } from '../../eval/run-tasks.js';
import { loadModelWithTokenizer } from '../../eval/prompting.js';
import { defaultHyperTrainConfig, hyperTokenBudget, trainHypernetwork, validateHyperTrainConfig } from '../../train/hyper-train.js';
import { applyThreads } from '../flags.js';
import { commandLine, effectiveTrainConfig, trainConfigOptions, trainProgress, type TrainConfigFlags } from '../train-command.js';

interface TrainFlags extends TrainConfigFlags {
  tasks: string;
  out: string;
  model?: string;
  corpus?: string;
  cache: string | false;
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
    .option('--no-cache', 'embed every file afresh');
  trainConfigOptions(train).action(async (o: TrainFlags) => {
    applyThreads(o.threads);
    const { dir, model, tokenizer } = loadModelWithTokenizer(o.model);
    // defaults, then the config file (unknown keys are refused by the validator), then flags
    const valid = effectiveTrainConfig(o, defaultHyperTrainConfig(), ['head', 'encoder', 'repo'], (c, source) =>
      validateHyperTrainConfig(c, source, model.config.hiddenSize, model.config.maxPositionEmbeddings),
    );
    if (!valid) return;
    const corpus = o.corpus ?? tasksCorpusDir(o.tasks);
    const manifest = await readManifest(corpus);
    const repoDirs = new Map(manifest.projects.map((p) => [p.name, path.join(corpus, p.dir)]));
    console.error(
      `hyper train: token budget ${hyperTokenBudget(valid).toLocaleString('en-US')} (steps x accumulation x repositories x tasks x maxTokens)`,
    );
    const progress = trainProgress('embed repositories', 'hyper train', valid.steps);
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
      command: commandLine(),
      onEmbed: progress.onEmbed,
      onStep: progress.onStep,
    });
    progress.stop();
    if (!s) return;
    console.log(
      `best cr-val loss ${s.bestValLoss.toFixed(4)} at step ${s.bestStep} (base model without adapter: ${s.baseValLoss.toFixed(4)}); ` +
        `${s.tokensSeen.toLocaleString('en-US')} tokens in ${(s.seconds / 60).toFixed(1)} min (+${s.embedSeconds.toFixed(0)} s embedding); hypernetwork in ${s.best}`,
    );
  });
}
