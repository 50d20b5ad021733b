import { describe, expect, it } from 'vitest';
import { defaultLlamaConfig, llamaConfigFromHf, llamaConfigToHf, validateLlamaConfig, type LlamaConfig } from './config.js';

const SRC = '/models/x/config.json';
const hf = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  model_type: 'llama',
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 128,
  vocab_size: 300,
  max_position_embeddings: 256,
  rope_theta: 500000,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: true,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  ...over,
});

describe('LlamaConfig', () => {
  it('default is valid, frozen, and GQA-consistent', () => {
    const c = defaultLlamaConfig();
    expect(Object.isFrozen(c)).toBe(true);
    expect(validateLlamaConfig(c, 'default')).toEqual(c);
    expect(c.numHeads % c.numKvHeads).toBe(0);
  });

  it('fills headDim from hidden/heads and freezes the result', () => {
    const { headDim: _omit, ...rest } = defaultLlamaConfig();
    const c = validateLlamaConfig(rest, 'flags');
    expect(c.headDim).toBe(rest.hiddenSize / rest.numHeads);
    expect(Object.isFrozen(c)).toBe(true);
  });

  const bad: Array<[string, Partial<Record<keyof LlamaConfig, unknown>> & Record<string, unknown>, RegExp]> = [
    [
      'heads not divisible by kv heads',
      { numHeads: 6, numKvHeads: 4 },
      /numKvHeads: numHeads \(6\) must be a multiple of numKvHeads \(4\)/,
    ],
    ['odd head dim', { headDim: 63 }, /headDim: must be even/],
    [
      'hidden not divisible by heads',
      { headDim: undefined, hiddenSize: 250 },
      /headDim: not given, and hiddenSize \(250\) is not divisible/,
    ],
    ['zero layers', { numLayers: 0 }, /numLayers: expected a positive integer, got 0/],
    ['fractional vocab', { vocabSize: 10.5 }, /vocabSize: expected a positive integer/],
    ['negative theta', { ropeTheta: -1 }, /ropeTheta: expected a positive finite number/],
    ['eps >= 1', { rmsNormEps: 2 }, /rmsNormEps/],
    ['eos out of vocab', { eosTokenId: 9000 }, /eosTokenId: expected an integer in \[0, 8192\)/],
    ['tie not boolean', { tieWordEmbeddings: 'yes' }, /tieWordEmbeddings: expected a boolean/],
    ['unknown key', { hidden: 3 }, /hidden: unknown field/],
  ];
  for (const [label, over, re] of bad) {
    it(`rejects ${label}, naming the source and field`, () => {
      const cfg = { ...defaultLlamaConfig(), ...over } as LlamaConfig;
      if ('headDim' in over && over.headDim === undefined) delete (cfg as { headDim?: number }).headDim;
      expect(() => validateLlamaConfig(cfg, 'my.json')).toThrow(re);
      expect(() => validateLlamaConfig(cfg, 'my.json')).toThrow(/llama config my\.json: /);
    });
  }
});

