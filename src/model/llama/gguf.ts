// A Llama-family model as a llama.cpp GGUF file: Hugging Face tensor names mapped to ggml's
// (token_embd, blk.N.attn_q, ..., output_norm, output), the architecture's hyperparameters under
// "<arch>.*", and the tokenizer as tokenizer.ggml.* ("gpt2" byte-level BPE).
//
// llama.cpp rotates llama's q/k in interleaved pairs (x[2i], x[2i+1]); Hugging Face rotates halves
// (x[i], x[i + D/2]). Its converter therefore permutes the rows of q_proj and k_proj (per head:
// row i of the first half goes to 2i, row i of the second half to 2i+1); we do the same, and the LoRA
// export permutes the rows of those projections' B factors alike. qwen2/qwen3 use the halves
// rotation in llama.cpp too (NEOX), so their rows are kept.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gguf, writeGguf, type GgufFile, type GgufTensor, type GgufTensorType, type GgufValue } from '../../formats/gguf.js';
import { ggmlVocabFromTokenizerJson } from '../../tokenizer/ggml-vocab.js';
import { architectureOf, type LlamaConfig } from './config.js';
import { readHfDir } from './hf-dir.js';

/** ggml's name for a projection (attn_q, ffn_down, ...). */
export const GGUF_PROJECTION: Readonly<Record<string, string>> = {
  q_proj: 'attn_q',
  k_proj: 'attn_k',
  v_proj: 'attn_v',
  o_proj: 'attn_output',
  gate_proj: 'ffn_gate',
  up_proj: 'ffn_up',
  down_proj: 'ffn_down',
};

const LAYER_TENSOR: Readonly<Record<string, string>> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'self_attn.q_norm.weight': 'attn_q_norm.weight',
  'self_attn.k_norm.weight': 'attn_k_norm.weight',
};

