// One prompt -> one greedy completion, with the model's own tokenizer.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { loadLlama } from '../model/llama/io.js';
import { generateGreedy } from '../model/llama/generate.js';
import { loadTokenizer } from '../tokenizer/tokenizer.js';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { resolveModelDir } from '../model/default-model.js';

export interface CompleteOptions { prompt: string; modelDir?: string; adapterDir?: string; maxNewTokens: number; stopStrings: string[] }

export function completeText(o: CompleteOptions) {
  const dir = resolveModelDir(o.modelDir);
  const { model } = loadLlama(dir);
  const tokPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new Error(`${dir} has no tokenizer.json`);
  const tok = loadTokenizer(tokPath);
  const adapter = o.adapterDir ? LoraAdapter.loadPeft(o.adapterDir, model.config) : null;
  const maxPrompt = model.config.maxPositionEmbeddings - o.maxNewTokens;
  let ids = tok.encode(o.prompt);
  const truncated = ids.length > maxPrompt;
  if (truncated) ids = ids.slice(ids.length - maxPrompt); // keep the end, nearest the cursor
  const t0 = performance.now();
  const [g] = generateGreedy(model, [ids], {
    maxNewTokens: o.maxNewTokens, eosId: tok.eosId, stopStrings: o.stopStrings, decode: (x) => tok.decode(x), adapter,
  });
  return { completion: g.text ?? '', tokens: g.ids.length, stop: g.stop, promptTokens: ids.length, truncated, seconds: (performance.now() - t0) / 1000 };
}
