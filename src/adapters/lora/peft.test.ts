import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultLlamaConfig, validateLlamaConfig } from '../../model/llama/config.js';
import { projectionDims } from '../../model/llama/weights.js';
import { readSafetensors, writeSafetensors } from '../../formats/safetensors.js';
import { defaultLoraConfig, loraScaling, validateLoraConfig, type LoraConfig } from './config.js';
import { peftTensorName, readPeftAdapter, writePeftAdapter, type LoraWeights } from './peft.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c2l-peft-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const model = validateLlamaConfig(
  { ...defaultLlamaConfig(), hiddenSize: 16, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4, intermediateSize: 24, vocabSize: 40 },
  'test',
);
const lora = validateLoraConfig({ rank: 2, alpha: 4, targetModules: ['v_proj', 'q_proj', 'down_proj'], dropout: 0 });

function pairs(cfg: LoraConfig, shared = false): Map<string, LoraWeights> {
  const m = new Map<string, LoraWeights>();
  let k = 0;
  const fill = (n: number): Float32Array => Float32Array.from({ length: n }, () => (k++ % 17) / 16 - 0.5);
  for (let l = 0; l < (shared ? 1 : model.numLayers); l++) {
    for (const mod of cfg.targetModules) {
      const [out, inF] = projectionDims(model, mod);
      m.set(shared ? `*.${mod}` : `${l}.${mod}`, { A: fill(cfg.rank * inF), B: fill(out * cfg.rank) });
    }
  }
  return m;
}

