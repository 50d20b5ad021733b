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
});
