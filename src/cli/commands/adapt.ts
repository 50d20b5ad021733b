// `code2lora adapt REPO`: a repository's LoRA adapter from the hypernetwork, written as a standard
// PEFT directory (adapter_config.json + adapter_model.safetensors, every layer) with
// code2lora-provenance.json beside it.
import * as path from 'node:path';
import type { Command } from 'commander';
import { adaptRepository, loadHyperStack, writeAdapterDir } from '../../adapters/hyper/adapt.js';
import { progressBar } from '../progress.js';
import { applyThreads, jsonOption, report, threadsOption, type JsonFlag } from '../flags.js';

/** Where file embeddings are cached unless --cache / --no-cache say otherwise (under the current folder). */
export const DEFAULT_EMBEDDING_CACHE = path.join('.cache', 'embeddings');

/** Adds --cache DIR / --no-cache. */
export function cacheOptions(cmd: Command): Command {
  return cmd
    .option('--cache <dir>', `per-file embedding cache (default: ${DEFAULT_EMBEDDING_CACHE} under the current folder)`)
    .option('--no-cache', 'embed every file afresh and cache nothing');
}

/** The cache folder from --cache / --no-cache: undefined = the default, false = none. */
export function resolveCacheFlag(cache: string | boolean | undefined): string | null {
  if (cache === false) return null;
  return path.resolve(typeof cache === 'string' ? cache : DEFAULT_EMBEDDING_CACHE);
}

/** A bar over the repository's files, shown once the count is known. */
export function fileProgress(label: string): { onFile: (done: number, total: number) => void; stop: () => void } {
  let bar: ReturnType<typeof progressBar> | undefined;
  return {
    onFile: (done, total) => {
      bar ??= progressBar(label, total);
      bar.update(done);
    },
    stop: () => bar?.stop(),
  };
}

interface AdaptFlags {
  out?: string;
  hyper?: string;
  model?: string;
  cache?: string | boolean;
  threads: number;
  json: JsonFlag;
}

export function register(program: Command): void {
  const cmd = program
    .command('adapt')
    .description("generate a repository's LoRA adapter with the hypernetwork and write it as a PEFT directory (+ provenance)")
    .argument('<repo>', 'repository folder (its non-test .py files are encoded)')
    .option('--out <dir>', 'adapter directory to write (default: adapters/<repository folder name>)')
    .option('--hyper <dir>', 'hypernetwork directory, hyper.json + head.safetensors (default: the shipped models/code2lora-hyper)')
    .option('--model <dir>', 'base model directory the hypernetwork was trained for (default: the shipped code2lora-base)');
  cacheOptions(cmd);
  threadsOption(cmd);
  jsonOption(cmd, 'the provenance record and where the adapter went').action(async (repo: string, o: AdaptFlags) => {
    applyThreads(o.threads);
    const out = o.out ?? path.join('adapters', path.basename(path.resolve(repo)));
    const stack = loadHyperStack({ modelDir: o.model, hyperDir: o.hyper });
    const bar = fileProgress('adapt');
    let r: Awaited<ReturnType<typeof adaptRepository>>;
    try {
      r = await adaptRepository(stack, repo, resolveCacheFlag(o.cache), bar.onFile);
    } finally {
      bar.stop();
    }
    writeAdapterDir(out, stack, r);
    const result = { out: path.resolve(out), ...r.provenance };
    report(o.json, result, () => {
      const e = r.embedding;
      console.log(
        `${repo}: ${e.files} files (${e.cached} from the cache), ${e.windows} windows; ${e.testFilesExcluded} test files excluded`,
      );
      if (e.cappedFiles || e.cappedWindows)
        console.log(
          `  caps: ${e.cappedFiles} files left out (at most ${stack.hyper.spec.encoder.repo.maxFiles}), ${e.cappedWindows} windows left out`,
        );
      for (const s of e.skipped) console.log(`  skipped ${s.file}: ${s.reason}`);
      for (const c of e.corrupt) console.log(`  rebuilt corrupt cache entry ${c}`);
      const id = r.provenance.repository;
      console.log(
        `  repository ${id.gitCommit ? `commit ${id.gitCommit}${id.gitDirty ? ' (with uncommitted changes)' : ''}, ` : ''}content ${id.contentSha256.slice(0, 16)}`,
      );
      console.log(
        `  adapter in ${r.seconds.toFixed(2)} s (r=${r.adapter.config.rank}, alpha=${r.adapter.config.alpha}); wrote ${path.resolve(out)}`,
      );
    });
  });
}
