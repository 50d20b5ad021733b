// A tiny end-to-end run: byte-level model, a few hundred tokens of Python, greedy completion.
import { validateLlamaConfig } from '../model/llama/config.js';
import { LlamaModel } from '../model/llama/model.js';
import { generateGreedy } from '../model/llama/generate.js';
import { saveLlama } from '../model/llama/io.js';
import { BYTE_EOS, BYTE_VOCAB, decodeBytes, encodeBytes } from '../tokenizer/bytes.js';
import { Rng } from '../util/rng.js';
import { trainLoop } from './loop.js';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { defaultLoraConfig, validateLoraConfig } from '../adapters/lora/config.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SNIPPET = `def add(a, b):
    return a + b


def test_add():
    assert add(1, 2) == 3
    assert add(-1, 1) == 0
    assert add(2, 2) == 4


class TestAdd:
    def test_zero(self):
        assert add(0, 0) == 0
`;

// The "repository" the LoRA adapter specialises to: same shapes, different semantics.
const REPO_SNIPPET = `def mul(a, b):
    return a * b


def test_mul():
    assert mul(2, 3) == 6
    assert mul(-1, 1) == -1
    assert mul(2, 2) == 4


class TestMul:
    def test_zero(self):
        assert mul(0, 5) == 0
`;

export interface DemoOptions {
  steps: number;
  loraSteps: number;
  seed: number;
  out?: string;
  log: (s: string) => void;
}

function windows(data: number[], B: number, T: number, r: Rng) {
  const ids = new Int32Array(B * T),
    targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const s = r.int(data.length - T - 1);
    for (let t = 0; t < T; t++) {
      ids[b * T + t] = data[s + t];
      targets[b * T + t] = data[s + t + 1];
    }
  }
  return { ids, targets };
}

export function runDemo(o: DemoOptions): { firstLoss: number; lastLoss: number; completion: string } {
  const config = validateLlamaConfig(
    {
      hiddenSize: 64,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 2,
      intermediateSize: 192,
      vocabSize: BYTE_VOCAB,
      maxPositionEmbeddings: 512,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
      tieWordEmbeddings: true,
      eosTokenId: BYTE_EOS,
    },
    'demo',
  );
  const rng = new Rng(o.seed);
  const model = LlamaModel.init(config, rng.fork('init'));
  model.setTrainable(true);
  const data = [...encodeBytes(SNIPPET), BYTE_EOS];
  const B = 8,
    T = 64;
  o.log(
    `demo: ${model.params.size} tensors, ${[...model.params.values()].reduce((s, t) => s + t.size, 0)} parameters, ${data.length} training bytes`,
  );
  const t0 = performance.now();
  const { losses } = trainLoop(
    new Map(model.params),
    {
      steps: o.steps,
      accumulation: 1,
      lr: 3e-3,
      minLr: 3e-4,
      warmupSteps: Math.ceil(o.steps / 10),
      clip: 1,
      adamw: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 },
      seed: o.seed,
      checkpointEvery: 0,
    },
    {
      microStep(tape, r) {
        const { ids, targets } = windows(data, B, T, r);
        return { loss: model.loss(tape, { ids, B, T }, targets).loss, tokens: B * T };
      },
      onStep(i) {
        if (i.step % 10 === 0 || i.step === 1)
          o.log(`step ${i.step} loss ${i.loss.toFixed(3)} lr ${i.lr.toExponential(2)} ${Math.round(i.tokens / i.seconds)} tok/s`);
      },
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  const prompt = 'def test_add():\n    assert add(1, 2) == ';
  const [g] = generateGreedy(model, [encodeBytes(prompt)], {
    maxNewTokens: 24,
    eosId: BYTE_EOS,
    stopStrings: ['\n'],
    decode: decodeBytes,
  });
  o.log(`trained ${o.steps} steps in ${seconds.toFixed(1)} s; loss ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)}`);
  o.log(`prompt:     ${JSON.stringify(prompt)}`);
  o.log(`completion: ${JSON.stringify(g.text)}`);

  // Stage 2: freeze the base, train a LoRA adapter on the "repository" snippet, save it as PEFT,
  // load it back and complete a prompt with and without it.
  model.setTrainable(false);
  const loraConfig = validateLoraConfig({ ...defaultLoraConfig(), rank: 4, alpha: 8 });
  const lora = LoraAdapter.init(loraConfig, config, rng.fork('lora'));
  const repo = [...encodeBytes(REPO_SNIPPET), BYTE_EOS];
  const loraParams = new Map(lora.parameters().map((p) => [p.name, p]));
  const { losses: loraLosses } = trainLoop(
    loraParams,
    {
      steps: o.loraSteps,
      accumulation: 1,
      lr: 1e-2,
      minLr: 1e-3,
      warmupSteps: Math.ceil(o.loraSteps / 10),
      clip: 1,
      adamw: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 },
      seed: o.seed + 1,
      checkpointEvery: 0,
    },
    {
      microStep(tape, r) {
        const { ids, targets } = windows(repo, B, T, r);
        return { loss: model.loss(tape, { ids, B, T }, targets, lora).loss, tokens: B * T };
      },
    },
  );
  o.log(
    `LoRA (r=${loraConfig.rank}, base frozen): ${o.loraSteps} steps, loss ${loraLosses[0].toFixed(3)} -> ${loraLosses[loraLosses.length - 1].toFixed(3)}`,
  );
  const adapterDir = mkdtempSync(join(tmpdir(), 'code2lora-demo-'));
  lora.savePeft(adapterDir, config, 'code2lora-demo');
  const reloaded = LoraAdapter.loadPeft(adapterDir, config);
  rmSync(adapterDir, { recursive: true, force: true });
  const repoPrompt = 'def test_mul():\n    assert mul(2, 3) == ';
  const complete = (adapter: LoraAdapter | null) =>
    generateGreedy(model, [encodeBytes(repoPrompt)], {
      maxNewTokens: 24,
      eosId: BYTE_EOS,
      stopStrings: ['\n'],
      decode: decodeBytes,
      adapter,
    })[0].text ?? '';
  o.log(`prompt:                     ${JSON.stringify(repoPrompt)}`);
  o.log(`completion, base model:     ${JSON.stringify(complete(null))}`);
  o.log(`completion, PEFT adapter:   ${JSON.stringify(complete(reloaded))}`);
  if (o.out) {
    saveLlama(join(o.out, 'base'), model);
    lora.savePeft(join(o.out, 'adapter'), config, 'code2lora-demo');
    o.log(`saved the model (Hugging Face format) to ${join(o.out, 'base')} and the adapter (PEFT) to ${join(o.out, 'adapter')}`);
  }
  return { firstLoss: losses[0], lastLoss: losses[losses.length - 1], completion: g.text ?? '' };
}
