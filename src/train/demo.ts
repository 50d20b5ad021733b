// A tiny end-to-end run: byte-level model, a few hundred tokens of Python, greedy completion.
import { validateLlamaConfig } from '../model/llama/config.js';
import { LlamaModel } from '../model/llama/model.js';
import { generateGreedy } from '../model/llama/generate.js';
import { saveLlama } from '../model/llama/io.js';
import { BYTE_EOS, BYTE_VOCAB, decodeBytes, encodeBytes } from '../tokenizer/bytes.js';
import { Rng } from '../util/rng.js';
import { trainLoop } from './loop.js';

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

export interface DemoOptions { steps: number; seed: number; out?: string; log: (s: string) => void }

export function runDemo(o: DemoOptions): { firstLoss: number; lastLoss: number; completion: string } {
  const config = validateLlamaConfig({
    hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 192, vocabSize: BYTE_VOCAB,
    maxPositionEmbeddings: 512, ropeTheta: 10000, rmsNormEps: 1e-5, tieWordEmbeddings: true, eosTokenId: BYTE_EOS,
  }, 'demo');
  const rng = new Rng(o.seed);
  const model = LlamaModel.init(config, rng.fork('init'));
  model.setTrainable(true);
  const data = [...encodeBytes(SNIPPET), BYTE_EOS];
  const B = 8, T = 64;
  o.log(`demo: ${model.params.size} tensors, ${[...model.params.values()].reduce((s, t) => s + t.size, 0)} parameters, ${data.length} training bytes`);
  const t0 = performance.now();
  const { losses } = trainLoop(new Map(model.params), {
    steps: o.steps, accumulation: 1, lr: 3e-3, minLr: 3e-4, warmupSteps: Math.ceil(o.steps / 10), clip: 1,
    adamw: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 }, seed: o.seed, checkpointEvery: 0,
  }, {
    microStep(tape, r) {
      const ids = new Int32Array(B * T), targets = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        const s = r.int(data.length - T - 1);
        for (let t = 0; t < T; t++) { ids[b * T + t] = data[s + t]; targets[b * T + t] = data[s + t + 1]; }
      }
      return { loss: model.loss(tape, { ids, B, T }, targets).loss, tokens: B * T };
    },
    onStep(i) { if (i.step % 10 === 0 || i.step === 1) o.log(`step ${i.step} loss ${i.loss.toFixed(3)} lr ${i.lr.toExponential(2)} ${Math.round(i.tokens / i.seconds)} tok/s`); },
  });
  const seconds = (performance.now() - t0) / 1000;
  const prompt = 'def test_add():\n    assert add(1, 2) == ';
  const [g] = generateGreedy(model, [encodeBytes(prompt)], {
    maxNewTokens: 24, eosId: BYTE_EOS, stopStrings: ['\n'], decode: decodeBytes,
  });
  o.log(`trained ${o.steps} steps in ${seconds.toFixed(1)} s; loss ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)}`);
  o.log(`prompt:     ${JSON.stringify(prompt)}`);
  o.log(`completion: ${JSON.stringify(g.text)}`);
  if (o.out) { saveLlama(o.out, model); o.log(`saved model to ${o.out}`); }
  return { firstLoss: losses[0], lastLoss: losses[losses.length - 1], completion: g.text ?? '' };
}