describe('LoraConfig', () => {
  it('defaults to r=16, alpha=32, all seven projections, frozen', () => {
    const c = defaultLoraConfig();
    expect(c).toEqual({
      rank: 16,
      alpha: 32,
      targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      dropout: 0,
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(loraScaling(c)).toBe(2);
    expect(lora.targetModules).toEqual(['q_proj', 'v_proj', 'down_proj']); // canonical order
  });
  it.each([
    [{ rank: 0 }, /rank: expected a positive integer/],
    [{ alpha: -1 }, /alpha: expected a positive finite/],
    [{ dropout: 1 }, /dropout: expected a number in \[0, 1\)/],
    [{ targetModules: [] }, /targetModules: expected a non-empty list/],
    [{ targetModules: ['q_proj', 'lm_head'] }, /unknown module "lm_head"/],
    [{ targetModules: ['q_proj', 'q_proj'] }, /q_proj listed twice/],
    [{ rnak: 3 }, /rnak: unknown field/],
  ])('rejects %j', (over, re) => {
    expect(() => validateLoraConfig({ ...defaultLoraConfig(), ...over } as LoraConfig, 'flags')).toThrow(re);
  });
});

describe('PEFT adapter directory', () => {
  it('writes PEFT names, shapes and config; reads them back', () => {
    const dir = path.join(tmp, 'a');
    const w = pairs(lora);
    writePeftAdapter(dir, lora, w, model, 'my/base');
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 2,
      lora_alpha: 4,
      lora_dropout: 0,
      target_modules: ['q_proj', 'v_proj', 'down_proj'],
      bias: 'none',
      fan_in_fan_out: false,
      use_rslora: false,
      modules_to_save: null,
      layers_to_transform: null,
      base_model_name_or_path: 'my/base',
      inference_mode: true,
    });
    const st = readSafetensors(path.join(dir, 'adapter_model.safetensors'));
    expect(st.tensors.size).toBe(2 * 3 * 2);
    expect(st.tensors.get('base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight')!.shape).toEqual([2, 16]);
    expect(st.tensors.get('base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight')!.shape).toEqual([8, 2]);
    expect(st.tensors.get('base_model.model.model.layers.0.mlp.down_proj.lora_A.weight')!.shape).toEqual([2, 24]);
    const back = readPeftAdapter(dir, model);
    expect(back.config).toEqual(lora);
    expect(back.baseModelName).toBe('my/base');
    expect([...back.weights.keys()].sort()).toEqual([...w.keys()].sort());
    for (const [k, p] of w) {
      expect(Array.from(back.weights.get(k)!.A)).toEqual(Array.from(p.A));
      expect(Array.from(back.weights.get(k)!.B)).toEqual(Array.from(p.B));
    }
  });

  it('expands shared "*.module" pairs to every layer', () => {
    const dir = path.join(tmp, 'shared');
    const w = pairs(lora, true);
    writePeftAdapter(dir, lora, w, model, null, { dtype: 'F16' });
    const back = readPeftAdapter(dir, model);
    expect(back.weights.size).toBe(model.numLayers * 3);
    expect(Array.from(back.weights.get('1.q_proj')!.A)).toEqual(Array.from(w.get('*.q_proj')!.A)); // values exact in f16
  });

  it('accepts the adapter-name infix (lora_A.default.weight) and "all-linear"', () => {
    const dir = path.join(tmp, 'infix');
    const all = defaultLoraConfig();
    writePeftAdapter(dir, { ...all, rank: 1 }, pairs({ ...all, rank: 1 }), model, null);
    const f = path.join(dir, 'adapter_model.safetensors');
    const st = readSafetensors(f);
    writeSafetensors(
      f,
      new Map(
        [...st.tensors].map(([n, t]) => [
          n.replace(/lora_([AB])\.weight$/, 'lora_$1.default.weight'),
          t as { shape: number[]; data: Float32Array },
        ]),
      ),
    );
    const cfgFile = path.join(dir, 'adapter_config.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), target_modules: 'all-linear' }));
    expect(readPeftAdapter(dir, model).weights.size).toBe(2 * 7);
  });

  it('a wrong-shape tensor is named, with expected and actual shapes', () => {
    const dir = path.join(tmp, 'wrong');
    writePeftAdapter(dir, lora, pairs(lora), model, null);
    const f = path.join(dir, 'adapter_model.safetensors');
    const st = readSafetensors(f);
    const bad = 'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight';
    const tensors = new Map([...st.tensors].map(([n, t]) => [n, t as { shape: number[]; data: Float32Array }]));
    tensors.set(bad, { shape: [2, 8], data: new Float32Array(16) });
    tensors.set('base_model.model.model.layers.0.mlp.up_proj.lora_A.weight', { shape: [2, 16], data: new Float32Array(32) });
    tensors.delete(peftTensorName(0, 'q_proj', 'A'));
    writeSafetensors(f, tensors);
    expect(() => readPeftAdapter(dir, model)).toThrow(
      new RegExp(
        `adapter_model\\.safetensors: .*wrong shape 1: ${bad.replace(/\./g, '\\.')} is \\[2, 8\\], expected \\[8, 2\\]; ` +
          'missing 1: base_model\\.model\\.model\\.layers\\.0\\.self_attn\\.q_proj\\.lora_A\\.weight; ' +
          'unexpected 1: base_model\\.model\\.model\\.layers\\.0\\.mlp\\.up_proj\\.lora_A\\.weight',
      ),
    );
  });

  it('refuses configs it cannot honour, naming the file and field', () => {
    const dir = path.join(tmp, 'cfgs');
    writePeftAdapter(dir, lora, pairs(lora), model, null);
    const cfgFile = path.join(dir, 'adapter_config.json');
    const good = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ use_rslora: true }, /use_rslora: rank-stabilised/],
      [{ use_dora: true }, /use_dora/],
      [{ peft_type: 'IA3' }, /peft_type: expected "LORA"/],
      [{ bias: 'all' }, /bias: only "none"/],
      [{ target_modules: '.*q_proj' }, /target_modules: regular-expression targets are unsupported/],
      [{ target_modules: ['q_proj', 'embed_tokens'] }, /target_modules: unknown module "embed_tokens"/],
      [{ layers_to_transform: [0] }, /layers_to_transform: unsupported/],
      [{ modules_to_save: ['lm_head'] }, /modules_to_save: unsupported/],
      [{ rank_pattern: { q_proj: 4 } }, /rank_pattern: unsupported/],
      [{ r: 0 }, /rank: expected a positive integer/],
    ];
    for (const [over, re] of cases) {
      fs.writeFileSync(cfgFile, JSON.stringify({ ...good, ...over }));
      expect(() => readPeftAdapter(dir, model), JSON.stringify(over)).toThrow(re);
      expect(() => readPeftAdapter(dir, model), JSON.stringify(over)).toThrow(cfgFile);
    }
    fs.writeFileSync(cfgFile, '{');
    expect(() => readPeftAdapter(dir, model)).toThrow(/adapter_config\.json is not valid JSON/);
    // a different rank in the config makes every tensor the wrong shape
    fs.writeFileSync(cfgFile, JSON.stringify({ ...good, r: 3 }));
    expect(() => readPeftAdapter(dir, model)).toThrow(/wrong shape 12: .*lora_A\.weight is \[2, 16\], expected \[3, 16\]/);
  });

  it('writer checks lengths and coverage before writing anything', () => {
    const dir = path.join(tmp, 'nowrite');
    const w = pairs(lora);
    w.set('0.q_proj', { A: new Float32Array(3), B: w.get('0.q_proj')!.B });
    w.delete('1.down_proj');
    w.set('0.k_proj', w.get('0.v_proj')!);
    expect(() => writePeftAdapter(dir, lora, w, model, null)).toThrow(
      /0\.q_proj A has 3 values, expected \[2, 16\] = 32.*missing 1\.down_proj.*unexpected key 0\.k_proj/,
    );
    expect(fs.existsSync(dir)).toBe(false);
  });
});
