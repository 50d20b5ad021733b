// Hypernetwork head: config checks, output shapes (shared and per-layer), gradients from the model's
// loss back into the head (float64 finite differences), log-scale clamping, save/load, sizes.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../../util/rng.js';
import { Tape, Tensor, linear } from '../../tensor/index.js';
import { gradCheck, randomTensor } from '../../tensor/gradcheck.js';
import { llamaConfigFromHf, validateLlamaConfig } from '../../model/llama/config.js';
import { LlamaModel } from '../../model/llama/model.js';
import { parseSafetensors, serializeSafetensors } from '../../formats/safetensors.js';
import { LoraAdapter } from '../lora/layer.js';
import { validateLoraConfig } from '../lora/config.js';
import {
  defaultHyperHeadConfig,
  hyperHeadOutputWidth,
  hyperHeadParameterCount,
  validateHyperHeadConfig,
  type HyperHeadConfig,
} from './config.js';
import { HyperHead, hyperHeadToF64 } from './head.js';
import { hyperSegmentAdapter } from './mixed.js';

const model = validateLlamaConfig(
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
  'head.test',
);

function headConfig(over: Partial<HyperHeadConfig> = {}): HyperHeadConfig {
  return validateHyperHeadConfig({ ...defaultHyperHeadConfig(), embedDim: 6, hidden: 8, rank: 2, alpha: 4, layerEmbedDim: 3, ...over });
}

function f64Model(rng: Rng): LlamaModel {
  const m = LlamaModel.init(model, rng);
  return new LlamaModel(model, new Map([...m.params].map(([k, t]) => [k, new Tensor(Float64Array.from(t.data), t.shape)])));
}

const batch = { B: 2, T: 4, ids: Int32Array.from([0, 3, 4, 5, 1, 2, 3, 4]), mask: Uint8Array.from([0, 1, 1, 1, 1, 1, 1, 1]) };
const targets = Int32Array.from([-1, 4, 5, 6, 2, 3, 4, 5]);

describe('HyperHeadConfig', () => {
  it('defaults are METHOD.md: log-scale -3.5, scales in [1e-5, 0.3], all seven modules; frozen', () => {
    const c = defaultHyperHeadConfig();
    expect(validateHyperHeadConfig(c)).toEqual(c);
    expect([c.initLogScale, c.scaleMin, c.scaleMax, c.targetModules.length]).toEqual([-3.5, 1e-5, 0.3, 7]);
    expect(Object.isFrozen(validateHyperHeadConfig(c))).toBe(true);
  });
  it('refuses unknown keys, missing fields and bad values with the field named', () => {
    const c = defaultHyperHeadConfig();
    expect(() => validateHyperHeadConfig({ ...c, hiden: 3 } as HyperHeadConfig, 'x.json')).toThrow(
      /hyper head config x.json: hiden: unknown field/,
    );
    const { rank: _r, ...noRank } = c;
    expect(() => validateHyperHeadConfig(noRank as HyperHeadConfig)).toThrow(/rank: missing/);
    expect(() => validateHyperHeadConfig({ ...c, rank: 0 })).toThrow(/rank: expected a positive integer, got 0/);
    expect(() => validateHyperHeadConfig({ ...c, scaleMin: 0.5 })).toThrow(/scaleMin: expected 0 < scaleMin < scaleMax/);
    expect(() => validateHyperHeadConfig({ ...c, targetModules: ['q_proj', 'lm_head' as 'q_proj'] })).toThrow(/unknown module "lm_head"/);
    expect(() => validateHyperHeadConfig({ ...c, perLayer: 'yes' as unknown as boolean })).toThrow(/perLayer: expected a boolean/);
    expect(() => validateHyperHeadConfig({ ...c, headRank: -1 })).toThrow(/headRank/);
  });
});

