// Merged export: the written Hugging Face directory, loaded as a plain model, gives the same logits
// as the base model with the adapter applied per projection; the write is all-or-nothing.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateLlamaConfig } from '../../model/llama/config.js';
import { LlamaModel } from '../../model/llama/model.js';
import { loadLlama, saveLlama } from '../../model/llama/io.js';
import { Rng } from '../../util/rng.js';
import { validateLoraConfig } from './config.js';
import { LoraAdapter } from './layer.js';
import { exportMerged } from './export-merged.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c2l-merged-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

describe('export merged', () => {
  for (const arch of ['llama', 'qwen2'] as const) {
    it(`${arch}: the merged directory computes what base + adapter computes`, () => {
      const cfg = validateLlamaConfig(
        {
          architecture: arch,
          hiddenSize: 32,
          numLayers: 2,
          numHeads: 4,
          numKvHeads: 2,
          intermediateSize: 48,
          vocabSize: 50,
          maxPositionEmbeddings: 64,
          ropeTheta: 10000,
          rmsNormEps: 1e-5,
          tieWordEmbeddings: arch === 'llama',
        },
        'merged test',
      );
      const rng = new Rng(31);
      const model = LlamaModel.init(cfg, rng.fork('init'));
      for (const t of model.params.values()) if (t.name.endsWith('.bias')) for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * 0.2;
      const baseDir = path.join(tmp, `${arch}-base`);
      saveLlama(baseDir, model, { tokenizerJson: { version: '1.0', model: { type: 'BPE' } }, tokenizerConfigJson: { eos_token: 'x' } });
      const lcfg = validateLoraConfig({ rank: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'o_proj', 'down_proj'], dropout: 0 });
      const lora = LoraAdapter.init(lcfg, cfg, rng.fork('lora'));
      for (const p of lora.parameters()) if (p.name.endsWith('lora_B')) for (let i = 0; i < p.size; i++) p.data[i] = rng.normal() * 0.1;
      const adapterDir = path.join(tmp, `${arch}-adapter`);
      lora.savePeft(adapterDir, cfg, null);

      const out = path.join(tmp, `${arch}-merged`);
      const r = exportMerged({ adapterDir, modelDir: baseDir, outDir: out });
      expect(r.files).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
      expect(r.mergedProjections).toBe(2 * 4);
      expect(fs.readFileSync(path.join(out, 'tokenizer.json'), 'utf8')).toBe(fs.readFileSync(path.join(baseDir, 'tokenizer.json'), 'utf8'));
      expect(fs.readdirSync(tmp).filter((f) => f.startsWith('.'))).toEqual([]); // no temp folder left

      const merged = loadLlama(out).model;
      expect(merged.config).toEqual(cfg);
      const B = 2,
        T = 7;
      const ids = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocabSize));
      const plain = model.forward(null, { ids, B, T }).logits.data;
      const withAdapter = model.forward(null, { ids, B, T }, { adapter: lora }).logits.data;
      const folded = merged.forward(null, { ids, B, T }).logits.data;
      expect(maxRel(folded, withAdapter)).toBeLessThan(1e-5);
      expect(maxRel(plain, withAdapter)).toBeGreaterThan(1e-3); // the adapter does change the model
    });
  }

  it('refuses an existing output (unless replace) and writes nothing when the adapter does not fit', () => {
    const cfg = validateLlamaConfig(
      {
        hiddenSize: 16,
        numLayers: 1,
        numHeads: 2,
        numKvHeads: 2,
        intermediateSize: 24,
        vocabSize: 20,
        maxPositionEmbeddings: 16,
        ropeTheta: 10000,
        rmsNormEps: 1e-5,
        tieWordEmbeddings: true,
      },
      't',
    );
    const rng = new Rng(2);
    const baseDir = path.join(tmp, 'small-base');
    saveLlama(baseDir, LlamaModel.init(cfg, rng));
    const lcfg = validateLoraConfig({ rank: 2, alpha: 2, targetModules: ['q_proj'], dropout: 0 });
    const adapterDir = path.join(tmp, 'small-adapter');
    LoraAdapter.init(lcfg, cfg, rng).savePeft(adapterDir, cfg, null);
    const out = path.join(tmp, 'small-merged');
    fs.mkdirSync(out);
    expect(() => exportMerged({ adapterDir, modelDir: baseDir, outDir: out })).toThrow(/already exists/);
    exportMerged({ adapterDir, modelDir: baseDir, outDir: out, replace: true });
    expect(fs.existsSync(path.join(out, 'model.safetensors'))).toBe(true);

    const wider = validateLlamaConfig({ ...cfg, hiddenSize: 32 }, 'wider');
    const wrongAdapter = path.join(tmp, 'wrong-adapter');
    LoraAdapter.init(lcfg, wider, rng).savePeft(wrongAdapter, wider, null);
    const out2 = path.join(tmp, 'never-written');
    expect(() => exportMerged({ adapterDir: wrongAdapter, modelDir: baseDir, outDir: out2 })).toThrow(
      /q_proj\.lora_A\.weight is \[2, 32\]/,
    );
    expect(fs.existsSync(out2)).toBe(false);
  });
});
