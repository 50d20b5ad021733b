// What completion and evaluation share: a model directory with its own tokenizer, and prompts cut
// from the left to fit the context (the end, nearest the cursor, is what matters).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadLlama } from '../model/llama/io.js';
import type { LlamaModel } from '../model/llama/model.js';
import { resolveModelDir } from '../model/default-model.js';
import { loadTokenizer, type TextTokenizer } from '../tokenizer/tokenizer.js';

export interface ModelWithTokenizer {
  dir: string;
  model: LlamaModel;
  tokenizer: TextTokenizer;
}

/** The --model directory, or the shipped default, with the tokenizer.json that sits beside it. */
export function loadModelWithTokenizer(modelDir?: string): ModelWithTokenizer {
  const dir = resolveModelDir(modelDir);
  const { model } = loadLlama(dir);
  const tokPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new Error(`${dir} has no tokenizer.json`);
  return { dir, model, tokenizer: loadTokenizer(tokPath) };
}

/** Prompt tokens for `text`, cut from the left to at most maxPromptTokens. */
export function cutPromptLeft(tok: TextTokenizer, text: string, maxPromptTokens: number): { ids: number[]; truncated: boolean } {
  const ids = tok.encode(text);
  if (ids.length <= maxPromptTokens) return { ids, truncated: false };
  return { ids: ids.slice(ids.length - maxPromptTokens), truncated: true };
}