describe('HyperHead forward', () => {
  it('shared variant: one (A, B) per module type, keys "*.m", shapes that LoraAdapter accepts', () => {
    const head = HyperHead.init(headConfig(), model, new Rng(1));
    const emb = randomTensor([3, 6], new Rng(2), { dtype: 'f32', requiresGrad: false });
    const outs = head.forward(null, emb);
    expect(outs.length).toBe(3);
    expect([...outs[0].keys()]).toEqual(['*.q_proj', '*.k_proj', '*.v_proj', '*.o_proj', '*.gate_proj', '*.up_proj', '*.down_proj']);
    expect(outs[0].get('*.q_proj')!.A.shape).toEqual([2, 16]);
    expect(outs[0].get('*.k_proj')!.B.shape).toEqual([8, 2]);
    expect(outs[0].get('*.down_proj')!.A.shape).toEqual([2, 24]);
    expect(outs[0].get('*.down_proj')!.B.shape).toEqual([16, 2]);
    for (const o of outs) new LoraAdapter(head.loraConfig(), model, o); // shapes checked there
    // B is not zero, |values| <= s = exp(-3.5), and repositories get different adapters
    const s = Math.exp(-3.5);
    const b0 = outs[0].get('*.o_proj')!.B.data,
      b1 = outs[1].get('*.o_proj')!.B.data;
    expect(Math.max(...[...b0].map(Math.abs))).toBeGreaterThan(0.1 * s);
    expect(Math.max(...[...b0].map(Math.abs))).toBeLessThanOrEqual(s + 1e-7);
    expect([...b0]).not.toEqual([...b1]);
    expect(head.parameterCount()).toBe(hyperHeadParameterCount(head.config, model));
  });
  it('per-layer variant: keys "l.m" for every layer; layers differ; the trunk runs on R*L rows', () => {
    const head = HyperHead.init(headConfig({ perLayer: true, targetModules: ['q_proj', 'up_proj'] }), model, new Rng(3));
    expect(head.parameters().get('trunk.fc1.weight')!.shape).toEqual([8, 6 + 3]);
    expect(head.parameters().get('layer_embed.weight')!.shape).toEqual([2, 3]);
    const outs = head.forward(null, randomTensor([2, 6], new Rng(4), { dtype: 'f32', requiresGrad: false }));
    expect([...outs[1].keys()]).toEqual(['0.q_proj', '1.q_proj', '0.up_proj', '1.up_proj']);
    expect(outs[1].get('1.up_proj')!.A.shape).toEqual([2, 16]);
    expect(outs[1].get('1.up_proj')!.B.shape).toEqual([24, 2]);
    expect([...outs[1].get('0.q_proj')!.A.data]).not.toEqual([...outs[1].get('1.q_proj')!.A.data]);
    const lora = new LoraAdapter(head.loraConfig(), model, outs[1]);
    expect(lora.pair(1, 'q_proj')).toBe(outs[1].get('1.q_proj'));
    expect(head.parameterCount()).toBe(hyperHeadParameterCount(head.config, model));
  });
  it('factorised output (headRank k): a shared Linear(H -> k) feeds the heads', () => {
    const head = HyperHead.init(headConfig({ headRank: 3 }), model, new Rng(5));
    expect(head.parameters().get('bottleneck.weight')!.shape).toEqual([3, 8]);
    expect(head.parameters().get('heads.q_proj.A.weight')!.shape).toEqual([2 * 16, 3]);
    expect(head.parameterCount()).toBe(hyperHeadParameterCount(head.config, model));
    const outs = head.forward(null, randomTensor([1, 6], new Rng(6), { dtype: 'f32', requiresGrad: false }));
    expect(outs[0].get('*.v_proj')!.B.shape).toEqual([8, 2]);
  });
  it('float32 (native) and float64 heads agree', () => {
    const h32 = HyperHead.init(headConfig({ perLayer: true }), model, new Rng(7));
    const h64 = hyperHeadToF64(h32);
    const e = randomTensor([2, 6], new Rng(8), { requiresGrad: false });
    const o64 = h64.forward(null, e),
      o32 = h32.forward(null, new Tensor(Float32Array.from(e.data), e.shape));
    for (const [k, p] of o64[1]) {
      const q = o32[1].get(k)!;
      for (let i = 0; i < p.A.size; i++) expect(Math.abs(q.A.data[i] - p.A.data[i])).toBeLessThan(1e-6);
      for (let i = 0; i < p.B.size; i++) expect(Math.abs(q.B.data[i] - p.B.data[i])).toBeLessThan(1e-6);
    }
  });
  it('refuses embeddings of the wrong width or dtype', () => {
    const head = HyperHead.init(headConfig(), model, new Rng(9));
    expect(() => head.forward(null, randomTensor([2, 5], new Rng(1), { dtype: 'f32' }))).toThrow(
      /HyperHead.forward: embeddings have shape \[2,5\], expected \[R,6\]/,
    );
    expect(() => head.forward(null, randomTensor([2, 6], new Rng(1)))).toThrow(/embeddings are f64, the head is f32/);
  });
});

