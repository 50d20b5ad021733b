import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic, writeLinesAtomic } from './atomic.js';

describe('writeFileAtomic', () => {
  it('writes, replaces and leaves no temp file behind', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'atomic-'));
    try {
      const f = path.join(dir, 'x.json');
      await writeFileAtomic(f, 'one');
      await writeFileAtomic(f, new TextEncoder().encode('two'));
      expect(readFileSync(f, 'utf8')).toBe('two');
      expect(readdirSync(dir)).toEqual(['x.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('names the file when the directory is missing', async () => {
    await expect(writeFileAtomic('/nonexistent-dir-xyz/a.txt', 'a')).rejects.toThrow(/nonexistent-dir-xyz\/a\.txt/);
  });
  it('streams lines', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'atomic-'));
    try {
      const f = path.join(dir, 'x.jsonl');
      const lines = Array.from({ length: 50000 }, (_, i) => JSON.stringify({ i, s: 'x'.repeat(30) }));
      await writeLinesAtomic(f, lines);
      const back = readFileSync(f, 'utf8').split('\n');
      expect(back).toHaveLength(50001);
      expect(JSON.parse(back[49999] as string).i).toBe(49999);
      expect(readdirSync(dir)).toEqual(['x.jsonl']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
