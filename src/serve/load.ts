// What `code2lora serve` loads before it listens: the base model and its tokenizer, and the
// hypernetwork trained for that base when repository adapters are wanted (refused, naming both
// hashes, when it was trained for another base).
import * as path from 'node:path';
import { loadHyperStack } from '../adapters/hyper/adapt.js';
import { loadModelWithTokenizer } from '../eval/prompting.js';
import type { ServedModel } from './server.js';

export interface LoadServedOptions {
  modelDir?: string;
  /** hypernetwork directory; undefined = the shipped one when serving the shipped base, else none */
  hyperDir?: string;
  /** false: no hypernetwork (repository adapters refused) */
  hyper?: boolean;
}

export function loadServedModel(o: LoadServedOptions = {}): ServedModel {
  const wantHyper = o.hyper !== false && (o.hyperDir !== undefined || o.modelDir === undefined);
  if (wantHyper) {
    const stack = loadHyperStack({ modelDir: o.modelDir, hyperDir: o.hyperDir });
    return { name: path.basename(path.resolve(stack.modelDir)), model: stack.model, tokenizer: stack.tokenizer, hyper: stack };
  }
  const m = loadModelWithTokenizer(o.modelDir);
  return { name: path.basename(path.resolve(m.dir)), model: m.model, tokenizer: m.tokenizer, hyper: null };
}
