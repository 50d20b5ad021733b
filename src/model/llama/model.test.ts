// Whole-model checks: gradients through every layer (float64), LoRA semantics, KV-cache decoding.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { Tensor } from '../../tensor/index.js';
import { gradCheck } from '../../tensor/gradcheck.js';
import { validateLlamaConfig, type LlamaConfig } from './config.js';
import { LlamaModel } from './model.js';
import { LoraAdapter } from '../../adapters/lora/layer.js';
import { validateLoraConfig } from '../../adapters/lora/config.js';
import { generateGreedy } from './generate.js';
import { Tape } from '../../tensor/tape.js';

export const tinyConfig: LlamaConfig = validateLlamaConfig(
  {
    hiddenSize: 16,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    intermediateSize: 24,
    vocabSize: 11,
    maxPositionEmbeddings: 32,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
  },
  'tinyConfig',
);

function toF64(model: LlamaModel): LlamaModel {
  const m = new Map<string, Tensor>();
  for (const [k, t] of model.params) m.set(k, new Tensor(Float64Array.from(t.data), t.shape));
  return new LlamaModel(model.config, m);
}

function loraF64(model: LlamaModel, rng: Rng): LoraAdapter {
  const cfg = validateLoraConfig({
    rank: 2,
    alpha: 4,
    targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    dropout: 0,
  });
  const f32 = LoraAdapter.init(cfg, model.config, rng);
  const w = new Map(
    [...f32.weights].map(([k, p]) => {
      const A = new Tensor(Float64Array.from(p.A.data), p.A.shape, { requiresGrad: true, name: `${k}.A` });
      const B = new Tensor(new Float64Array(p.B.size), p.B.shape, { requiresGrad: true, name: `${k}.B` });
      for (let i = 0; i < B.size; i++) B.data[i] = rng.normal() * 0.1; // non-zero B so A's gradient is tested too
      return [k, { A, B }] as const;
    }),
  );
  return new LoraAdapter(cfg, model.config, new Map(w));
}

const batch = {
  B: 2,
  T: 5,
  ids: Int32Array.from([0, 0, 3, 4, 5, 1, 2, 3, 4, 5]),
  mask: Uint8Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1]),
};
const targets = Int32Array.from([-1, -1, 4, 5, 6, -1, 3, 4, 5, 6]);

describe('LlamaModel', () => {
  it('LoRA gradients match finite differences through the whole model (float64)', () => {
    const rng = new Rng(3);
    const model = toF64(LlamaModel.init(tinyConfig, rng));
    const lora = loraF64(model, rng);
    const params = lora.parameters();
    const r = gradCheck((tape) => model.loss(tape, batch, targets, lora).loss, params, { samples: 4 });
    expect(r.maxRelError, r.worst).toBeLessThan(1e-5);
  });

  it('base-weight gradients match finite differences (full fine-tune path)', () => {
    const rng = new Rng(4);
    const model = toF64(LlamaModel.init(tinyConfig, rng));
    model.setTrainable(true);
    const names = [
      'model.embed_tokens.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.1.mlp.down_proj.weight',
      'model.layers.0.input_layernorm.weight',
      'model.norm.weight',
      'lm_head.weight',
    ];
    const r = gradCheck(
      (tape) => model.loss(tape, batch, targets).loss,
      names.map((n) => model.param(n)),
      { samples: 6 },
    );
    expect(r.maxRelError, r.worst).toBeLessThan(1e-5);
  });

  it('frozen base weights receive no gradient; LoRA ones do', () => {
    const rng = new Rng(5);
    const model = toF64(LlamaModel.init(tinyConfig, rng));
    const lora = loraF64(model, rng);
    const tape = new Tape();
    tape.backward(model.loss(tape, batch, targets, lora).loss);
    for (const t of model.params.values()) expect(t.grad, t.name).toBeNull();
    expect(lora.parameters().every((p) => p.grad !== null)).toBe(true);
  });

  it('a fresh LoRA adapter (B = 0) leaves the logits unchanged', () => {
    const rng = new Rng(6);
    const model = toF64(LlamaModel.init(tinyConfig, rng));
    const cfg = validateLoraConfig({ rank: 2, alpha: 4, targetModules: ['q_proj', 'down_proj'], dropout: 0 });
    const f32 = LoraAdapter.init(cfg, tinyConfig, rng);
    const w = new Map(
      [...f32.weights].map(
        ([k, p]) =>
          [
            k,
            {
              A: new Tensor(Float64Array.from(p.A.data), p.A.shape),
              B: new Tensor(Float64Array.from(p.B.data), p.B.shape),
            },
          ] as const,
      ),
    );
    const a = model.forward(null, batch).logits.data;
    const b = model.forward(null, batch, { adapter: new LoraAdapter(cfg, tinyConfig, new Map(w)) }).logits.data;
    expect([...b]).toEqual([...a]);
  });

  it('a LoRA tensor of the wrong shape is refused with its name', () => {
    const cfg = validateLoraConfig({ rank: 2, alpha: 4, targetModules: ['q_proj'], dropout: 0 });
    expect(
      () =>
        new LoraAdapter(
          cfg,
          tinyConfig,
          new Map([
            [
              '0.q_proj',
              {
                A: new Tensor(new Float64Array(2 * 15), [2, 15]),
                B: new Tensor(new Float64Array(16 * 2), [16, 2]),
              },
            ],
          ]),
        ),
    ).toThrow(/0\.q_proj A has shape \[2,15\], expected \[2,16\]/);
  });
});

describe('generation (native float32)', () => {
  it('KV-cache decoding matches full forward argmax, batched with left padding, and is deterministic', () => {
    const rng = new Rng(8);
    const model = LlamaModel.init(tinyConfig, rng);
    const prompts = [
      [1, 2, 3],
      [4, 5, 6, 7, 8],
    ];
    const gen = generateGreedy(model, prompts, { maxNewTokens: 6 });
    const again = generateGreedy(model, prompts, { maxNewTokens: 6 });
    expect(again.map((g) => g.ids)).toEqual(gen.map((g) => g.ids));
    // Reference: no cache, re-run the whole sequence each step, one prompt at a time.
    prompts.forEach((p, b) => {
      const seq = [...p];
      for (let s = 0; s < 6; s++) {
        const { logits } = model.forward(null, { ids: Int32Array.from(seq), B: 1, T: seq.length });
        const V = tinyConfig.vocabSize;
        const row = logits.data.subarray((seq.length - 1) * V, seq.length * V);
        seq.push(row.indexOf(Math.max(...row)));
      }
      expect(gen[b].ids).toEqual(seq.slice(p.length));
    });
  });

  it('stops at a stop string and cuts it from the text', () => {
    const rng = new Rng(9);
    const model = LlamaModel.init(tinyConfig, rng);
    const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(97 + i)).join('');
    const free = generateGreedy(model, [[1, 2]], { maxNewTokens: 8, decode })[0];
    const stopAt = free.text!.slice(2, 3);
    const g = generateGreedy(model, [[1, 2]], { maxNewTokens: 8, decode, stopStrings: [stopAt] })[0];
    expect(g.stop).toBe('stop_string');
    expect(g.text).toBe(free.text!.slice(0, free.text!.indexOf(stopAt)));
  });
});
