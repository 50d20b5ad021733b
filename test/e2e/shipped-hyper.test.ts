// The shipped hypernetwork models/code2lora-hyper: its head matches the recorded SHA-256, it was
// trained for the shipped base (loading checks the base's hash), and `adapt` on the example
// repository gives a finite adapter that changes the base's predictions.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultHyperDir } from '../../src/adapters/hyper/default-hyper.js';
import { adaptRepository, loadHyperStack } from '../../src/adapters/hyper/adapt.js';
import { repoRoot } from '../../src/util/repo-root.js';

const dir = defaultHyperDir();

describe('shipped hypernetwork models/code2lora-hyper', () => {
  it('exists with its spec, head, training record and checksums', () => {
    for (const f of ['hyper.json', 'head.safetensors', 'SHA256SUMS', 'training.json', 'README.md'])
      expect(existsSync(join(dir, f)), f).toBe(true);
    const sums = readFileSync(join(dir, 'SHA256SUMS'), 'utf8');
    const line = sums.split('\n').find((l) => l.endsWith('  head.safetensors'));
    expect(line, 'SHA256SUMS lists head.safetensors').toBeDefined();
    expect(
      createHash('sha256')
        .update(readFileSync(join(dir, 'head.safetensors')))
        .digest('hex'),
    ).toBe(line!.split(' ')[0]);
  });

  it('loads for the shipped base and adapts the example repository', async () => {
    const stack = loadHyperStack();
    const r = await adaptRepository(stack, join(repoRoot(), 'examples', 'textkit'), null);
    expect(r.embedding.files).toBe(3);
    expect(r.adapter.weights.size).toBe(7);
    // the adapter changes the logits of the base (a silent no-op adapter is a known failure)
    const ids = stack.tokenizer.encode('def test_spaces():\n    assert slugify("Hello World") == ');
    const batch = { ids: Int32Array.from(ids), B: 1, T: ids.length };
    const base = stack.model.forward(null, batch, { lastOnly: true }).logits.data;
    const adapted = stack.model.forward(null, batch, { lastOnly: true, adapter: r.adapter }).logits.data;
    let diff = 0;
    for (let i = 0; i < base.length; i++) diff = Math.max(diff, Math.abs(base[i] - adapted[i]));
    expect(diff).toBeGreaterThan(1e-3);
  });
});
