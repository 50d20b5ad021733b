// bench core's model-FLOPs formula, worked by hand on a small config.
import { describe, expect, it } from 'vitest';
import { coreBenchModel, modelFlopsPerToken } from './core.js';

describe('model FLOPs per training token', () => {
  it('counts 6 x matmul parameters plus causal attention', () => {
    const cfg = coreBenchModel({ hiddenSize: 8, numLayers: 2, numHeads: 2, numKvHeads: 1, intermediateSize: 16, vocabSize: 10 });
    // head dim 4: q 8x8, k 8x4, v 8x4, o 8x8, gate/up/down 3 x 8x16 = 64+32+32+64+384 = 576 per layer; x2 + LM head 80 = 1232
    const { flops, formula } = modelFlopsPerToken(cfg, 32);
    expect(flops).toBe(6 * 1232 + 6 * 2 * 32 * 8);
    expect(formula).toContain('6*1232');
  });
});
