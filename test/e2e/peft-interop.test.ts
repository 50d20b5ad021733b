// PEFT interop: an adapter directory we write, read back by the PyTorch twin exactly as PEFT reads
// one (base_model.model.* names, adapter_config.json's r / lora_alpha / target_modules /
// rank_pattern / fan_in_fan_out), changes the logits, and the twin's adapted logits equal ours.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findTorchPython, torchScript } from '../../src/bench/torch-peer.js';
import { floatData, readSafetensors, writeSafetensors } from '../../src/formats/safetensors.js';
import { validateLlamaConfig } from '../../src/model/llama/config.js';
import { LlamaModel } from '../../src/model/llama/model.js';
import { saveLlama } from '../../src/model/llama/io.js';
import { LoraAdapter } from '../../src/adapters/lora/layer.js';
import { validateLoraConfig } from '../../src/adapters/lora/config.js';
import { Rng } from '../../src/util/rng.js';
import { requiredTool } from '../support/required-tool.js';

const python = findTorchPython();
const dir = mkdtempSync(join(tmpdir(), 'c2l-peft-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

describe('PEFT adapter directories in PyTorch', () => {
  requiredTool('PyTorch (python3 -c "import torch")', python !== null, 'apt-get install python3-torch (scripts/setup does)');
  it.skipIf(!python)('the twin reads our adapter as PEFT does: it changes the logits, and adapted logits equal ours', () => {
    const cfg = validateLlamaConfig(
      {
        architecture: 'qwen2',
        hiddenSize: 32,
        numLayers: 2,
        numHeads: 4,
        numKvHeads: 2,
        intermediateSize: 48,
        vocabSize: 61,
        maxPositionEmbeddings: 64,
        ropeTheta: 10000,
        rmsNormEps: 1e-6,
        tieWordEmbeddings: true,
      },
      'peft interop',
    );
    const rng = new Rng(41);
    const model = LlamaModel.init(cfg, rng.fork('init'));
    for (const t of model.params.values()) if (t.name.endsWith('.bias')) for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * 0.3;
    saveLlama(join(dir, 'model'), model);
    const lcfg = validateLoraConfig({
      rank: 4,
      alpha: 16,
      targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      dropout: 0,
    });
    const lora = LoraAdapter.init(lcfg, cfg, rng.fork('lora'));
    for (const p of lora.parameters()) if (p.name.endsWith('lora_B')) for (let i = 0; i < p.size; i++) p.data[i] = rng.normal() * 0.05;
    lora.savePeft(join(dir, 'adapter'), cfg, 'code2lora-test-base');

    const B = 2,
      T = 9;
    const ids = Int32Array.from({ length: B * T }, () => rng.int(cfg.vocabSize));
    const mask = Uint8Array.from({ length: B * T }, (_, i) => (i < 3 ? 0 : 1)); // first sequence left-padded
    writeSafetensors(
      join(dir, 'inputs.safetensors'),
      new Map([
        ['ids', { shape: [B, T], data: ids, dtype: 'I32' as const }],
        ['mask', { shape: [B, T], data: Int32Array.from(mask), dtype: 'I32' as const }],
      ]),
    );
    const out = join(dir, 'torch.safetensors');
    const r = spawnSync(python!, [torchScript(), 'peft', join(dir, 'model'), join(dir, 'adapter'), join(dir, 'inputs.safetensors'), out], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const ref = readSafetensors(out).tensors;
    const theirs = floatData(ref.get('logits')!, 'logits', out);
    const theirsBase = floatData(ref.get('base_logits')!, 'base_logits', out);
    const ours = model.forward(null, { ids, B, T, mask }, { adapter: lora }).logits.data;
    const change = relError(theirsBase, theirs);
    const err = relError(ours, theirs);
    console.log(
      `PEFT-style load in PyTorch: adapter changes logits by ${change.toExponential(2)} (relative); ours vs twin ${err.toExponential(2)}`,
    );
    expect(change).toBeGreaterThan(1e-2);
    expect(err).toBeLessThan(1e-4);
  });
});
