// `code2lora evo ...`: Code2LoRA-Evo. `train` (thin action over trainEvo), `init` (a state from the
// repository as it is), `update` (one GRU step for a commit or a diff), `replay` (state and adapter
// after each commit, scored on the track's tasks when given).
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { HyperHead } from '../../adapters/hyper/head.js';
import { Hypernetwork, modelFileSha256 } from '../../adapters/hyper/hypernet.js';
import { EvoNetwork } from '../../adapters/hyper/evo.js';
import { evoApplyCommit, evoApplyDiff, evoInit, readEvoState, writeEvoState } from '../../adapters/hyper/evo-state.js';
import { readTrackCommits, readTrackTasks, trackRepoDirs } from '../../data/evo/track.js';
import { repoName } from '../../data/evo/build.js';
import { STATIC_SPLITS } from '../../data/tasks/types.js';
import { loadModelWithTokenizer } from '../../eval/prompting.js';
import { evoReplay } from '../../eval/evo-replay.js';
import { defaultEvoTrainConfig, evoTokenBudget, trainEvo, validateEvoTrainConfig } from '../../train/evo-train.js';
import { repoRoot } from '../../util/repo-root.js';
import { progressBar, type Progress } from '../progress.js';
import { applyThreads, intFlag, jsonOption, report, threadsOption, type JsonFlag } from '../flags.js';
import { commandLine, effectiveTrainConfig, trainConfigOptions, trainProgress, type TrainConfigFlags } from '../train-command.js';
import { cacheOptions, fileProgress, resolveCacheFlag } from './adapt.js';

/** Where a trained Evo checkpoint is looked for when --evo is not given. */
export function defaultEvoDir(): string {
  return path.join(repoRoot(), 'models', 'code2lora-evo');
}

function resolveEvoDir(flag?: string): string {
  const dir = flag ?? defaultEvoDir();
  if (!existsSync(path.join(dir, 'evo.json')))
    throw new Error(
      flag
        ? `no Evo checkpoint at ${dir} (evo.json missing)`
        : `no Evo checkpoint at ${dir}: train one with \`code2lora evo train\` and pass its <out>/evo with --evo`,
    );
  return dir;
}

function loadEvo(o: { model?: string; evo?: string }): { evo: EvoNetwork; dir: string } {
  const { dir: modelDir, model, tokenizer } = loadModelWithTokenizer(o.model);
  const dir = resolveEvoDir(o.evo);
  return { evo: EvoNetwork.load(dir, model, tokenizer, modelFileSha256(modelDir)), dir };
}

interface TrainFlags extends TrainConfigFlags {
  tasks: string;
  reposDir?: string;
  out: string;
  initHead?: string;
  model?: string;
  cache: string | false;
}

