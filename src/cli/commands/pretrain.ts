// `code2lora pretrain`: trains the base code model on a corpus's training repositories.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { corpusSourceFiles } from '../../data/corpus/source-files.js';
import { readManifest } from '../../data/manifest.js';
import {
  cachedTokenStream,
  defaultPretrainConfig,
  pretrain,
  validatePretrainConfig,
  type PretrainConfig,
  type PretrainRun,
  type TokenStream,
} from '../../train/pretrain.js';
import { loadTokenizer } from '../../tokenizer/tokenizer.js';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { buildContaminationGuard, extraPretrainFiles, readNameList } from '../../data/corpus/exclusions.js';
import { loadLlama } from '../../model/llama/io.js';
import { Rng } from '../../util/rng.js';
import { progressBar } from '../progress.js';
import { readTaskFile } from '../../data/tasks/format.js';
import { sampleTasksEvenly } from '../../eval/task-sample.js';
import { encodeTasks, meanTargetLoss } from '../../eval/target-loss.js';
import { mergeOverDefaults } from '../../util/config-merge.js';
import { applyThreads, parseIntFlag } from '../flags.js';

export function register(program: Command): void {
  program
    .command('pretrain')
    .description(
      'pretrain the Llama base model on the non-test Python source of the training repositories (never the cross-repo val/test ones)',
    )
    .requiredOption('--corpus <dir>', 'corpus cache (manifest.json) from `code2lora corpus fetch`')
    .requiredOption('--tasks <dir>', 'built task folder: its cr-val/cr-test repositories are held out (cr-val gives the held-out loss)')
    .requiredOption('--tokenizer <file>', 'tokenizer.json (from `code2lora tokenizer train`)')
    .requiredOption('--out <dir>', 'output Hugging Face directory (checkpoints and the loss curve go here too)')
    .option('--config <file>', 'JSON with PretrainConfig fields overriding the defaults (unknown keys are rejected)')
    .option('--steps <n>', 'override the number of optimiser steps')
    .option('--seed <n>', 'override the seed')
    .option('--threads <n>', "override the config's threads of the native core")
    .option('--cache <dir>', 'where tokenized streams are cached', '.cache/tokens')
    .option(
      '--extra-corpus <dir>',
      'a corpus of non-benchmark projects whose every .py file (tests included) is added to the training data; refused if it holds any benchmark or excluded project, and files equal to a benchmark test file (or any cross-repo file) are dropped by hash',
    )
    .option(
      '--exclude-names <files...>',
      'with --extra-corpus: files listing more projects it must not hold (e.g. evolution-track repositories)',
    )
    .option(
      '--max-extra-kb-per-project <n>',
      'with --extra-corpus: at most this much Python per project (seeded file order), so no project dominates',
      '160',
    )
    .option(
      '--val-tasks <n>',
      "at every evaluation, also the target loss of a seeded sample of N cross-repo validation tasks (--tasks' cr-val.jsonl), spread evenly over the repositories",
    )
    .option('--init <dir>', 'warm start: initial weights from this Hugging Face model directory (same architecture)')
    .option('--print-config', 'print the effective config and exit')
    .action(async (o) => {
      let cfg: PretrainConfig = defaultPretrainConfig();
      if (o.config) {
        cfg = mergeOverDefaults(cfg, JSON.parse(readFileSync(o.config, 'utf8')) as Record<string, unknown>, ['model']);
      }
      if (o.steps) cfg.steps = parseIntFlag('--steps', o.steps, 1);
      if (o.seed) cfg.seed = parseIntFlag('--seed', o.seed);
      if (o.threads) cfg.threads = parseIntFlag('--threads', o.threads, 1);
      cfg = validatePretrainConfig(cfg, o.config ?? 'defaults');
      if (o.printConfig) {
        console.log(JSON.stringify(cfg, null, 2));
        return;
      }
      applyThreads(cfg.threads);
      const tok = loadTokenizer(o.tokenizer);
      const files = await corpusSourceFiles(o.corpus, [o.tasks]);
      const manifest = await readManifest(o.corpus);
      console.error(
        `pretrain: ${files.trainRepos.length} training repositories (${files.train.length} files), ${files.valRepos.length} validation repositories (${files.val.length} files), ${files.testRepos.length} test repositories never read`,
      );
      const cache = o.cache as string;
      const tbar = progressBar('tokenize train', files.train.length);
      let train = cachedTokenStream(cache, 'train', files.train, tok, o.tokenizer, (d) => tbar.update(d));
      tbar.stop();
      let extraRecord: Record<string, unknown> | null = null;
      let trainTests: TokenStream | undefined;
      if (cfg.testShare !== null && !o.extraCorpus)
        throw new Error("pretrain: testShare draws from the extra corpus's test files: give --extra-corpus");
      if (o.extraCorpus) {
        const excluded = ((o.excludeNames ?? []) as string[]).flatMap((f) =>
          readNameList(f).map((name) => ({ name, why: `listed in ${f}` })),
        );
        const guard = await buildContaminationGuard(o.corpus, [o.tasks], excluded);
        const orderRng = new Rng(cfg.seed).fork('extra-corpus');
        const extra = await extraPretrainFiles(o.extraCorpus, guard, {
          maxBytesPerProject: parseIntFlag('--max-extra-kb-per-project', o.maxExtraKbPerProject, 1) * 1024,
          order: (name, list) => orderRng.fork(name).shuffle([...list]),
        });
        // With testShare the test files are a stream of their own; otherwise one stream, as before.
        const testSet = new Set(cfg.testShare === null ? [] : extra.testFiles);
        const codeFiles = extra.files.filter((f) => !testSet.has(f));
        const ebar = progressBar('tokenize extra', codeFiles.length);
        const ex = cachedTokenStream(cache, testSet.size ? 'extra-code' : 'extra', codeFiles, tok, o.tokenizer, (d) => ebar.update(d));
        ebar.stop();
        if (testSet.size) {
          const tbar2 = progressBar('tokenize extra tests', testSet.size);
          trainTests = cachedTokenStream(cache, 'extra-tests', [...testSet], tok, o.tokenizer, (d) => tbar2.update(d));
          tbar2.stop();
          console.error(
            `pretrain: ${(100 * cfg.testShare!).toFixed(0)}% of windows from ${trainTests.files} extra test files (${trainTests.tokens.length} tokens), the rest from all other training code`,
          );
        }
        const joined = new Int32Array(train.tokens.length + ex.tokens.length);
        joined.set(train.tokens);
        joined.set(ex.tokens, train.tokens.length);
        train = { tokens: joined, bytes: train.bytes + ex.bytes, files: train.files + ex.files };
        console.error(
          `pretrain: extra corpus ${extra.projects.length} projects, ${ex.files + (trainTests?.files ?? 0)} files, ${ex.tokens.length + (trainTests?.tokens.length ?? 0)} tokens; ${extra.droppedByHash.length} files dropped as copies of benchmark test / cross-repo files, ${extra.cappedFiles} left out by the per-project cap; guard: ${guard.names.size} names, ${guard.hashes.size} file hashes`,
        );
        const emanifest = await readManifest(o.extraCorpus);
        extraRecord = {
          corpus: o.extraCorpus,
          archive: emanifest.archive
            ? { suite: emanifest.archive.suite, sourcesSha256: emanifest.archive.sourcesSha256, signers: emanifest.archive.signers }
            : null,
          seed: emanifest.seed,
          maxBytesPerProject: parseIntFlag('--max-extra-kb-per-project', o.maxExtraKbPerProject, 1) * 1024,
          excludedNameLists: o.excludeNames ?? [],
          guardNames: guard.names.size,
          guardFileHashes: guard.hashes.size,
          tokens: ex.tokens.length + (trainTests?.tokens.length ?? 0),
          files: ex.files + (trainTests?.files ?? 0),
          testShare: cfg.testShare,
          testTokens: trainTests?.tokens.length ?? null,
          testFiles: trainTests?.files ?? null,
          droppedByHash: extra.droppedByHash,
          cappedFiles: extra.cappedFiles,
          projects: extra.projects,
        };
      }
      const val = cachedTokenStream(cache, 'val', files.val, tok, o.tokenizer);
      console.error(
        `pretrain: ${train.tokens.length} training tokens (${(train.bytes / train.tokens.length).toFixed(2)} bytes/token), ${val.tokens.length} held-out tokens`,
      );
      let valTasks: PretrainRun['valTasks'];
      let valTasksRecord: Record<string, unknown> | null = null;
      if (o.valTasks) {
        const n = parseIntFlag('--val-tasks', o.valTasks, 1);
        const all = readTaskFile(join(o.tasks, 'cr-val.jsonl'));
        const repos = new Set(all.map((t) => t.repo)).size;
        const sample = sampleTasksEvenly(all, n, cfg.seed);
        const seqs = encodeTasks(tok, sample, cfg.seq).map((e) => e.seq);
        valTasks = { count: seqs.length, loss: (model) => meanTargetLoss(model, seqs, tok.padId, cfg.batch) };
        valTasksRecord = { split: 'cr-val', requested: n, used: seqs.length, repos, ids: sample.map((t) => t.id) };
        console.error(`pretrain: ${seqs.length} cr-val tasks from ${repos} repositories for the assertion-target loss`);
      }
      const bar = progressBar('pretrain', cfg.steps, ['loss', 'val', 'tasks', 'tok_s']);
      const command = ['code2lora', ...process.argv.slice(2)].join(' ');
      let tokS = 0;
      const dataManifest = {
        corpus: o.corpus,
        archive: manifest.archive
          ? {
              suite: manifest.archive.suite,
              releaseDate: manifest.archive.releaseDate,
              sourcesSha256: manifest.archive.sourcesSha256,
              signers: manifest.archive.signers,
            }
          : null,
        seed: manifest.seed,
        trainRepos: files.trainRepos,
        valRepos: files.valRepos,
        heldOutTestRepos: files.testRepos,
        projects: manifest.projects
          .filter((p) => !files.testRepos.includes(p.name))
          .map((p) => ({ name: p.name, version: p.version, sha256: p.sha256 })),
        extra: extraRecord,
        valTasks: valTasksRecord,
      };
      const init = o.init ? loadLlama(o.init).model : undefined;
      const initRecord = o.init
        ? {
            dir: o.init,
            sha256: createHash('sha256')
              .update(readFileSync(join(o.init, 'model.safetensors')))
              .digest('hex'),
          }
        : null;
      const r = pretrain({
        config: cfg,
        out: o.out,
        tokenizerPath: o.tokenizer,
        tokenizer: tok,
        train,
        trainTests,
        val,
        valTasks,
        command,
        init,
        dataManifest: { ...dataManifest, init: initRecord },
        // threads change speed, not the run: a resume may use another count
        fingerprint: {
          // testShare null is left out, so runs started before the option existed still resume
          config: { ...cfg, threads: undefined, testShare: cfg.testShare ?? undefined },
          trainTokens: train.tokens.length,
          ...(trainTests ? { testTokens: trainTests.tokens.length } : {}),
          ...(valTasksRecord ? { valTasks: valTasksRecord.ids } : {}),
          valTokens: val.tokens.length,
          trainRepos: files.trainRepos,
          valRepos: files.valRepos,
          extraProjects: (extraRecord?.projects as unknown[] | undefined) ?? null,
          init: initRecord,
        },
        onStep(i) {
          tokS = tokS ? 0.9 * tokS + 0.1 * (i.tokens / i.seconds) : i.tokens / i.seconds;
          bar.update(i.step, {
            loss: i.loss.toFixed(3),
            val: i.valLoss?.toFixed(3) ?? '',
            tasks: i.valTaskLoss?.toFixed(3) ?? '',
            tok_s: tokS.toFixed(0),
          });
          if (i.valLoss !== undefined && !process.stderr.isTTY)
            console.error(
              `step ${i.step}: held-out loss ${i.valLoss.toFixed(4)}${i.valTaskLoss !== undefined ? `, cr-val assertion targets ${i.valTaskLoss.toFixed(4)}` : ''} (${tokS.toFixed(0)} tok/s)`,
            );
        },
      });
      bar.stop();
      if (!r) return;
      console.log(
        `held-out loss ${r.valLoss.toFixed(4)} nats/token, ${r.valBitsPerByte.toFixed(4)} bits/byte${r.valTaskLoss !== undefined ? `; cr-val assertion targets ${r.valTaskLoss.toFixed(4)} nats/token` : ''}; model written to ${o.out}`,
      );
    });
}