describe('HyperHead gradients through the model (float64 finite differences)', () => {
  // initLogScale -1.5 (s = 0.22) so the adapters move the loss enough for the check to be sharp.
  const variants: Array<[string, Partial<HyperHeadConfig>, string[]]> = [
    [
      'shared',
      {},
      [
        'trunk.fc1.weight',
        'trunk.fc2.bias',
        'heads.q_proj.A.weight',
        'heads.down_proj.B.bias',
        'log_scales.v_proj.A',
        'log_scales.gate_proj.B',
      ],
    ],
    ['per-layer', { perLayer: true }, ['layer_embed.weight', 'trunk.fc1.weight', 'heads.o_proj.B.weight', 'log_scales.up_proj.A']],
    ['factorised', { headRank: 3 }, ['bottleneck.weight', 'trunk.fc2.weight', 'heads.k_proj.A.bias', 'log_scales.down_proj.B']],
    ['input-standardised', { inputNorm: true }, ['trunk.fc1.weight', 'heads.q_proj.B.weight', 'log_scales.v_proj.B']],
  ];
  for (const [name, over, names] of variants) {
    it(`${name}: head parameters and the repository embedding, via a two-repository mixed batch`, () => {
      const rng = new Rng(31);
      const m = f64Model(rng);
      const head = hyperHeadToF64(HyperHead.init(headConfig({ initLogScale: -1.5, ...over }), model, rng));
      if (head.config.inputNorm) head.setInputStats([0, 1, 2, 3].map(() => [...randomTensor([6], rng).data]));
      const emb = randomTensor([2, 6], rng, { name: 'emb' });
      const params = head.parameters();
      const inputs = [...names.map((n) => params.get(n)!), emb];
      const loss = (tape: Tape | null) => {
        const seg = hyperSegmentAdapter(head, head.forward(tape, emb), [1, 1], batch.T);
        return m.loss(tape, batch, targets, seg).loss;
      };
      const r = gradCheck((tape) => loss(tape), inputs, { samples: 5 });
      expect(r.maxRelError, r.worst).toBeLessThan(1e-5);
      // the check is not vacuous: gradients well above the finite-difference noise floor reach the head
      const big = inputs.map((t) => Math.max(...[...t.grad!].map(Math.abs)));
      expect(Math.min(...big), names.join(',')).toBeGreaterThan(1e-4);
    });
  }
});

