// Merged export: a PEFT LoRA adapter folded into a copy of its base model, W' = W + (alpha / r) B A,
// written as a plain Hugging Face model directory (config.json, model.safetensors, tokenizer files),
// so any loader of the base architecture serves the adapted model with no LoRA support at all.
// The directory is built beside the target and renamed into place (atomic).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadLlama } from '../../model/llama/io.js';
import { writeHfDir } from '../../model/llama/hf-dir.js';
import type { SafetensorsFloatDtype } from '../../formats/safetensors.js';
import { replaceDirAtomicSync } from '../../util/atomic-dir.js';
import { LoraAdapter } from './layer.js';
import { mergeLora } from './merge.js';

export interface ExportMergedOptions {
  adapterDir: string;
  modelDir: string;
  outDir: string;
  /** Storage dtype of model.safetensors (default F32). */
  dtype?: SafetensorsFloatDtype;
  /** Replace an existing outDir. */
  replace?: boolean;
}

export interface ExportMergedResult {
  outDir: string;
  architecture: string;
  layers: number;
  /** projections that received the update (layers x target modules) */
  mergedProjections: number;
  rank: number;
  alpha: number;
  files: string[];
}

/** Tokenizer files copied from the base directory when present. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

export function exportMerged(o: ExportMergedOptions): ExportMergedResult {
  const { model } = loadLlama(o.modelDir);
  const adapter = LoraAdapter.loadPeft(o.adapterDir, model.config);
  const merged = mergeLora(model, adapter);
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, t] of merged.params) {
    if (!(t.data instanceof Float32Array)) throw new Error(`export merged: ${name} is not float32`);
    tensors.set(name, { shape: t.shape, data: t.data });
  }
  if (fs.existsSync(o.outDir) && !o.replace) throw new Error(`export merged: ${o.outDir} already exists (--force replaces it)`);
  replaceDirAtomicSync(o.outDir, (tmp) => {
    writeHfDir(tmp, merged.config, tensors, { dtype: o.dtype ?? 'F32' });
    for (const f of TOKENIZER_FILES) {
      const src = path.join(o.modelDir, f);
      if (fs.existsSync(src)) fs.copyFileSync(src, path.join(tmp, f));
    }
  });
  return {
    outDir: o.outDir,
    architecture: merged.config.architecture ?? 'llama',
    layers: merged.config.numLayers,
    mergedProjections: adapter.weights.size,
    rank: adapter.config.rank,
    alpha: adapter.config.alpha,
    files: fs.readdirSync(o.outDir).sort(),
  };
}
