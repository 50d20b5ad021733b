// The demo runs end to end (base training, LoRA stage, PEFT round trip) and learns.
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDemo } from './demo.js';

describe('demo', () => {
  it('trains, adapts, saves HF + PEFT directories, and its loss falls', () => {
    const out = mkdtempSync(join(tmpdir(), 'c2l-demo-'));
    try {
      const lines: string[] = [];
      const r = runDemo({ steps: 40, loraSteps: 10, seed: 0, out, log: (s) => lines.push(s) });
      expect(r.lastLoss).toBeLessThan(r.firstLoss * 0.6);
      expect(existsSync(join(out, 'base', 'model.safetensors'))).toBe(true);
      expect(existsSync(join(out, 'adapter', 'adapter_config.json'))).toBe(true);
      expect(lines.some((l) => l.startsWith('completion, PEFT adapter:'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
