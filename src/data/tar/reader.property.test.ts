// Property test: tarballs are untrusted. Random bytes, or a valid archive with bytes changed or cut,
// either read as entries that respect the size cap, or fail with an Error; the reader never throws
// anything else, never hands out a body over the cap or shorter than its stated size.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readTar } from './reader.js';
import { buildTar } from './writer.js';

const CAP = 4096;

async function* chunked(b: Uint8Array, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield Buffer.from(b.subarray(i, i + size));
}

async function checkRead(bytes: Uint8Array, chunk: number): Promise<void> {
  try {
    for await (const e of readTar(chunked(bytes, chunk), { maxBodyBytes: CAP, maxMetaBytes: 1024 })) {
      expect(typeof e.path).toBe('string');
      if (e.data) {
        expect(e.data.length).toBeLessThanOrEqual(CAP);
        expect(e.data.length).toBe(e.size);
      }
    }
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
  }
}

const valid = buildTar([
  { path: 'pkg/setup.py', data: 'from setuptools import setup\nsetup()\n' },
  { path: 'pkg/tests/test_a.py', data: 'def test_a():\n    assert 1 == 1\n' },
  { path: 'pkg/link', type: '2', linkpath: '../outside' },
  { path: 'pkg/sub/', type: '5' },
]);

describe('tar reader on untrusted bytes', () => {
  it('reads the unmutated archive whole (so the mutations start from a real one)', async () => {
    const paths: string[] = [];
    for await (const e of readTar(chunked(valid, 100), { maxBodyBytes: CAP })) paths.push(e.path);
    expect(paths).toEqual(['pkg/setup.py', 'pkg/tests/test_a.py', 'pkg/link', 'pkg/sub/']);
  });

  it('random bytes, in random chunk sizes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 700 }), (b, c) => checkRead(b, c)),
      { numRuns: 200 },
    );
  });

  it('a valid archive with bytes changed or cut', async () => {
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      cut: fc.nat({ max: valid.length }),
      chunk: fc.integer({ min: 1, max: 1024 }),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ edits, cut, chunk }) => {
        const b = Uint8Array.from(valid);
        for (const [i, v] of edits) b[i] = v;
        await checkRead(b, chunk);
        await checkRead(b.subarray(0, cut), chunk);
      }),
      { numRuns: 300 },
    );
  });
});