export function register(program: Command): void {
  const evo = program.command('evo').description('Code2LoRA-Evo: an adapter that follows a repository commit by commit (GRU state + head)');

  const train = evo
    .command('train')
    .description(
      "train the Evo network on the evolution track's training repositories (truncated BPTT over kept commits, target-only loss through the frozen base); cr-val replay loss picks the checkpoint",
    )
    .requiredOption('--tasks <dir>', 'evolution track from `code2lora tasks evo` (train + cr-val splits, commits.jsonl)')
    .option(
      '--repos-dir <dir>',
      "folder holding the track's git repositories as NAME or NAME/repo (default: the paths in the track's stats.json)",
    )
    .requiredOption('--out <dir>', 'run folder: checkpoints, loss curve, training.json; the chosen checkpoint in <out>/evo')
    .option('--config <file>', 'JSON with EvoTrainConfig fields (head, encoder, repo, diff, window, steps, ...); unknown keys are refused')
    .option('--init-head <dir>', 'start the head from a trained Static hypernetwork (its head config replaces config.head)')
    .option('--model <dir>', 'frozen base model (default: the shipped code2lora-base)')
    .option('--cache <dir>', 'embedding cache (files and diffs)', '.cache/embeddings')
    .option('--no-cache', 'embed every file and diff afresh');
  trainConfigOptions(train).action(async (o: TrainFlags) => {
    applyThreads(o.threads);
    const { dir, model, tokenizer } = loadModelWithTokenizer(o.model);
    // defaults, then the config file (a "comment" key dropped, unknown keys refused by the validator), then flags
    const valid = effectiveTrainConfig(
      o,
      defaultEvoTrainConfig(),
      ['head', 'encoder', 'repo', 'diff'],
      (c, source) => validateEvoTrainConfig(c, source, model.config.hiddenSize, model.config.maxPositionEmbeddings),
      ['comment'],
    );
    if (!valid) return;
    const sha = modelFileSha256(dir);
    let initHead: HyperHead | undefined;
    if (o.initHead) {
      Hypernetwork.load(o.initHead, model, tokenizer, sha); // checks base, tokenizer and the head's digest
      initHead = HyperHead.load(path.join(o.initHead, 'head.safetensors'), model.config, { trainable: true });
    }
    const commits = readTrackCommits(o.tasks);
    const repoDirs = trackRepoDirs(o.tasks, o.reposDir, commits.keys());
    console.error(
      `evo train: token budget ${evoTokenBudget(valid).toLocaleString('en-US')} (steps x window x tasksPerCommit x maxTokens); ${repoDirs.size}/${commits.size} repositories found`,
    );
    const progress = trainProgress('embed snapshots and diffs', 'evo train', valid.steps);
    const s = await trainEvo({
      config: valid,
      model,
      baseModelSha256: sha,
      tokenizer,
      commits,
      train: readTrackTasks(o.tasks, 'train'),
      val: readTrackTasks(o.tasks, 'cr-val'),
      repoDirs,
      cacheDir: o.cache === false ? null : o.cache,
      out: o.out,
      command: commandLine(),
      initHead,
      onPrepare: progress.onEmbed,
      onStep: progress.onStep,
    });
    progress.stop();
    if (!s) return;
    console.log(
      `best cr-val loss ${s.bestValLoss.toFixed(4)} at step ${s.bestStep} (base without adapter ${s.baseValLoss.toFixed(4)}; best checkpoint with its state frozen at h0 ${s.frozenStateValLoss.toFixed(4)}); ` +
        `${s.tokensSeen.toLocaleString('en-US')} tokens in ${(s.seconds / 60).toFixed(1)} min (+${s.prepareSeconds.toFixed(0)} s embedding); checkpoint in ${s.best}`,
    );
  });

  const init = evo
    .command('init')
    .description("a state file from the repository's files as they are now (HEAD recorded); prints the adapter's hash")
    .argument('<repo>', 'repository folder (a git work tree for later `evo update --commit`)')
    .requiredOption('--state <file>', 'state file to write (atomically)')
    .option('--evo <dir>', 'Evo checkpoint (default: models/code2lora-evo)')
    .option('--model <dir>', 'frozen base model (default: the shipped code2lora-base)');
  cacheOptions(init);
  threadsOption(init);
  jsonOption(init, 'the state summary').action(
    async (repo: string, o: { state: string; evo?: string; model?: string; cache?: string | boolean; threads: number; json: JsonFlag }) => {
      applyThreads(o.threads);
      const { evo: net, dir } = loadEvo(o);
      const bar = fileProgress('embed');
      let r;
      try {
        r = await evoInit(net, repo, dir, resolveCacheFlag(o.cache), bar.onFile);
      } finally {
        bar.stop();
      }
      writeEvoState(o.state, r.state);
      const result = { state: path.resolve(o.state), commit: r.state.lastCommit, adapterSha256: r.state.adapterSha256, files: r.files };
      report(o.json, result, () => {
        console.log(`${repo}: initial state from ${r.files} files${r.state.lastCommit ? ` at ${r.state.lastCommit}` : ''}`);
        console.log(`adapter ${r.state.adapterSha256}`);
      });
    },
  );

  const update = evo
    .command('update')
    .description(
      "one GRU step: apply a commit (its production diff from the state's last commit) or a diff file; prints the new adapter's hash",
    )
    .requiredOption('--state <file>', 'state file from `evo init` (rewritten atomically)')
    .option('--commit <rev>', "a commit descending from the state's last commit (applied twice or out of order: refused)")
    .option('--diff <file>', 'a unified diff to apply instead ("-" for stdin)')
    .option('--repo <dir>', 'repository folder (default: the one recorded in the state)')
    .option('--evo <dir>', 'Evo checkpoint (default: the one recorded in the state)')
    .option('--model <dir>', 'frozen base model (default: the shipped code2lora-base)');
  cacheOptions(update);
  threadsOption(update);
  jsonOption(update, 'the state summary').action(
    async (o: {
      state: string;
      commit?: string;
      diff?: string;
      repo?: string;
      evo?: string;
      model?: string;
      cache?: string | boolean;
      threads: number;
      json: JsonFlag;
    }) => {
      if ((o.commit === undefined) === (o.diff === undefined)) throw new Error('evo update: give exactly one of --commit and --diff');
      applyThreads(o.threads);
      const s = readEvoState(o.state);
      const { evo: net } = loadEvo({ model: o.model, evo: o.evo ?? s.checkpoint.dir });
      const cache = resolveCacheFlag(o.cache);
      const next =
        o.commit !== undefined
          ? await evoApplyCommit(net, s, o.commit, cache, { repoDir: o.repo })
          : evoApplyDiff(net, s, readFileSync(o.diff === '-' ? 0 : (o.diff as string), 'utf8'), cache);
      writeEvoState(o.state, next);
      const result = { state: path.resolve(o.state), steps: next.steps, lastCommit: next.lastCommit, adapterSha256: next.adapterSha256 };
      report(o.json, result, () => {
        console.log(`step ${next.steps}${next.lastCommit ? ` at ${next.lastCommit}` : ''}`);
        console.log(`adapter ${next.adapterSha256}`);
      });
    },
  );

  const replay = evo
    .command('replay')
    .description(
      "state and adapter after each first-parent commit from..to (state files in <out>/states, replay.json); with --tasks, exact match on each commit's tasks",
    )
    .argument('<repo>', 'git repository (work tree or bare)')
    .requiredOption('--from <rev>', 'commit whose tree gives the initial state')
    .requiredOption('--to <rev>', 'last commit to apply (a descendant of --from)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--tasks <dir>', "evolution track: score each kept commit's tasks (steps then follow the kept commits, as in training)")
    .option('--name <name>', "the repository's name in the track (default: from its folder, as `tasks evo` names it)")
    .option('--evo <dir>', 'Evo checkpoint (default: models/code2lora-evo)')
    .option('--model <dir>', 'frozen base model (default: the shipped code2lora-base)')
    .option('--max-new-tokens <n>', 'tokens generated per task at most', intFlag('--max-new-tokens', 1), 64)
    .option('--batch <n>', 'tasks decoded together', intFlag('--batch', 1), 8);
  cacheOptions(replay);
  threadsOption(replay);
  jsonOption(replay, 'the replay report').action(
    async (
      repo: string,
      o: {
        from: string;
        to: string;
        out: string;
        tasks?: string;
        name?: string;
        evo?: string;
        model?: string;
        maxNewTokens: number;
        batch: number;
        cache?: string | boolean;
        threads: number;
        json: JsonFlag;
      },
    ) => {
      applyThreads(o.threads);
      const { evo: net, dir } = loadEvo(o);
      let tasks, keptCommits;
      if (o.tasks) {
        const name = o.name ?? repoName(path.resolve(repo));
        tasks = STATIC_SPLITS.flatMap((split) => readTrackTasks(o.tasks as string, split)).filter((t) => t.repo === name);
        const kept = readTrackCommits(o.tasks).get(name);
        if (!kept) throw new Error(`evo replay: repository ${name} is not in the track ${o.tasks} (use --name)`);
        keptCommits = new Set(kept.map((c) => c.commit));
      }
      let bar: Progress | null = null;
      const r = await evoReplay({
        evo: net,
        checkpointDir: dir,
        repoDir: repo,
        from: o.from,
        to: o.to,
        out: o.out,
        cacheDir: resolveCacheFlag(o.cache),
        tasks,
        keptCommits,
        maxNewTokens: o.maxNewTokens,
        batch: o.batch,
        onCommit: (d, t) => {
          bar ??= progressBar('evo replay', t);
          bar.update(d);
        },
      });
      (bar as Progress | null)?.stop();
      report(o.json, r, () => {
        console.log(
          `${r.steps.length - 1} commits applied from ${r.from.slice(0, 12)} to ${r.to.slice(0, 12)} in ${r.seconds.toFixed(1)} s`,
        );
        if (r.exactMatch !== null)
          console.log(
            `exact match ${(100 * r.exactMatch).toFixed(1)}%, edit similarity ${(100 * (r.editSimilarity ?? 0)).toFixed(1)} on ${r.tasks} tasks`,
          );
        console.log(`final adapter ${r.steps[r.steps.length - 1].adapterSha256}; wrote ${path.resolve(o.out)}`);
      });
    },
  );
}
