// The shipped Evo checkpoint models/code2lora-evo: its files match SHA256SUMS, it loads for the shipped
// base (loading checks the base's hash and both weight digests), and a state built from the example
// repository moves with a diff into a different, finite adapter.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvoNetwork } from '../../src/adapters/hyper/evo.js';
import { decodeState, evoApplyDiff, evoInit } from '../../src/adapters/hyper/evo-state.js';
import { modelFileSha256 } from '../../src/adapters/hyper/hypernet.js';
import { loadModelWithTokenizer } from '../../src/eval/prompting.js';
import { repoRoot } from '../../src/util/repo-root.js';

const dir = join(repoRoot(), 'models', 'code2lora-evo');

describe('shipped Evo checkpoint models/code2lora-evo', () => {
  it('exists with its spec, weights, training record and checksums', () => {
    for (const f of ['evo.json', 'evo.safetensors', 'head.safetensors', 'SHA256SUMS', 'training.json', 'README.md'])
      expect(existsSync(join(dir, f)), f).toBe(true);
    const sums = readFileSync(join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n');
    expect(sums.length).toBe(3);
    for (const line of sums) {
      const [sha, name] = line.split('  ');
      expect(
        createHash('sha256')
          .update(readFileSync(join(dir, name)))
          .digest('hex'),
        name,
      ).toBe(sha);
    }
  });

  it('loads for the shipped base; a diff moves the example repository state to another finite adapter', async () => {
    const { dir: modelDir, model, tokenizer } = loadModelWithTokenizer();
    const net = EvoNetwork.load(dir, model, tokenizer, modelFileSha256(modelDir));
    const { state } = await evoInit(net, join(repoRoot(), 'examples', 'textkit'), dir, null);
    expect(state.stateDim).toBe(512);
    const diff = [
      'diff --git a/textkit/words.py b/textkit/words.py',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/textkit/words.py',
      '@@ -0,0 +1,3 @@',
      '+def count_words(text):',
      '+    return len(text.split())',
      '+',
      '',
    ].join('\n');
    const next = evoApplyDiff(net, state, diff, null);
    expect(next.steps).toBe(state.steps + 1);
    expect(next.adapterSha256).not.toBe(state.adapterSha256);
    expect(decodeState(next).every(Number.isFinite)).toBe(true);
  }, 60_000);
});
