// The model side of the GGUF export: llama.cpp tensor names, the q/k rotary row permutation,
// hyperparameters and vocabulary, read back with the test reader.
import { describe, expect, it } from 'vitest';
import { readGguf } from '../../../test/support/gguf-reader.js';
import { encodeGguf } from '../../formats/gguf.js';
import { Rng } from '../../util/rng.js';
import { validateLlamaConfig, type LlamaArchitecture } from './config.js';
import { ggufTensorName, llamaGgufFile, permuteRopeRows } from './gguf.js';
import { LlamaModel } from './model.js';

const tokenizerJson = {
  model: { type: 'BPE', vocab: { a: 2, b: 3, ab: 4 }, merges: ['a b'] },
  added_tokens: [
    { id: 0, content: '<|endoftext|>', special: true },
    { id: 1, content: '<|pad|>', special: true },
  ],
};

function cfgOf(arch: LlamaArchitecture, tied: boolean) {
  return validateLlamaConfig(
    {
      architecture: arch,
      hiddenSize: 16,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      ...(arch === 'qwen3' ? { headDim: 6 } : {}),
      intermediateSize: 24,
      vocabSize: 7,
      maxPositionEmbeddings: 64,
      ropeTheta: 1e6,
      rmsNormEps: 1e-6,
      tieWordEmbeddings: tied,
      eosTokenId: 0,
    },
    arch,
  );
}

describe('GGUF export of a model', () => {
  it('maps Hugging Face names to llama.cpp names and refuses unknown ones, naming them', () => {
    expect(ggufTensorName('model.embed_tokens.weight')).toBe('token_embd.weight');
    expect(ggufTensorName('model.layers.3.self_attn.o_proj.weight')).toBe('blk.3.attn_output.weight');
    expect(ggufTensorName('model.layers.0.self_attn.k_proj.bias')).toBe('blk.0.attn_k.bias');
    expect(ggufTensorName('model.layers.1.self_attn.q_norm.weight')).toBe('blk.1.attn_q_norm.weight');
    expect(ggufTensorName('model.layers.1.post_attention_layernorm.weight')).toBe('blk.1.ffn_norm.weight');
    expect(ggufTensorName('model.layers.1.mlp.gate_proj.weight')).toBe('blk.1.ffn_gate.weight');
    expect(ggufTensorName('model.norm.weight')).toBe('output_norm.weight');
    expect(ggufTensorName('lm_head.weight')).toBe('output.weight');
    expect(() => ggufTensorName('model.layers.0.self_attn.rotary_emb.inv_freq')).toThrow(
      /no llama\.cpp name for tensor model\.layers\.0\.self_attn\.rotary_emb\.inv_freq/,
    );
  });

  it('permutes q/k rows from halves to interleaved pairs, per head (convert_hf_to_gguf order)', () => {
    // 2 heads of D = 4, 1 column: rows [h0: 0 1 2 3 | h1: 4 5 6 7] -> [0 2 1 3 | 4 6 5 7]
    expect(Array.from(permuteRopeRows(Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), 2, 1))).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
    // 2 columns move with their row
    expect(Array.from(permuteRopeRows(Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]), 1, 2))).toEqual([0, 0, 2, 2, 1, 1, 3, 3]);
  });

  for (const arch of ['llama', 'qwen2', 'qwen3'] as const) {
    it(`${arch}: hyperparameters, vocabulary and tensors read back`, () => {
      const cfg = cfgOf(arch, arch !== 'qwen2');
      const model = LlamaModel.init(cfg, new Rng(1));
      const tensors = new Map([...model.params].map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]));
      const r = readGguf(encodeGguf(llamaGgufFile(cfg, tensors, { tokenizerJson, dtype: 'F16' })));
      const md = (k: string) => r.metadata.get(k)?.value;
      expect(md('general.architecture')).toBe(arch);
      expect(md(`${arch}.block_count`)).toBe(2);
      expect(md(`${arch}.attention.head_count_kv`)).toBe(2);
      expect(md(`${arch}.attention.key_length`)).toBe(cfg.headDim);
      expect(md(`${arch}.rope.freq_base`)).toBe(1e6);
      expect(md(`${arch}.attention.layer_norm_rms_epsilon`)).toBeCloseTo(1e-6, 12);
      expect(md('tokenizer.ggml.model')).toBe('gpt2');
      expect(md('tokenizer.ggml.tokens')).toEqual(['<|endoftext|>', '<|pad|>', 'a', 'b', 'ab', '[PAD5]', '[PAD6]']);
      expect(md('tokenizer.ggml.token_type')).toEqual([3, 3, 1, 1, 1, 5, 5]);
      expect(md('tokenizer.ggml.merges')).toEqual(['a b']);
      expect(md('tokenizer.ggml.eos_token_id')).toBe(0);
      expect(md('tokenizer.ggml.padding_token_id')).toBe(1);
      expect(r.tensors.has('output.weight')).toBe(!cfg.tieWordEmbeddings);
      expect(r.tensors.has('blk.1.attn_q.bias')).toBe(arch === 'qwen2');
      expect(r.tensors.has('blk.1.attn_k_norm.weight')).toBe(arch === 'qwen3');
      expect(r.tensors.get('blk.0.attn_norm.weight')!.type).toBe('F32'); // 1-D stays f32
      expect(r.tensors.get('blk.0.ffn_down.weight')!.type).toBe('F16');
      const q = r.tensors.get('blk.0.attn_q.weight')!;
      expect(q.ne).toEqual([16, 4 * cfg.headDim]);
      const hfQ = tensors.get('model.layers.0.self_attn.q_proj.weight')!.data;
      const want = arch === 'llama' ? permuteRopeRows(hfQ, 4, 16) : hfQ;
      for (let i = 0; i < want.length; i++) expect(Math.abs(q.data[i] - want[i])).toBeLessThan(1e-3 * Math.abs(want[i]) + 1e-7);
    });
  }
});
