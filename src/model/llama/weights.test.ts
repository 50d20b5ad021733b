import { describe, expect, it } from 'vitest';
import { validateLlamaConfig, defaultLlamaConfig } from './config.js';
import { checkLlamaTensors, llamaTensorSpecs } from './weights.js';

const cfg = validateLlamaConfig(
  {
    ...defaultLlamaConfig(),
    hiddenSize: 32,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 6,
    intermediateSize: 48,
    vocabSize: 50,
    tieWordEmbeddings: false,
  },
  'test',
);
const shapes = (c = cfg) => new Map(llamaTensorSpecs(c).map((s) => [s.name, { shape: s.shape }]));

describe('llama tensor specs', () => {
  it('lists HF names and shapes', () => {
    const m = shapes();
    expect(m.size).toBe(1 + 2 * 9 + 1 + 1);
    expect(m.get('model.embed_tokens.weight')!.shape).toEqual([50, 32]);
    expect(m.get('model.layers.1.self_attn.q_proj.weight')!.shape).toEqual([24, 32]); // H*D = 4*6
    expect(m.get('model.layers.1.self_attn.k_proj.weight')!.shape).toEqual([12, 32]); // KV*D
    expect(m.get('model.layers.0.self_attn.o_proj.weight')!.shape).toEqual([32, 24]);
    expect(m.get('model.layers.0.mlp.gate_proj.weight')!.shape).toEqual([48, 32]);
    expect(m.get('model.layers.0.mlp.down_proj.weight')!.shape).toEqual([32, 48]);
    expect(m.get('model.layers.0.post_attention_layernorm.weight')!.shape).toEqual([32]);
    expect(m.get('lm_head.weight')!.shape).toEqual([50, 32]);
    expect(shapes({ ...cfg, tieWordEmbeddings: true }).has('lm_head.weight')).toBe(false);
  });

  it('accepts a complete set; a tied model may include or omit lm_head; inv_freq is tolerated', () => {
    expect(() => checkLlamaTensors(cfg, shapes(), 'f')).not.toThrow();
    const tied = { ...cfg, tieWordEmbeddings: true };
    expect(() => checkLlamaTensors(tied, shapes(tied), 'f')).not.toThrow();
    const withHead = shapes(tied)
      .set('lm_head.weight', { shape: [50, 32] })
      .set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [3] });
    expect(() => checkLlamaTensors(tied, withHead, 'f')).not.toThrow();
  });

  it('reports missing, wrong-shape and unexpected tensors together', () => {
    const m = shapes();
    m.delete('lm_head.weight');
    m.set('model.layers.1.mlp.up_proj.weight', { shape: [32, 48] });
    m.set('model.layers.2.input_layernorm.weight', { shape: [32] });
    expect(() => checkLlamaTensors(cfg, m, 'ckpt.safetensors')).toThrow(
      /llama weights ckpt\.safetensors: .*missing 1: lm_head\.weight; wrong shape 1: model\.layers\.1\.mlp\.up_proj\.weight is \[32, 48\], expected \[48, 32\]; unexpected 1: model\.layers\.2\.input_layernorm\.weight/,
    );
  });
});
