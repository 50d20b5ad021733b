// GGUF writer: byte layout checked by the test reader, refusals naming the key or tensor, and a
// fast-check round trip over random metadata and tensors.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readGguf } from '../../test/support/gguf-reader.js';
import { encodeGguf, gguf, writeGguf, type GgufTensor, type GgufValue } from './gguf.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c2l-gguf-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('GGUF writer', () => {
  it('writes header, metadata, tensor infos (ne reversed) and 32-byte aligned data', () => {
    const w = Float32Array.from({ length: 6 }, (_, i) => i - 2.5);
    const bytes = encodeGguf({
      metadata: [
        ['general.architecture', gguf.str('llama')],
        ['llama.block_count', gguf.u32(2)],
        ['llama.rope.freq_base', gguf.f32(10000)],
        ['tokenizer.ggml.tokens', gguf.arr('string', ['a', 'Ġb', 'ü'])],
        ['tokenizer.ggml.token_type', gguf.arr('i32', [1, 3, -1])],
        ['x.flag', gguf.bool(true)],
        ['x.big', gguf.u64(2n ** 40n)],
      ],
      tensors: [
        { name: 'blk.0.attn_q.weight', shape: [2, 3], data: w },
        { name: 'norm', shape: [3], data: Float32Array.from([1, 2, 3]) },
        { name: 'half', shape: [3, 2], data: Float32Array.from([0.5, -1, 65504, 1e-3, 0, -0]), type: 'F16' },
      ],
    });
    expect(Buffer.from(bytes.subarray(0, 4)).toString('latin1')).toBe('GGUF');
    const r = readGguf(bytes);
    expect(r.version).toBe(3);
    expect(r.dataStart % 32).toBe(0);
    expect(r.metadata.get('llama.block_count')).toEqual({ type: 'u32', value: 2 });
    expect(r.metadata.get('tokenizer.ggml.tokens')?.value).toEqual(['a', 'Ġb', 'ü']);
    expect(r.metadata.get('tokenizer.ggml.token_type')?.value).toEqual([1, 3, -1]);
    expect(r.metadata.get('x.big')?.value).toBe(2n ** 40n);
    const q = r.tensors.get('blk.0.attn_q.weight')!;
    expect(q.ne).toEqual([3, 2]);
    expect(Array.from(q.data)).toEqual(Array.from(w));
    expect(r.tensors.get('norm')!.offset).toBe(32); // 24 bytes of q, padded to 32
    expect(Array.from(r.tensors.get('half')!.data)).toEqual([0.5, -1, 65504, Math.fround(0.0010004043579101562), 0, -0]);
    expect(bytes.length % 32).toBe(0);
  });

  const bad: Array<[string, () => Uint8Array, RegExp]> = [
    [
      'NaN',
      () => encodeGguf({ metadata: [], tensors: [{ name: 'blk.3.ffn_up.weight', shape: [2], data: Float32Array.from([0, Number.NaN]) }] }),
      /gguf: blk\.3\.ffn_up\.weight: value NaN at element 1/,
    ],
    [
      'Infinity',
      () => encodeGguf({ metadata: [], tensors: [{ name: 't', shape: [1], data: Float32Array.from([Number.POSITIVE_INFINITY]) }] }),
      /gguf: t: value Infinity at element 0/,
    ],
    [
      'f16 overflow',
      () => encodeGguf({ metadata: [], tensors: [{ name: 'h', shape: [1], data: Float32Array.from([70000]), type: 'F16' }] }),
      /h: value 70000 at element 0 overflows float16/,
    ],
    [
      'long name',
      () => encodeGguf({ metadata: [], tensors: [{ name: 'x'.repeat(64), shape: [1], data: new Float32Array(1) }] }),
      /name is 64 bytes, ggml allows 63/,
    ],
    [
      'duplicate tensor',
      () =>
        encodeGguf({
          metadata: [],
          tensors: [
            { name: 'a', shape: [1], data: new Float32Array(1) },
            { name: 'a', shape: [1], data: new Float32Array(1) },
          ],
        }),
      /a: tensor name appears twice/,
    ],
    [
      'shape mismatch',
      () => encodeGguf({ metadata: [], tensors: [{ name: 'a', shape: [2, 2], data: new Float32Array(3) }] }),
      /a: shape \[2, 2\] holds 4 values, data has 3/,
    ],
    [
      'duplicate key',
      () =>
        encodeGguf({
          metadata: [
            ['k', gguf.u32(1)],
            ['k', gguf.u32(2)],
          ],
          tensors: [],
        }),
      /k: metadata key appears twice/,
    ],
    [
      'u32 out of range',
      () => encodeGguf({ metadata: [['llama.block_count', gguf.u32(-1)]], tensors: [] }),
      /llama\.block_count: -1 does not fit u32/,
    ],
    ['non-finite f32 value', () => encodeGguf({ metadata: [['eps', gguf.f32(Number.NaN)]], tensors: [] }), /eps: expected a finite f32/],
    [
      'bad alignment',
      () => encodeGguf({ metadata: [['general.alignment', gguf.u32(12)]], tensors: [] }),
      /general\.alignment: expected a u32 multiple of 8/,
    ],
  ];
  for (const [label, f, re] of bad) it(`refuses ${label}, naming it`, () => expect(f).toThrow(re));

  it('writes atomically: a refused file leaves the old one and no temp file', () => {
    const file = path.join(tmp, 'm.gguf');
    writeGguf(file, { metadata: [['general.architecture', gguf.str('llama')]], tensors: [] });
    const before = fs.readFileSync(file);
    expect(() => writeGguf(file, { metadata: [], tensors: [{ name: 'bad', shape: [1], data: Float32Array.from([Number.NaN]) }] })).toThrow(
      /bad: value NaN/,
    );
    expect(fs.readFileSync(file)).toEqual(before);
    expect(fs.readdirSync(tmp)).toEqual(['m.gguf']);
  });

  it('round-trips random metadata and tensors (property)', () => {
    const scalar = fc.oneof(
      fc.record({ type: fc.constant('u32' as const), value: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
      fc.record({ type: fc.constant('i32' as const), value: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }),
      fc.record({ type: fc.constant('f32' as const), value: fc.float({ noNaN: true, noDefaultInfinity: true }).map(Math.fround) }),
      fc.record({ type: fc.constant('string' as const), value: fc.string({ unit: 'grapheme', maxLength: 12 }) }),
      fc.record({ type: fc.constant('bool' as const), value: fc.boolean() }),
      fc.record({ type: fc.constant('u64' as const), value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
      fc
        .record({ itemType: fc.constant('string' as const), values: fc.array(fc.string({ maxLength: 5 }), { maxLength: 6 }) })
        .map((a) => ({ type: 'array' as const, ...a })),
      fc
        .record({ itemType: fc.constant('i32' as const), values: fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 6 }) })
        .map((a) => ({ type: 'array' as const, ...a })),
    ) as fc.Arbitrary<GgufValue>;
    const tensor = fc
      .record({
        shape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
        type: fc.constantFrom('F32' as const, 'F16' as const),
        seed: fc.integer(),
      })
      .map(({ shape, type, seed }) => {
        const n = shape.reduce((a, b) => a * b, 1);
        let s = seed >>> 0;
        const data = Float32Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 8);
        return { shape, type, data };
      });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), scalar), { selector: ([k]) => k, maxLength: 8 }),
        fc.array(tensor, { maxLength: 5 }),
        (metadata, ts) => {
          const tensors: GgufTensor[] = ts.map((t, i) => ({ name: `t${i}.weight`, ...t }));
          const r = readGguf(encodeGguf({ metadata, tensors }));
          expect([...r.metadata.keys()]).toEqual(metadata.map(([k]) => k));
          for (const [k, v] of metadata) expect(r.metadata.get(k)!.value).toEqual(v.type === 'array' ? v.values : v.value);
          for (const t of tensors) {
            const got = r.tensors.get(t.name)!;
            expect(got.shape).toEqual(t.shape);
            expect(got.offset % 32).toBe(0);
            if (t.type === 'F32') expect(Array.from(got.data)).toEqual(Array.from(t.data));
            // F16: round to nearest, so a relative error of at most 2^-11 (plus the subnormal step)
            if (t.type === 'F16')
              for (let i = 0; i < t.data.length; i++)
                expect(Math.abs(got.data[i] - t.data[i])).toBeLessThanOrEqual(Math.abs(t.data[i]) * 2 ** -11 + 2 ** -24);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
