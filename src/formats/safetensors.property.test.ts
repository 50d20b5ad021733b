// Property tests: safetensors bytes are untrusted. Whatever the bytes (random, or a valid file with
// bytes flipped or cut), parsing either returns tensors whose data match their shapes, or throws an
// Error that names the file. Never another kind of throw, never a silent inconsistency.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors } from './safetensors.js';

const SOURCE = 'fuzz.safetensors';

function checkParse(bytes: Uint8Array): void {
  let file;
  try {
    file = parseSafetensors(bytes, SOURCE);
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(SOURCE);
    return;
  }
  for (const [name, t] of file.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    expect(t.data.length, name).toBe(n);
  }
}

const valid = serializeSafetensors(
  new Map([
    ['a', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    ['b.weight', { shape: [4], data: Float32Array.from([0.5, -1, 2, 3]) }],
  ]),
  { format: 'pt' },
);

describe('safetensors parser on untrusted bytes', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (b) => checkParse(b)),
      { numRuns: 300 },
    );
  });

  it('a valid file with a small header length and random JSON-ish header', () => {
    const header = fc.oneof(fc.json(), fc.string()).map((h) => {
      const hb = Buffer.from(h, 'utf8');
      const out = Buffer.alloc(8 + hb.length + 16);
      out.writeBigUInt64LE(BigInt(hb.length), 0);
      hb.copy(out, 8);
      return new Uint8Array(out);
    });
    fc.assert(
      fc.property(header, (b) => checkParse(b)),
      { numRuns: 300 },
    );
  });

  it('a valid file with bytes changed or cut', () => {
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      cut: fc.nat({ max: valid.length }),
    });
    fc.assert(
      fc.property(mutation, ({ edits, cut }) => {
        const b = Uint8Array.from(valid);
        for (const [i, v] of edits) b[i] = v;
        checkParse(b.subarray(0, cut));
        checkParse(b);
      }),
      { numRuns: 400 },
    );
  });
});
