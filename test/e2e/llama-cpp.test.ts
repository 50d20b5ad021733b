// A real llama.cpp loader (node-llama-cpp's prebuilt binaries) reads our GGUF exports: the shipped
// base model, and the base with a LoRA adapter GGUF, give the same greedy tokens as our engine on
// the same token ids. Tokens are fed as ids: our pre-tokenizer regex is not one of llama.cpp's, so
// text tokenisation may differ and is not what this test is about.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateLoraConfig } from '../../src/adapters/lora/config.js';
import { exportGgufAdapter } from '../../src/adapters/lora/gguf.js';
import { LoraAdapter } from '../../src/adapters/lora/layer.js';
import { exportGgufBase } from '../../src/model/llama/gguf.js';
import { validateLlamaConfig } from '../../src/model/llama/config.js';
import { LlamaModel } from '../../src/model/llama/model.js';
import { saveLlama } from '../../src/model/llama/io.js';
import { loadLlama } from '../../src/model/llama/io.js';
import { generateGreedy } from '../../src/model/llama/generate.js';
import { defaultModelDir } from '../../src/model/default-model.js';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';
import { Rng } from '../../src/util/rng.js';
import { requiredTool } from '../support/required-tool.js';

function hasLoader(): boolean {
  try {
    createRequire(import.meta.url).resolve('node-llama-cpp');
    return true;
  } catch {
    return false;
  }
}
const loader = hasLoader();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c2l-llamacpp-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const PROMPTS = [
  'def test_parse_args():\n    args = parse(["--x", "1"])\n    assert args.x ==',
  'import os\n\n\ndef main():\n    path = os.path.',
  'class Stack:\n    def push(self, item):\n        self.',
];
const NEW = 12;

describe('llama.cpp loads our GGUF exports', () => {
  requiredTool('node-llama-cpp (a llama.cpp loader)', loader, 'npm install (it is a devDependency with prebuilt binaries)');
  it.skipIf(!loader)('base and base + LoRA adapter: same greedy tokens as our engine, fed the same ids', { timeout: 120_000 }, async () => {
    const modelDir = defaultModelDir();
    const { model } = loadLlama(modelDir);
    const tok = loadTokenizer(path.join(modelDir, 'tokenizer.json'));
    const basePath = path.join(tmp, 'base.gguf');
    exportGgufBase({ modelDir, out: basePath });
    const rng = new Rng(5);
    const lcfg = validateLoraConfig({
      rank: 8,
      alpha: 16,
      targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      dropout: 0,
    });
    const lora = LoraAdapter.init(lcfg, model.config, rng.fork('lora'));
    for (const p of lora.parameters()) if (p.name.endsWith('lora_B')) for (let i = 0; i < p.size; i++) p.data[i] = rng.normal() * 0.02;
    const adapterDir = path.join(tmp, 'adapter');
    lora.savePeft(adapterDir, model.config, null);
    const adapterPath = path.join(tmp, 'adapter.gguf');
    exportGgufAdapter({ adapterDir, modelDir, out: adapterPath });

    const prompts = PROMPTS.map((p) => tok.encode(p));
    const ours = (adapter: LoraAdapter | null) =>
      prompts.map((p) => generateGreedy(model, [p], { maxNewTokens: NEW, adapter }).map((g) => g.ids)[0]);
    const oursBase = ours(null);
    const oursLora = ours(lora);
    expect(oursLora, 'the adapter changes the greedy tokens').not.toEqual(oursBase);

    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    const gmodel = await llama.loadModel({ modelPath: basePath });
    const theirs = async (lora: boolean): Promise<number[][]> => {
      const out: number[][] = [];
      for (const p of prompts) {
        const ctx = await gmodel.createContext({
          contextSize: 128,
          threads: 1,
          ...(lora ? { lora: { adapters: [{ filePath: adapterPath }] } } : {}),
        });
        const seq = ctx.getSequence();
        const got: number[] = [];
        for await (const t of seq.evaluate(p as never, { temperature: 0 })) {
          got.push(t as number);
          if (got.length >= NEW) break;
        }
        out.push(got);
        await ctx.dispose();
      }
      return out;
    };
    // Informative only: does llama.cpp's gpt2 pre-tokenizer split our text the same way?
    const sameText = PROMPTS.filter((p, i) => JSON.stringify(gmodel.tokenize(p)) === JSON.stringify(prompts[i])).length;
    console.log(`llama.cpp tokenises ${sameText} of ${PROMPTS.length} prompts as our tokenizer does`);
    const theirsBase = await theirs(false);
    const theirsLora = await theirs(true);
    await gmodel.dispose();
    console.log(`llama.cpp vs ours, base: ${JSON.stringify(theirsBase)} / ${JSON.stringify(oursBase)}`);
    console.log(`llama.cpp vs ours, lora: ${JSON.stringify(theirsLora)} / ${JSON.stringify(oursLora)}`);
    expect(theirsBase).toEqual(oursBase);
    expect(theirsLora).toEqual(oursLora);
  });
  it.skipIf(!loader)(
    'random qwen2 (biases) and qwen3 (q/k norms, head_dim 32 != 64/4) models: same greedy tokens',
    { timeout: 120_000 },
    async () => {
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
      const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
      const tokJson = fs.readFileSync(path.join(defaultModelDir(), 'tokenizer.json'), 'utf8');
      for (const arch of ['qwen2', 'qwen3'] as const) {
        const cfg = validateLlamaConfig(
          {
            architecture: arch,
            hiddenSize: 64,
            numLayers: 2,
            numHeads: 4,
            numKvHeads: 2,
            ...(arch === 'qwen3' ? { headDim: 32 } : {}),
            intermediateSize: 128,
            vocabSize: 4096,
            maxPositionEmbeddings: 256,
            ropeTheta: 10000,
            rmsNormEps: 1e-6,
            tieWordEmbeddings: arch === 'qwen3',
            eosTokenId: 0,
          },
          arch,
        );
        const rng = new Rng(3);
        const m = LlamaModel.init(cfg, rng);
        // Large random weights (clear argmax margins), random biases and head norms.
        for (const t of m.params.values()) {
          if (t.name.endsWith('.bias')) for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * 0.5;
          else if (/self_attn\.[qk]_norm\.weight$/.test(t.name)) for (let i = 0; i < t.size; i++) t.data[i] = 1 + rng.normal() * 0.3;
          else if (!t.name.endsWith('norm.weight')) for (let i = 0; i < t.size; i++) t.data[i] *= 20;
        }
        const dir = path.join(tmp, arch);
        saveLlama(dir, m, { tokenizerJson: tokJson });
        exportGgufBase({ modelDir: dir, out: `${dir}.gguf` });
        const prompts = [
          [5, 99, 300, 7, 1000],
          [42, 43, 44],
        ];
        const ours = prompts.map((p) => generateGreedy(m, [p], { maxNewTokens: 8 })[0].ids);
        const gm = await llama.loadModel({ modelPath: `${dir}.gguf` });
        const theirs: number[][] = [];
        for (const p of prompts) {
          const ctx = await gm.createContext({ contextSize: 64, threads: 1 });
          const got: number[] = [];
          for await (const t of ctx.getSequence().evaluate(p as never, { temperature: 0 })) {
            got.push(t as number);
            if (got.length >= 8) break;
          }
          theirs.push(got);
          await ctx.dispose();
        }
        await gm.dispose();
        expect(theirs, arch).toEqual(ours);
      }
    },
  );
});
