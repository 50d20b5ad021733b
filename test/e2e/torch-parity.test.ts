// Parity with PyTorch: the same random Llama (GQA, untied head, left padding, LoRA on all seven
// projections) built from one safetensors file in both frameworks; logits, loss and LoRA gradients
// must agree to a relative error under 1e-4. Run for each architecture: llama, qwen2 (random q/k/v
// biases) and qwen3 (random q/k norm weights, head_dim different from hidden / heads).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTorchPython, torchScript } from '../../src/bench/torch-peer.js';
import { readSafetensors, writeSafetensors, floatData, type TensorToWrite } from '../../src/formats/safetensors.js';
import { validateLlamaConfig, type LlamaArchitecture } from '../../src/model/llama/config.js';
import { LlamaModel } from '../../src/model/llama/model.js';
import { saveLlama, loadLlama } from '../../src/model/llama/io.js';
import { LoraAdapter } from '../../src/adapters/lora/layer.js';
import { validateLoraConfig } from '../../src/adapters/lora/config.js';
import { Tape, crossEntropy } from '../../src/tensor/index.js';
import { Rng } from '../../src/util/rng.js';
import { requiredTool } from '../support/required-tool.js';

const python = findTorchPython();
const root = mkdtempSync(join(tmpdir(), 'c2l-parity-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

describe('parity with PyTorch 1.13', () => {
  requiredTool('PyTorch (python3 -c "import torch")', python !== null, 'apt-get install python3-torch (scripts/setup does)');
  for (const arch of ['llama', 'qwen2', 'qwen3'] as const) {
    it.skipIf(!python)(`${arch}: logits, loss and LoRA gradients agree (relative error < 1e-4)`, () => parityCase(arch));
  }
});

function parityCase(arch: LlamaArchitecture): void {
  {
    const dir = join(root, arch);
    const cfg = validateLlamaConfig(
      {
        architecture: arch,
        ...(arch === 'qwen3' ? { headDim: 24 } : {}),
        hiddenSize: 64,
        numLayers: 2,
        numHeads: 4,
        numKvHeads: 2,
        intermediateSize: 160,
        vocabSize: 97,
        maxPositionEmbeddings: 64,
        ropeTheta: 10000,
        rmsNormEps: 1e-5,
        tieWordEmbeddings: false,
      },
      'parity',
    );
    const rng = new Rng(11);
    const built = LlamaModel.init(cfg, rng.fork('init'));
    // Larger-than-init weights so the comparison is not dominated by tiny values.
    for (const t of built.params.values()) if (!t.name.endsWith('norm.weight')) for (let i = 0; i < t.size; i++) t.data[i] *= 4;
    // Biases start at zero and norms at one: give them random values so the comparison sees them.
    for (const t of built.params.values()) {
      if (t.name.endsWith('.bias')) for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * 0.5;
      if (/\.(q|k)_norm\.weight$/.test(t.name)) for (let i = 0; i < t.size; i++) t.data[i] = 1 + rng.normal() * 0.3;
    }
    saveLlama(dir, built);
    const { model } = loadLlama(dir); // both sides read the same file
    const lcfg = validateLoraConfig({
      rank: 4,
      alpha: 8,
      targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      dropout: 0,
    });
    const lora = LoraAdapter.init(lcfg, cfg, rng.fork('lora'));
    for (const p of lora.parameters()) if (p.name.endsWith('lora_B')) for (let i = 0; i < p.size; i++) p.data[i] = rng.normal() * 0.05;

    const B = 3,
      T = 12;
    const ids = new Int32Array(B * T),
      mask = new Uint8Array(B * T),
      targets = new Int32Array(B * T).fill(-1);
    const pads = [0, 3, 7];
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++) {
        const real = t >= pads[b];
        ids[b * T + t] = real ? rng.int(cfg.vocabSize) : 0;
        mask[b * T + t] = real ? 1 : 0;
        if (real && t >= pads[b] + 2) targets[b * T + t] = rng.int(cfg.vocabSize); // prefix positions masked
      }
    const inputs = new Map<string, TensorToWrite>([
      ['ids', { shape: [B, T], data: ids, dtype: 'I32' }],
      ['mask', { shape: [B, T], data: Int32Array.from(mask), dtype: 'I32' }],
      ['targets', { shape: [B, T], data: targets, dtype: 'I32' }],
    ]);
    for (const [key, p] of lora.weights) {
      inputs.set(`${key}.A`, { shape: p.A.shape, data: p.A.data as Float32Array });
      inputs.set(`${key}.B`, { shape: p.B.shape, data: p.B.data as Float32Array });
    }
    writeSafetensors(join(dir, 'inputs.safetensors'), inputs);
    writeFileSync(join(dir, 'lora.json'), JSON.stringify({ keys: [...lora.weights.keys()], rank: lcfg.rank, alpha: lcfg.alpha }));
    const r = spawnSync(python!, [torchScript(), 'parity', dir, join(dir, 'torch.safetensors')], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const ref = readSafetensors(join(dir, 'torch.safetensors')).tensors;
    const get = (k: string) => floatData(ref.get(k)!, k, 'torch.safetensors');

    const tape = new Tape();
    const { logits } = model.forward(tape, { ids, B, T, mask }, { adapter: lora });
    const { loss } = crossEntropy(tape, logits, targets);
    tape.backward(loss);
    // Padded query rows are zeroed in both; compare everything.
    const logitsErr = relError(logits.data, get('logits'));
    const lossErr = Math.abs(loss.data[0] - get('loss')[0]) / Math.abs(get('loss')[0]);
    expect(logitsErr).toBeLessThan(1e-4);
    expect(lossErr).toBeLessThan(1e-4);
    let worst = 0,
      worstName = '';
    for (const [key, p] of lora.weights) {
      for (const [which, t] of [
        ['A', p.A],
        ['B', p.B],
      ] as const) {
        const e = relError(t.grad!, get(`${key}.${which}.grad`));
        if (e > worst) {
          worst = e;
          worstName = `${key}.${which}`;
        }
      }
    }
    console.log(
      `parity vs PyTorch (${arch}): logits ${logitsErr.toExponential(2)}, loss ${lossErr.toExponential(2)}, worst LoRA grad ${worst.toExponential(2)} (${worstName})`,
    );
    expect(worst, `worst LoRA gradient: ${worstName}`).toBeLessThan(1e-4);
  }
}
