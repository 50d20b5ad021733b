// A PEFT LoRA adapter as a llama.cpp LoRA GGUF (what convert_lora_to_gguf.py writes and
// `--lora FILE` / llama_adapter_lora_init load): general.type = "adapter", adapter.type = "lora",
// adapter.lora.alpha, and per (layer, projection) the tensors blk.N.<proj>.weight.lora_a = A [r, in]
// and .lora_b = B [out, r] (ggml ne [in, r] and [r, out]). llama.cpp scales by alpha / r like PEFT.
// For llama q/k, B's rows get the base export's rotary permutation (A maps the input and is kept).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gguf, writeGguf, type GgufFile, type GgufTensor, type GgufTensorType } from '../../formats/gguf.js';
import { architectureOf, llamaConfigFromHf, type LlamaConfig } from '../../model/llama/config.js';
import { GGUF_PROJECTION, needsRopePermute, permuteRopeRows, ropeHeads } from '../../model/llama/gguf.js';
import { projectionDims, type LlamaProjection } from '../../model/llama/weights.js';
import { readPeftAdapter, type PeftAdapter } from './peft.js';

export function loraGgufFile(adapter: PeftAdapter, cfg: LlamaConfig, opts: { name?: string; dtype?: GgufTensorType } = {}): GgufFile {
  const r = adapter.config.rank;
  const tensors: GgufTensor[] = [];
  for (const [key, { A, B }] of adapter.weights) {
    const dot = key.indexOf('.');
    const layer = key.slice(0, dot);
    const module = key.slice(dot + 1) as LlamaProjection;
    const g = GGUF_PROJECTION[module];
    if (!g || !/^\d+$/.test(layer)) throw new Error(`gguf export: no llama.cpp name for adapter tensor ${key}`);
    const [out, inF] = projectionDims(cfg, module);
    const b = needsRopePermute(cfg, module) ? permuteRopeRows(B, ropeHeads(cfg, module), r) : B;
    tensors.push({ name: `blk.${layer}.${g}.weight.lora_a`, shape: [r, inF], data: A, type: opts.dtype });
    tensors.push({ name: `blk.${layer}.${g}.weight.lora_b`, shape: [out, r], data: b, type: opts.dtype });
  }
  return {
    metadata: [
      ['general.architecture', gguf.str(architectureOf(cfg))],
      ['general.type', gguf.str('adapter')],
      ['general.name', gguf.str(opts.name ?? 'code2lora adapter')],
      ['general.alignment', gguf.u32(32)],
      ['adapter.type', gguf.str('lora')],
      ['adapter.lora.alpha', gguf.f32(adapter.config.alpha)],
    ],
    tensors,
  };
}

export interface ExportGgufAdapterOptions {
  adapterDir: string;
  /** the base model directory (its config.json gives the shapes) */
  modelDir: string;
  out: string;
  dtype?: GgufTensorType;
}

export function exportGgufAdapter(o: ExportGgufAdapterOptions): {
  out: string;
  tensors: number;
  rank: number;
  alpha: number;
  bytes: number;
} {
  const configFile = path.join(o.modelDir, 'config.json');
  const cfg = llamaConfigFromHf(JSON.parse(fs.readFileSync(configFile, 'utf8')), configFile);
  const adapter = readPeftAdapter(o.adapterDir, cfg);
  const file = loraGgufFile(adapter, cfg, { dtype: o.dtype, name: path.basename(path.resolve(o.adapterDir)) });
  writeGguf(o.out, file);
  return {
    out: o.out,
    tensors: file.tensors.length,
    rank: adapter.config.rank,
    alpha: adapter.config.alpha,
    bytes: fs.statSync(o.out).size,
  };
}
