// One prompt -> one greedy completion, with the model's own tokenizer. An adapter that serves the
// whole run (a PEFT directory, or one generated for a repository by the hypernetwork) is folded into
// a copy of the weights by default, so decoding runs at the base model's speed; fold: false keeps
// the unfolded path (same greedy tokens, adapter applied per projection).
import { generateGreedy } from '../model/llama/generate.js';
import type { LlamaModel } from '../model/llama/model.js';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { mergeLora } from '../adapters/lora/merge.js';
import { adaptRepository, loadHyperStack } from '../adapters/hyper/adapt.js';
import type { AdapterProvenance } from '../adapters/hyper/provenance.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import { cutPromptLeft, loadModelWithTokenizer } from './prompting.js';

export interface CompleteOptions {
  prompt: string;
  modelDir?: string;
  adapterDir?: string;
  maxNewTokens: number;
  stopStrings: string[];
  /** fold the adapter into a copy of the weights (default true) */
  fold?: boolean;
}

export interface CompleteResult {
  completion: string;
  tokens: number;
  stop: string;
  promptTokens: number;
  truncated: boolean;
  seconds: number;
  /** how the adapter ran: none, folded into the weights, or applied per projection */
  adapter: 'none' | 'folded' | 'unfolded';
}

/** Greedy completion with an already loaded model and adapter. */
export function completeWith(
  model: LlamaModel,
  tok: TextTokenizer,
  adapter: LoraAdapter | null,
  o: Pick<CompleteOptions, 'prompt' | 'maxNewTokens' | 'stopStrings' | 'fold'>,
): CompleteResult {
  const fold = adapter !== null && o.fold !== false;
  const run = fold ? mergeLora(model, adapter) : model;
  const { ids, truncated } = cutPromptLeft(tok, o.prompt, model.config.maxPositionEmbeddings - o.maxNewTokens);
  const t0 = performance.now();
  const [g] = generateGreedy(run, [ids], {
    maxNewTokens: o.maxNewTokens,
    eosId: tok.eosId,
    stopStrings: o.stopStrings,
    decode: (x) => tok.decode(x),
    adapter: fold ? null : adapter,
  });
  return {
    completion: g.text ?? '',
    tokens: g.ids.length,
    stop: g.stop,
    promptTokens: ids.length,
    truncated,
    seconds: (performance.now() - t0) / 1000,
    adapter: adapter === null ? 'none' : fold ? 'folded' : 'unfolded',
  };
}

export function completeText(o: CompleteOptions): CompleteResult {
  const { model, tokenizer: tok } = loadModelWithTokenizer(o.modelDir);
  const adapter = o.adapterDir ? LoraAdapter.loadPeft(o.adapterDir, model.config) : null;
  return completeWith(model, tok, adapter, o);
}

export interface CompleteInRepoOptions extends Omit<CompleteOptions, 'adapterDir'> {
  repoDir: string;
  hyperDir?: string;
  /** per-file embedding cache; null = none */
  cacheDir: string | null;
  onFile?: (done: number, total: number) => void;
}

/** Adapts to a repository on the fly (through the embedding cache), then completes. */
export async function completeInRepo(o: CompleteInRepoOptions): Promise<CompleteResult & { adapt: AdapterProvenance }> {
  const stack = loadHyperStack({ modelDir: o.modelDir, hyperDir: o.hyperDir });
  const r = await adaptRepository(stack, o.repoDir, o.cacheDir, o.onFile);
  return { ...completeWith(stack.model, stack.tokenizer, r.adapter, o), adapt: r.provenance };
}