describe('log-scale clamping', () => {
  it('exp(log_s) above scaleMax is clamped to scaleMax and log_s gets no gradient; below scaleMin likewise; inside it does', () => {
    const head = hyperHeadToF64(HyperHead.init(headConfig({ targetModules: ['q_proj'] }), model, new Rng(41)));
    const p = head.parameters();
    p.get('log_scales.q_proj.A')!.data[0] = 0; // exp = 1 > 0.3
    p.get('log_scales.q_proj.B')!.data[0] = -20; // exp = 2e-9 < 1e-5
    expect(head.scales().get('q_proj.A')).toBe(0.3);
    expect(head.scales().get('q_proj.B')).toBe(1e-5);
    const emb = randomTensor([1, 6], new Rng(42), { requiresGrad: false });
    const tape = new Tape();
    const pre = head.heads.get('q_proj')!.A.forward(null, linearTrunk(head, emb));
    const out = head.forward(tape, emb)[0].get('*.q_proj')!;
    for (let i = 0; i < out.A.size; i++) expect(out.A.data[i]).toBeCloseTo(0.3 * Math.tanh(pre.data[i]), 12);
    expect(Math.max(...[...out.B.data].map(Math.abs))).toBeLessThanOrEqual(1e-5);
    const w = randomTensor([1, out.A.size], new Rng(43), { requiresGrad: false });
    const lossA = linear(tape, out.A.view([1, out.A.size]), new Tensor(w.data.slice(0, out.A.size), [1, out.A.size]));
    tape.backward(lossA);
    expect(p.get('log_scales.q_proj.A')!.grad?.[0] ?? 0).toBe(0);
    expect(p.get('trunk.fc1.weight')!.grad!.some((g) => g !== 0)).toBe(true);
    // inside the range the scale learns
    p.get('log_scales.q_proj.A')!.data[0] = -2;
    const t2 = new Tape();
    const o2 = head.forward(t2, emb)[0].get('*.q_proj')!;
    t2.backward(linear(t2, o2.A.view([1, o2.A.size]), new Tensor(w.data.slice(0, o2.A.size), [1, o2.A.size])));
    expect(Math.abs(p.get('log_scales.q_proj.A')!.grad![0])).toBeGreaterThan(0);
  });
});

/** The trunk's output h for emb (what the heads read), recomputed for the clamping test. */
function linearTrunk(head: HyperHead, emb: Tensor): Tensor {
  return (head as unknown as { trunkForward(t: Tape | null, e: Tensor): Tensor }).trunkForward(null, emb);
}

describe('input standardisation (inputNorm)', () => {
  const stats = (rng: Rng) => [0, 1, 2, 3, 4].map(() => [...randomTensor([6], rng, { dtype: 'f32' }).data].map((v) => 3 + 0.1 * v));
  it('the trunk reads (emb - mean) / std of the training embeddings: equal to a plain head fed standardised input', () => {
    const rng = new Rng(61);
    const normed = HyperHead.init(headConfig({ inputNorm: true }), model, rng.fork('h'));
    const vs = stats(rng);
    const r = normed.setInputStats(vs);
    expect(r.count).toBe(5);
    // a plain head with the same trained parameters, fed the standardised embedding by hand
    const plain = new HyperHead(headConfig(), model, new Map(normed.parameters()));
    const mean = [0, 1, 2, 3, 4, 5].map((j) => vs.reduce((a, v) => a + v[j], 0) / vs.length);
    const std = mean.map((m, j) => Math.sqrt(vs.reduce((a, v) => a + (v[j] - m) ** 2, 0) / (vs.length - 1)));
    const e = vs[2];
    const got = normed.forward(null, new Tensor(Float32Array.from(e), [1, 6]))[0].get('*.q_proj')!.A.data;
    const want = plain.forward(null, new Tensor(Float32Array.from(e.map((v, j) => (v - mean[j]) / std[j])), [1, 6]))[0].get('*.q_proj')!
      .A.data;
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i], 5);
    // standardising makes a common offset of 3 irrelevant: two nearby embeddings give clearly different trunks
    const h = (v: number[]) => [...linearTrunk(normed, new Tensor(Float32Array.from(v), [1, 6])).data];
    const h0 = h(vs[0]),
      h1 = h(vs[1]);
    const dot = h0.reduce((a, x, i) => a + x * h1[i], 0) / Math.hypot(...h0) / Math.hypot(...h1);
    expect(dot).toBeLessThan(0.99);
  });
  it('buffers are saved and loaded, never trained, and absent from parameters(); a head without the field loads as inputNorm false', () => {
    const rng = new Rng(63);
    const head = HyperHead.init(headConfig({ inputNorm: true }), model, rng);
    head.setInputStats(stats(rng));
    expect([...head.parameters().keys()].some((k) => k.startsWith('input_norm.'))).toBe(false);
    expect([...head.buffers().keys()]).toEqual(['input_norm.shift', 'input_norm.scale']);
    const back = HyperHead.fromSafetensors(head.toSafetensors('F16'), model, 'mem', { trainable: true });
    expect(back.buffers().get('input_norm.scale')!.requiresGrad).toBe(false);
    expect([...back.buffers().get('input_norm.shift')!.data]).toEqual([...head.buffers().get('input_norm.shift')!.data]);
    const { inputNorm: _n, ...old } = headConfig();
    expect(validateHyperHeadConfig(old as HyperHeadConfig).inputNorm).toBe(false);
    expect(() => validateHyperHeadConfig({ ...headConfig(), inputNorm: 1 as unknown as boolean })).toThrow(/inputNorm: expected a boolean/);
    expect(() => HyperHead.init(headConfig(), model, rng).setInputStats(stats(rng))).toThrow(/no inputNorm/);
  });
});

