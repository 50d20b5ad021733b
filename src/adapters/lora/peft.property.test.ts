// Property test: adapter_config.json is untrusted. A valid PEFT config with any field replaced (or
// added) by an arbitrary JSON value either gives a LoraConfig that is sound (positive integer rank,
// finite alpha, known target modules, dropout in [0, 1)), or is refused with an Error naming the file.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LLAMA_PROJECTIONS } from '../../model/llama/weights.js';
import { loraConfigFromPeft, peftConfigJson } from './peft.js';
import { defaultLoraConfig } from './config.js';

const SOURCE = 'fuzz/adapter_config.json';
const valid = peftConfigJson(defaultLoraConfig(), 'models/code2lora-base');
const KEYS = [...Object.keys(valid), 'use_dora', 'use_rslora', 'rank_pattern', 'fan_in_fan_out', 'extra_field'];

describe('PEFT adapter_config.json on damaged files', () => {
  it('any field replaced by any JSON value: a sound config or a named refusal', () => {
    fc.assert(
      fc.property(fc.constantFrom(...KEYS), fc.jsonValue({ maxDepth: 2 }), (key, value) => {
        let r;
        try {
          r = loraConfigFromPeft({ ...valid, [key]: value }, SOURCE);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          expect((err as Error).message, key).toContain(SOURCE);
          return;
        }
        const c = r.config;
        expect(Number.isInteger(c.rank) && c.rank > 0, `${key}: rank ${c.rank}`).toBe(true);
        expect(Number.isFinite(c.alpha), `${key}: alpha ${c.alpha}`).toBe(true);
        expect(c.dropout >= 0 && c.dropout < 1, `${key}: dropout ${c.dropout}`).toBe(true);
        expect(c.targetModules.length).toBeGreaterThan(0);
        for (const m of c.targetModules) expect(LLAMA_PROJECTIONS).toContain(m);
      }),
      { numRuns: 500 },
    );
  });

  it('a non-object root is refused', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.jsonValue())), (v) => {
        expect(() => loraConfigFromPeft(v, SOURCE)).toThrow(SOURCE);
      }),
      { numRuns: 100 },
    );
  });
});