describe('Hugging Face config.json', () => {
  it('reads llama keys', () => {
    const c = llamaConfigFromHf(hf({ head_dim: 32 }), SRC);
    expect(c).toEqual({
      hiddenSize: 64,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 32,
      intermediateSize: 128,
      vocabSize: 300,
      maxPositionEmbeddings: 256,
      ropeTheta: 500000,
      rmsNormEps: 1e-5,
      tieWordEmbeddings: true,
      bosTokenId: 1,
      eosTokenId: 2,
    });
  });

  it('applies HF defaults (kv heads = heads, head_dim = hidden/heads, untied) and takes the first of several eos ids', () => {
    const j = hf({ eos_token_id: [2, 7] });
    delete j.num_key_value_heads;
    delete j.tie_word_embeddings;
    delete j.rope_theta;
    delete j.hidden_act;
    const c = llamaConfigFromHf(j, SRC);
    expect(c.numKvHeads).toBe(4);
    expect(c.headDim).toBe(16);
    expect(c.tieWordEmbeddings).toBe(false);
    expect(c.ropeTheta).toBe(10000);
    expect(c.eosTokenId).toBe(2);
  });

  it('accepts mistral (capping the length at the sliding window) and transformers-v5 rope_parameters', () => {
    const c = llamaConfigFromHf(
      hf({ model_type: 'mistral', sliding_window: 128, rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 1e6 } }),
      SRC,
    );
    expect(c.maxPositionEmbeddings).toBe(128);
    expect(c.ropeTheta).toBe(1e6);
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['qwen2_moe', { model_type: 'qwen2_moe' }, /model_type: expected one of llama, mistral, qwen2, qwen3, got "qwen2_moe"/],
    ['unknown model type', { model_type: 'gpt2' }, /model_type: expected one of llama, mistral, qwen2, qwen3, got "gpt2"/],
    [
      'qwen2 sliding window',
      { model_type: 'qwen2', use_sliding_window: true, sliding_window: 4096 },
      /use_sliding_window: sliding-window attention is unsupported \(sliding_window = 4096\)/,
    ],
    [
      'qwen3 sliding layer',
      { model_type: 'qwen3', layer_types: ['full_attention', 'sliding_attention'] },
      /layer_types\[1\]: only "full_attention"/,
    ],
    ['qwen3 attention bias', { model_type: 'qwen3', attention_bias: true }, /attention_bias: attention biases are unsupported/],
    [
      'qwen3 rope scaling',
      { model_type: 'qwen3', rope_scaling: { rope_type: 'yarn', factor: 4 } },
      /rope_scaling: rotary scaling is unsupported/,
    ],
    ['gelu', { hidden_act: 'gelu' }, /hidden_act: only "silu"/],
    ['attention bias', { attention_bias: true }, /attention_bias: attention biases are unsupported/],
    ['rope scaling', { rope_scaling: { type: 'linear', factor: 2 } }, /rope_scaling: rotary scaling is unsupported/],
    ['missing hidden size', { hidden_size: undefined }, /hidden_size: missing/],
    [
      'inconsistent heads',
      { num_key_value_heads: 3 },
      /num_key_value_heads: num_attention_heads \(4\) must be a multiple of num_key_value_heads \(3\)/,
    ],
    ['string size', { intermediate_size: '128' }, /intermediate_size: expected a positive integer, got "128"/],
    ['odd head_dim', { head_dim: 15 }, /head_dim: must be even/],
  ];
  for (const [label, over, re] of bad) {
    it(`rejects ${label}, naming the file and the HF key`, () => {
      expect(() => llamaConfigFromHf(hf(over), SRC)).toThrow(re);
      expect(() => llamaConfigFromHf(hf(over), SRC)).toThrow(SRC);
    });
  }
  it('rejects a non-object', () => {
    expect(() => llamaConfigFromHf([1], SRC)).toThrow(/\/models\/x\/config\.json.*JSON object/);
  });

  it('reads qwen2 and qwen3 (inert sliding-window fields, qwen3 head_dim apart from hidden / heads)', () => {
    const q2 = llamaConfigFromHf(hf({ model_type: 'qwen2', use_sliding_window: false, sliding_window: 32768, max_window_layers: 21 }), SRC);
    expect(q2.architecture).toBe('qwen2');
    expect(q2.maxPositionEmbeddings).toBe(256);
    const q3 = llamaConfigFromHf(hf({ model_type: 'qwen3', head_dim: 24, attention_bias: false, sliding_window: null }), SRC);
    expect(q3.architecture).toBe('qwen3');
    expect(q3.headDim).toBe(24);
    expect(llamaConfigFromHf(hf({}), SRC).architecture).toBeUndefined(); // llama stays implicit
    for (const c of [q2, q3]) {
      const j = llamaConfigToHf(c);
      expect(j.model_type).toBe(c.architecture);
      expect(j.use_sliding_window).toBe(false);
      expect(llamaConfigFromHf(JSON.parse(JSON.stringify(j)), 'rt')).toEqual(c);
    }
    expect(llamaConfigToHf(q2).architectures).toEqual(['Qwen2ForCausalLM']);
    expect(llamaConfigToHf(q3).architectures).toEqual(['Qwen3ForCausalLM']);
  });

  it('round-trips through llamaConfigToHf', () => {
    const c = defaultLlamaConfig();
    const j = llamaConfigToHf(c, 'bfloat16');
    expect(j.model_type).toBe('llama');
    expect(j.architectures).toEqual(['LlamaForCausalLM']);
    expect(j.torch_dtype).toBe('bfloat16');
    expect(llamaConfigFromHf(JSON.parse(JSON.stringify(j)), 'rt')).toEqual(c);
    const withIds = validateLlamaConfig({ ...c, bosTokenId: 0, eosTokenId: 1 }, 't');
    expect(llamaConfigFromHf(llamaConfigToHf(withIds), 'rt')).toEqual(withIds);
  });
});
