// The shipped base model (and the next version's candidate, models/code2lora-base-v3, until it
// replaces it): weights match the recorded SHA256, they load through the Hugging Face path, and greedy
// completion is deterministic and equal to the completion recorded at training time.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultModelDir } from '../../src/model/default-model.js';
import { completeText } from '../../src/eval/complete.js';
import { repoRoot } from '../../src/util/repo-root.js';

const candidate = join(repoRoot(), 'models', 'code2lora-base-v3');
const dirs: Array<[string, string]> = [['models/code2lora-base', defaultModelDir()]];
if (existsSync(candidate)) dirs.push(['models/code2lora-base-v3 (candidate)', candidate]);

describe.each(dirs)('shipped model %s', (_name, dir) => {
  it('exists with config, weights, tokenizer, loss curve and training record', () => {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'SHA256SUMS', 'training.json', 'loss-curve.svg', 'README.md']) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
  });

  it('weights match the recorded SHA256', () => {
    const sums = readFileSync(join(dir, 'SHA256SUMS'), 'utf8');
    const line = sums.split('\n').find((l) => l.endsWith('  model.safetensors'));
    expect(line, 'SHA256SUMS lists model.safetensors').toBeDefined();
    const actual = createHash('sha256')
      .update(readFileSync(join(dir, 'model.safetensors')))
      .digest('hex');
    expect(actual).toBe(line!.split(' ')[0]);
  });

  it('completes deterministically, as recorded', () => {
    const prompt = readFileSync(join(repoRoot(), 'examples', 'test_prompt.py'), 'utf8');
    const a = completeText({ modelDir: dir, prompt, maxNewTokens: 32, stopStrings: ['\n'] });
    const b = completeText({ modelDir: dir, prompt, maxNewTokens: 32, stopStrings: ['\n'] });
    expect(b.completion).toBe(a.completion);
    const recorded = JSON.parse(readFileSync(join(dir, 'example-completion.json'), 'utf8')) as { completion: string };
    expect(a.completion).toBe(recorded.completion);
  });
});
