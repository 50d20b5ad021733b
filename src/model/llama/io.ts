// Load and save a LlamaModel as a Hugging Face directory (config.json + model.safetensors).
import { readHfDir, writeHfDir, type WriteHfDirOptions } from './hf-dir.js';
import { Tensor } from '../../tensor/index.js';
import { LlamaModel } from './model.js';

export interface LoadedLlama {
  model: LlamaModel;
  tokenizerPath?: string;
}

export function loadLlama(dir: string): LoadedLlama {
  const hf = readHfDir(dir);
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of hf.tensors) tensors.set(name, new Tensor(t.data, t.shape, { name }));
  return { model: new LlamaModel(hf.config, tensors), tokenizerPath: hf.tokenizerPath };
}

export function saveLlama(dir: string, model: LlamaModel, opts: WriteHfDirOptions = {}): void {
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, t] of model.params) {
    if (!(t.data instanceof Float32Array)) throw new Error(`saveLlama: ${name} is not float32`);
    tensors.set(name, { shape: t.shape, data: t.data });
  }
  writeHfDir(dir, model.config, tensors, opts);
}