describe('save / load', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hyper-head-'));
  it('F32 round trip is exact (bytes and file); outputs identical', () => {
    const head = HyperHead.init(headConfig({ perLayer: true, headRank: 4 }), model, new Rng(51));
    const back = HyperHead.fromSafetensors(head.toSafetensors('F32'), model, 'mem');
    expect(back.config).toEqual(head.config);
    for (const [k, t] of head.parameters()) expect([...back.parameters().get(k)!.data], k).toEqual([...t.data]);
    const file = path.join(tmp, 'head.safetensors');
    head.save(file);
    const loaded = HyperHead.load(file, model, { trainable: true });
    expect(loaded.parameters().get('trunk.fc1.weight')!.requiresGrad).toBe(true);
    const e = randomTensor([1, 6], new Rng(52), { dtype: 'f32', requiresGrad: false });
    expect([...loaded.forward(null, e)[0].get('1.q_proj')!.B.data]).toEqual([...head.forward(null, e)[0].get('1.q_proj')!.B.data]);
  });
  it('F16 storage is within f16 rounding (relative 2^-11) and saves 2 bytes per weight (log-scales stay F32)', () => {
    const head = HyperHead.init(headConfig(), model, new Rng(53));
    const b16 = head.toSafetensors('F16'),
      b32 = head.toSafetensors('F32');
    expect(b32.byteLength - b16.byteLength).toBeGreaterThanOrEqual(2 * (head.parameterCount() - 14) - 8); // header padding: 8
    const back = HyperHead.fromSafetensors(b16, model, 'mem16');
    for (const [k, t] of head.parameters()) {
      const u = back.parameters().get(k)!;
      for (let i = 0; i < t.size; i++)
        expect(Math.abs(u.data[i] - t.data[i]), k).toBeLessThanOrEqual(Math.abs(t.data[i]) * 2 ** -11 + 6e-8);
    }
    expect(back.parameters().get('log_scales.q_proj.A')!.data[0]).toBe(head.parameters().get('log_scales.q_proj.A')!.data[0]);
  });
  it('refuses: unknown config keys, a rank mismatch, a wrong tensor shape, a different model', () => {
    const head = HyperHead.init(headConfig(), model, new Rng(54));
    const file = parseSafetensors(head.toSafetensors(), 'mem');
    const rewrite = (cfg: Record<string, unknown>, drop?: string, modelMeta?: string) => {
      const tensors = new Map(
        [...file.tensors].filter(([k]) => k !== drop).map(([k, t]) => [k, { shape: t.shape, data: t.data as Float32Array }]),
      );
      return serializeSafetensors(tensors, { ...file.metadata, config: JSON.stringify(cfg), ...(modelMeta ? { model: modelMeta } : {}) });
    };
    expect(() => HyperHead.fromSafetensors(rewrite({ ...head.config, extra: 1 }), model, 'h.safetensors')).toThrow(
      /hyper head config h.safetensors \(metadata\): extra: unknown field/,
    );
    expect(() => HyperHead.fromSafetensors(rewrite({ ...head.config, rank: 4 }), model, 'h.safetensors')).toThrow(
      /hyper head h.safetensors: tensor heads.q_proj.A.weight has shape \[32,8\], expected \[64,8\] for rank 4/,
    );
    const lora16 = validateLoraConfig({ rank: 16, alpha: 4, targetModules: [...head.config.targetModules], dropout: 0 });
    expect(() => HyperHead.fromSafetensors(head.toSafetensors(), model, 'h.safetensors', { lora: lora16 })).toThrow(
      /hyper head h.safetensors: rank 2 does not match the LoRA config's rank 16/,
    );
    expect(() => HyperHead.fromSafetensors(rewrite({ ...head.config }, 'trunk.fc2.bias'), model, 'h.safetensors')).toThrow(
      /missing tensor trunk.fc2.bias \(expected \[8\]\)/,
    );
    const other = validateLlamaConfig({ ...model, intermediateSize: 32 }, 'other');
    expect(() => HyperHead.fromSafetensors(head.toSafetensors(), other, 'h.safetensors')).toThrow(
      /made for a model with intermediateSize 24, this model has 32/,
    );
    expect(
      () =>
        new LoraAdapter(
          validateLoraConfig({ rank: 4, alpha: 4, targetModules: ['q_proj'], dropout: 0 }),
          model,
          new Map([['*.q_proj', head.forward(null, randomTensor([1, 6], new Rng(1), { dtype: 'f32' }))[0].get('*.q_proj')!]]),
        ),
    ).toThrow(/LoRA: \*.q_proj A has shape \[2,16\], expected \[4,16\]/);
  });
});

