// One prompt -> one greedy completion, with the model's own tokenizer.
import { generateGreedy } from '../model/llama/generate.js';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { cutPromptLeft, loadModelWithTokenizer } from './prompting.js';

export interface CompleteOptions { prompt: string; modelDir?: string; adapterDir?: string; maxNewTokens: number; stopStrings: string[] }

export function completeText(o: CompleteOptions) {
  const { model, tokenizer: tok } = loadModelWithTokenizer(o.modelDir);
  const adapter = o.adapterDir ? LoraAdapter.loadPeft(o.adapterDir, model.config) : null;
  const { ids, truncated } = cutPromptLeft(tok, o.prompt, model.config.maxPositionEmbeddings - o.maxNewTokens);
  const t0 = performance.now();
  const [g] = generateGreedy(model, [ids], {
    maxNewTokens: o.maxNewTokens, eosId: tok.eosId, stopStrings: o.stopStrings, decode: (x) => tok.decode(x), adapter,
  });
  return { completion: g.text ?? '', tokens: g.ids.length, stop: g.stop, promptTokens: ids.length, truncated, seconds: (performance.now() - t0) / 1000 };
}