/** The GGUF name of a Hugging Face tensor; an unknown name is refused, naming it. */
export function ggufTensorName(hfName: string): string {
  if (hfName === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (hfName === 'model.norm.weight') return 'output_norm.weight';
  if (hfName === 'lm_head.weight') return 'output.weight';
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  if (m) {
    const rest = m[2];
    if (LAYER_TENSOR[rest]) return `blk.${m[1]}.${LAYER_TENSOR[rest]}`;
    const p = /^(?:self_attn|mlp)\.(\w+)\.(weight|bias)$/.exec(rest);
    if (p && GGUF_PROJECTION[p[1]]) return `blk.${m[1]}.${GGUF_PROJECTION[p[1]]}.${p[2]}`;
  }
  throw new Error(`gguf export: no llama.cpp name for tensor ${hfName}`);
}

/** Whether llama.cpp expects this projection's output rows in interleaved rotary order. */
export function needsRopePermute(cfg: LlamaConfig, module: string): boolean {
  return architectureOf(cfg) === 'llama' && (module === 'q_proj' || module === 'k_proj');
}

/** Heads a q/k projection's rows are grouped in. */
export function ropeHeads(cfg: LlamaConfig, module: string): number {
  return module === 'q_proj' ? cfg.numHeads : cfg.numKvHeads;
}

/**
 * Rows [heads * D, cols] from halves order to interleaved pairs: within each head, row i (< D/2)
 * goes to 2i and row D/2 + i to 2i + 1 (llama.cpp's convert_hf_to_gguf permute).
 */
export function permuteRopeRows(data: Float32Array, heads: number, cols: number): Float32Array {
  const rows = data.length / cols;
  const D = rows / heads;
  if (!Number.isInteger(D) || D % 2 !== 0) throw new Error(`permuteRopeRows: ${rows} rows do not split into ${heads} heads of even size`);
  const out = new Float32Array(data.length);
  const half = D / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const from = h * D + j * half + i;
        const to = h * D + 2 * i + j;
        out.set(data.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return out;
}

/** `<arch>.*` hyperparameters, as llama.cpp reads them. */
export function ggufArchMetadata(cfg: LlamaConfig): Array<[string, GgufValue]> {
  const a = architectureOf(cfg);
  return [
    [`${a}.context_length`, gguf.u32(cfg.maxPositionEmbeddings)],
    [`${a}.embedding_length`, gguf.u32(cfg.hiddenSize)],
    [`${a}.block_count`, gguf.u32(cfg.numLayers)],
    [`${a}.feed_forward_length`, gguf.u32(cfg.intermediateSize)],
    [`${a}.attention.head_count`, gguf.u32(cfg.numHeads)],
    [`${a}.attention.head_count_kv`, gguf.u32(cfg.numKvHeads)],
    [`${a}.attention.key_length`, gguf.u32(cfg.headDim)],
    [`${a}.attention.value_length`, gguf.u32(cfg.headDim)],
    [`${a}.rope.dimension_count`, gguf.u32(cfg.headDim)],
    [`${a}.rope.freq_base`, gguf.f32(cfg.ropeTheta)],
    [`${a}.attention.layer_norm_rms_epsilon`, gguf.f32(cfg.rmsNormEps)],
    [`${a}.vocab_size`, gguf.u32(cfg.vocabSize)],
  ];
}

/** tokenizer.ggml.* from a tokenizer.json object. */
export function ggufTokenizerMetadata(cfg: LlamaConfig, tokenizerJson: unknown, source: string): Array<[string, GgufValue]> {
  const v = ggmlVocabFromTokenizerJson(tokenizerJson, cfg.vocabSize, source);
  const eos = cfg.eosTokenId ?? v.special.get('<|endoftext|>');
  const bos = cfg.bosTokenId ?? eos;
  const out: Array<[string, GgufValue]> = [
    ['tokenizer.ggml.model', gguf.str('gpt2')],
    ['tokenizer.ggml.pre', gguf.str('default')],
    ['tokenizer.ggml.tokens', gguf.arr('string', v.tokens)],
    ['tokenizer.ggml.token_type', gguf.arr('i32', v.tokenTypes)],
    ['tokenizer.ggml.merges', gguf.arr('string', v.merges)],
  ];
  if (bos !== undefined) out.push(['tokenizer.ggml.bos_token_id', gguf.u32(bos)]);
  if (eos !== undefined) out.push(['tokenizer.ggml.eos_token_id', gguf.u32(eos)]);
  const pad = v.special.get('<|pad|>');
  if (pad !== undefined) out.push(['tokenizer.ggml.padding_token_id', gguf.u32(pad)]);
  out.push(['tokenizer.ggml.add_bos_token', gguf.bool(cfg.bosTokenId !== undefined)]);
  return out;
}

export interface LlamaGgufOptions {
  /** general.name */
  name?: string;
  /** Storage type of matrices (1-D tensors are always F32, as llama.cpp wants). Default F32. */
  dtype?: GgufTensorType;
  /** tokenizer.json contents, parsed */
  tokenizerJson?: unknown;
  tokenizerSource?: string;
}

/** The GGUF contents of a model given by its config and tensors (HF names, PyTorch shapes). */
export function llamaGgufFile(
  cfg: LlamaConfig,
  tensors: ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>,
  opts: LlamaGgufOptions = {},
): GgufFile {
  const dtype = opts.dtype ?? 'F32';
  const arch = architectureOf(cfg);
  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', gguf.str(arch)],
    ['general.type', gguf.str('model')],
    ['general.name', gguf.str(opts.name ?? 'code2lora')],
    ['general.file_type', gguf.u32(dtype === 'F32' ? 0 : 1)],
    ['general.alignment', gguf.u32(32)],
    ...ggufArchMetadata(cfg),
  ];
  if (opts.tokenizerJson !== undefined)
    metadata.push(...ggufTokenizerMetadata(cfg, opts.tokenizerJson, opts.tokenizerSource ?? 'tokenizer.json'));
  const out: GgufTensor[] = [];
  for (const [name, t] of tensors) {
    if (name === 'lm_head.weight' && cfg.tieWordEmbeddings) continue; // tied: llama.cpp reuses token_embd
    let data = t.data;
    const proj = /\.(q_proj|k_proj)\.weight$/.exec(name);
    if (proj && needsRopePermute(cfg, proj[1])) data = permuteRopeRows(data, ropeHeads(cfg, proj[1]), t.shape[1]);
    out.push({ name: ggufTensorName(name), shape: t.shape, data, type: t.shape.length === 2 ? dtype : 'F32' });
  }
  return { metadata, tensors: out };
}

export interface ExportGgufBaseOptions {
  modelDir: string;
  out: string;
  dtype?: GgufTensorType;
  name?: string;
}

/** Reads a Hugging Face model directory and writes it as one GGUF file (atomically). */
export function exportGgufBase(o: ExportGgufBaseOptions): { out: string; tensors: number; metadata: number; bytes: number } {
  const hf = readHfDir(o.modelDir);
  const tokenizerJson = hf.tokenizerPath ? JSON.parse(fs.readFileSync(hf.tokenizerPath, 'utf8')) : undefined;
  if (tokenizerJson === undefined) throw new Error(`gguf export: ${o.modelDir} has no tokenizer.json (llama.cpp needs the vocabulary)`);
  const file = llamaGgufFile(hf.config, hf.tensors, {
    dtype: o.dtype,
    name: o.name ?? path.basename(path.resolve(o.modelDir)),
    tokenizerJson,
    tokenizerSource: hf.tokenizerPath,
  });
  writeGguf(o.out, file);
  return { out: o.out, tensors: file.tensors.length, metadata: file.metadata.length, bytes: fs.statSync(o.out).size };
}