describe('head size on the shipped base (hidden 256, 6 layers, MLP 704, 8/4 heads of 32), r = 8, E = 512', () => {
  it('output width 37,376 per row; parameters and bytes for H = 128, 256 and the factorised option', () => {
    const base = llamaConfigFromHf(
      JSON.parse(fs.readFileSync(path.join(process.cwd(), 'models/code2lora-base/config.json'), 'utf8')),
      'base',
    );
    const c = (over: Partial<HyperHeadConfig>) => validateHyperHeadConfig({ ...defaultHyperHeadConfig(), ...over });
    expect(hyperHeadOutputWidth(c({}), base)).toBe(37376); // 8*(512+384+384+512+960+960+960)
    const rows: Record<string, number> = {
      'H=128': hyperHeadParameterCount(c({ hidden: 128 }), base),
      'H=256': hyperHeadParameterCount(c({ hidden: 256 }), base),
      'H=256 per-layer': hyperHeadParameterCount(c({ hidden: 256, perLayer: true }), base),
      'H=256 headRank=64': hyperHeadParameterCount(c({ hidden: 256, headRank: 64 }), base),
      'H=256 headRank=32': hyperHeadParameterCount(c({ hidden: 256, headRank: 32 }), base),
    };
    // hand-worked: trunk E*H+H + H*H+H, heads (H+1)*37376, 14 log-scales (+ L*Le, + H*k)
    expect(rows['H=128']).toBe(82176 + 129 * 37376 + 14);
    expect(rows['H=256']).toBe(197120 + 257 * 37376 + 14);
    expect(rows['H=256 per-layer']).toBe(197120 + 32 * 256 + 6 * 32 + 257 * 37376 + 14);
    expect(rows['H=256 headRank=64']).toBe(197120 + 256 * 64 + 65 * 37376 + 14);
    expect(rows['H=256 headRank=32']).toBe(197120 + 256 * 32 + 33 * 37376 + 14);
    console.log(
      Object.entries(rows)
        .map(([k, n]) => `${k}: ${n} params, ${((n * 4) / 1e6).toFixed(1)} MB f32, ${((n * 2) / 1e6).toFixed(1)} MB f16`)
        .join('\n'),
    );
  });
});
