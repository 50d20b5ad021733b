// qwen2 (q/k/v biases) and qwen3 (q/k head norms, head_dim != hidden / heads): gradients through the
// whole model in float64, incremental decoding with the KV cache, and the tensor names they need.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { Tensor } from '../../tensor/index.js';
import { gradCheck } from '../../tensor/gradcheck.js';
import { validateLlamaConfig, type LlamaArchitecture, type LlamaConfig } from './config.js';
import { LlamaModel } from './model.js';
import { llamaTensorSpecs } from './weights.js';
import { LoraAdapter } from '../../adapters/lora/layer.js';
import { validateLoraConfig } from '../../adapters/lora/config.js';
import { generateGreedy } from './generate.js';

function tiny(arch: LlamaArchitecture): LlamaConfig {
  return validateLlamaConfig(
    {
      architecture: arch,
      hiddenSize: 16,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      ...(arch === 'qwen3' ? { headDim: 6 } : {}),
      intermediateSize: 24,
      vocabSize: 11,
      maxPositionEmbeddings: 32,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
      tieWordEmbeddings: false,
    },
    `tiny ${arch}`,
  );
}

/** Random model with non-trivial biases and head norms, in float64 or float32. */
function randomModel(cfg: LlamaConfig, rng: Rng, f64: boolean): LlamaModel {
  const base = LlamaModel.init(cfg, rng);
  const m = new Map<string, Tensor>();
  for (const [k, t] of base.params) {
    const data = f64 ? Float64Array.from(t.data) : Float32Array.from(t.data);
    if (k.endsWith('.bias')) for (let i = 0; i < data.length; i++) data[i] = rng.normal() * 0.3;
    if (/_norm\.weight$/.test(k) && k.includes('self_attn')) for (let i = 0; i < data.length; i++) data[i] = 1 + rng.normal() * 0.3;
    m.set(k, new Tensor(data, t.shape));
  }
  return new LlamaModel(cfg, m);
}

const batch = { ids: Int32Array.from([0, 0, 1, 2, 3, 4, 5, 6, 7, 8]), B: 2, T: 5, mask: Uint8Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1]) };
const targets = Int32Array.from([-1, -1, 4, 5, 6, -1, 3, 4, 5, 6]);

describe('qwen2 and qwen3 decoders', () => {
  it('name their extra tensors as Hugging Face does', () => {
    const q2 = llamaTensorSpecs(tiny('qwen2')).map((s) => `${s.name} [${s.shape}]`);
    expect(q2).toContain('model.layers.0.self_attn.q_proj.bias [16]');
    expect(q2).toContain('model.layers.1.self_attn.k_proj.bias [8]');
    expect(q2).toContain('model.layers.1.self_attn.v_proj.bias [8]');
    expect(q2.some((n) => n.includes('o_proj.bias'))).toBe(false);
    const q3 = llamaTensorSpecs(tiny('qwen3')).map((s) => `${s.name} [${s.shape}]`);
    expect(q3).toContain('model.layers.0.self_attn.q_norm.weight [6]');
    expect(q3).toContain('model.layers.1.self_attn.k_norm.weight [6]');
    expect(q3).toContain('model.layers.0.self_attn.q_proj.weight [24,16]');
    expect(q3.some((n) => n.includes('.bias'))).toBe(false);
  });

  for (const arch of ['qwen2', 'qwen3'] as const) {
    it(`${arch}: LoRA and base-weight gradients match finite differences (float64)`, () => {
      const rng = new Rng(21);
      const cfg = tiny(arch);
      const model = randomModel(cfg, rng, true);
      const lcfg = validateLoraConfig({ rank: 2, alpha: 4, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], dropout: 0 });
      const f32 = LoraAdapter.init(lcfg, cfg, rng);
      const w = new Map(
        [...f32.weights].map(([k, p]) => {
          const A = new Tensor(Float64Array.from(p.A.data), p.A.shape, { requiresGrad: true, name: `${k}.A` });
          const B = new Tensor(
            Float64Array.from(p.B.data, () => rng.normal() * 0.1),
            p.B.shape,
            { requiresGrad: true, name: `${k}.B` },
          );
          return [k, { A, B }] as const;
        }),
      );
      const lora = new LoraAdapter(lcfg, cfg, new Map(w));
      const r = gradCheck((tape) => model.loss(tape, batch, targets, lora).loss, lora.parameters(), { samples: 4 });
      expect(r.maxRelError, r.worst).toBeLessThan(1e-5);
      model.setTrainable(true);
      const extra =
        arch === 'qwen2'
          ? ['self_attn.q_proj.bias', 'self_attn.k_proj.bias', 'self_attn.v_proj.bias']
          : ['self_attn.q_norm.weight', 'self_attn.k_norm.weight'];
      const rb = gradCheck(
        (tape) => model.loss(tape, batch, targets).loss,
        extra.map((n) => model.param(`model.layers.0.${n}`)),
        { samples: 6 },
      );
      expect(rb.maxRelError, rb.worst).toBeLessThan(1e-5);
    });

    it(`${arch}: KV-cache decoding matches full forward argmax`, () => {
      const rng = new Rng(22);
      const cfg = tiny(arch);
      const model = randomModel(cfg, rng, false);
      const prompts = [
        [1, 2, 3],
        [4, 5, 6, 7, 8],
      ];
      const gen = generateGreedy(model, prompts, { maxNewTokens: 6 });
      prompts.forEach((p, b) => {
        const seq = [...p];
        for (let s = 0; s < 6; s++) {
          const { logits } = model.forward(null, { ids: Int32Array.from(seq), B: 1, T: seq.length });
          const V = cfg.vocabSize;
          const row = logits.data.subarray((seq.length - 1) * V, seq.length * V);
          seq.push(row.indexOf(Math.max(...row)));
        }
        expect(gen[b].ids).toEqual(seq.slice(p.length));
      });
    });
  }
});
