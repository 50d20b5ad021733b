// Folding LoRA into the weights: same logits as the unfolded adapter (float64 to rounding, float32
// to float32 tolerance), the same greedy tokens, and the base model untouched.
import { describe, expect, it } from 'vitest';
import { defaultLlamaConfig, validateLlamaConfig } from '../../model/llama/config.js';
import { LlamaModel } from '../../model/llama/model.js';
import { generateGreedy } from '../../model/llama/generate.js';
import { projectionDims } from '../../model/llama/weights.js';
import { Tensor } from '../../tensor/index.js';
import { Rng } from '../../util/rng.js';
import { validateLoraConfig } from './config.js';
import { LoraAdapter, type LoraPair } from './layer.js';
import { mergeLora } from './merge.js';

const cfg = validateLlamaConfig(
  {
    ...defaultLlamaConfig(),
    hiddenSize: 16,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 4,
    intermediateSize: 24,
    vocabSize: 40,
    maxPositionEmbeddings: 64,
  },
  'merge test',
);
const loraCfg = validateLoraConfig({
  rank: 3,
  alpha: 6,
  targetModules: ['q_proj', 'v_proj', 'o_proj', 'gate_proj', 'down_proj'],
  dropout: 0,
});

function randomAdapter(rng: Rng, shared: boolean, f64 = false): LoraAdapter {
  const w = new Map<string, LoraPair>();
  for (let l = 0; l < (shared ? 1 : cfg.numLayers); l++) {
    for (const m of loraCfg.targetModules) {
      const [out, inF] = projectionDims(cfg, m);
      const make = (n: number, shape: number[]) => {
        const d = f64 ? new Float64Array(n) : new Float32Array(n);
        for (let i = 0; i < n; i++) d[i] = rng.normal() * 0.2;
        return new Tensor(d, shape);
      };
      w.set(shared ? `*.${m}` : `${l}.${m}`, {
        A: make(loraCfg.rank * inF, [loraCfg.rank, inF]),
        B: make(out * loraCfg.rank, [out, loraCfg.rank]),
      });
    }
  }
  return new LoraAdapter(loraCfg, cfg, w);
}

function toF64(model: LlamaModel): LlamaModel {
  return new LlamaModel(model.config, new Map([...model.params].map(([k, t]) => [k, new Tensor(Float64Array.from(t.data), t.shape)])));
}

const ids = Int32Array.from([1, 5, 9, 2, 33, 7, 7, 12, 3, 0, 21, 8]);
const batch = { ids, B: 2, T: 6 };

describe('mergeLora', () => {
  it.each([
    ['shared', true],
    ['per-layer', false],
  ] as const)('float64 (%s pairs): folded logits equal the unfolded path to rounding', (_n, shared) => {
    const rng = new Rng(3);
    const base = toF64(LlamaModel.init(cfg, rng.fork('init')));
    const adapter = randomAdapter(rng.fork('lora'), shared, true);
    const unfolded = base.forward(null, batch, { adapter }).logits.data;
    const folded = mergeLora(base, adapter).forward(null, batch).logits.data;
    const plain = base.forward(null, batch).logits.data;
    let maxDiff = 0,
      effect = 0;
    for (let i = 0; i < unfolded.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(unfolded[i] - folded[i]));
      effect = Math.max(effect, Math.abs(unfolded[i] - plain[i]));
    }
    expect(effect).toBeGreaterThan(1e-3); // the adapter really changes the output
    expect(maxDiff).toBeLessThan(1e-12);
  });

  it('float32: near-identical logits, the same greedy tokens, the base left untouched', () => {
    const rng = new Rng(5);
    const base = LlamaModel.init(cfg, rng.fork('init'));
    const before = new Map([...base.params].map(([k, t]) => [k, Float32Array.from(t.data)]));
    const adapter = randomAdapter(rng.fork('lora'), true);
    const merged = mergeLora(base, adapter);
    const a = base.forward(null, batch, { adapter }).logits.data,
      b = merged.forward(null, batch).logits.data;
    let maxDiff = 0,
      maxAbs = 0;
    for (let i = 0; i < a.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      maxAbs = Math.max(maxAbs, Math.abs(a[i]));
    }
    expect(maxDiff).toBeLessThan(1e-5 * Math.max(1, maxAbs));
    const prompts = [
      [1, 5, 9, 2],
      [33, 7],
    ];
    const g1 = generateGreedy(base, prompts, { maxNewTokens: 12, adapter });
    const g2 = generateGreedy(merged, prompts, { maxNewTokens: 12 });
    expect(g2.map((g) => g.ids)).toEqual(g1.map((g) => g.ids));
    for (const [k, t] of base.params) expect(t.data).toEqual(before.get(k));
    for (const [k, t] of merged.params) expect(t.data).not.toBe(base.param(k).data); // copies, never shared
  });

  it('refuses an adapter whose float type differs from the model', () => {
    const base = LlamaModel.init(cfg, new Rng(1));
    expect(() => mergeLora(base, randomAdapter(new Rng(2), true, true))).toThrow(/float types differ/);
  });
});
