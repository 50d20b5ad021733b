// `code2lora complete`: greedy completion of a prompt file with the default (or a given) model,
// optionally with a PEFT LoRA adapter (--adapter) or one generated on the fly for a repository
// (--repo, through the embedding cache). The adapter is folded into a copy of the weights unless
// --no-fold.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { completeInRepo, completeText, completeWith } from '../../eval/complete.js';
import { EvoNetwork } from '../../adapters/hyper/evo.js';
import { decodeState, readEvoState } from '../../adapters/hyper/evo-state.js';
import { modelFileSha256 } from '../../adapters/hyper/hypernet.js';
import { loadModelWithTokenizer } from '../../eval/prompting.js';
import { applyThreads, intFlag, jsonOption, report, threadsOption, type JsonFlag } from '../flags.js';
import { cacheOptions, fileProgress, resolveCacheFlag } from './adapt.js';

interface CompleteFlags {
  prompt: string;
  model?: string;
  adapter?: string;
  repo?: string;
  hyper?: string;
  state?: string;
  cache?: string | boolean;
  fold: boolean;
  maxNewTokens: number;
  stop?: string[];
  multiline?: boolean;
  threads: number;
  json: JsonFlag;
}

export function register(program: Command): void {
  const cmd = program
    .command('complete')
    .description('complete the text in a prompt file (greedy, KV cache) with the shipped base model or --model')
    .requiredOption('--prompt <file>', 'file whose contents are the prompt ("-" for stdin)')
    .option('--model <dir>', 'Hugging Face model directory (default: the shipped code2lora-base)')
    .option('--adapter <dir>', 'PEFT LoRA adapter directory to apply')
    .option('--repo <dir>', "generate the repository's adapter with the hypernetwork first (like `code2lora adapt`), then complete")
    .option('--hyper <dir>', 'hypernetwork directory for --repo (default: the shipped models/code2lora-hyper)')
    .option('--state <file>', 'Code2LoRA-Evo state file (`code2lora evo init/update`): complete with the adapter of its current state')
    .option('--no-fold', 'apply the adapter per projection instead of folding it into a copy of the weights')
    .option('--max-new-tokens <n>', 'tokens to generate at most', intFlag('--max-new-tokens', 1), 64)
    .option('--stop <string...>', 'stop at any of these strings (default: end of line)')
    .option('--multiline', 'do not stop at the end of the line');
  cacheOptions(cmd);
  threadsOption(cmd);
  jsonOption(cmd, 'the completion and its token counts').action(async (o: CompleteFlags) => {
    if (o.repo !== undefined && o.adapter !== undefined) throw new Error('complete: give --adapter or --repo, not both');
    if (o.state !== undefined && (o.repo !== undefined || o.adapter !== undefined))
      throw new Error('complete: --state brings its own adapter; give it without --adapter and --repo');
    if (o.repo === undefined && o.hyper !== undefined) throw new Error('complete: --hyper needs --repo');
    if (o.repo === undefined && typeof o.cache === 'string') throw new Error('complete: --cache needs --repo');
    applyThreads(o.threads);
    const prompt = readFileSync(o.prompt === '-' ? 0 : o.prompt, 'utf8');
    const common = {
      prompt,
      modelDir: o.model,
      maxNewTokens: o.maxNewTokens,
      stopStrings: o.stop ?? (o.multiline ? [] : ['\n']),
      fold: o.fold,
    };
    let r;
    if (o.repo !== undefined) {
      const bar = fileProgress('adapt');
      try {
        r = await completeInRepo({
          ...common,
          repoDir: o.repo,
          hyperDir: o.hyper,
          cacheDir: resolveCacheFlag(o.cache),
          onFile: bar.onFile,
        });
      } finally {
        bar.stop();
      }
    } else if (o.state !== undefined) {
      const st = readEvoState(o.state);
      const { dir, model, tokenizer } = loadModelWithTokenizer(o.model);
      const evo = EvoNetwork.load(st.checkpoint.dir, model, tokenizer, modelFileSha256(dir));
      if (evo.checkpointSha256 !== st.checkpoint.sha256)
        throw new Error(
          `complete: ${o.state} was built with checkpoint ${st.checkpoint.sha256.slice(0, 16)}, ${st.checkpoint.dir} is now ${evo.checkpointSha256.slice(0, 16)}`,
        );
      r = { ...completeWith(model, tokenizer, evo.adapter(decodeState(st)).adapter, common), evoAdapterSha256: st.adapterSha256 };
    } else {
      r = completeText({ ...common, adapterDir: o.adapter });
    }
    report(o.json, r, () => process.stdout.write(`${r.completion}\n`));
  });
}
