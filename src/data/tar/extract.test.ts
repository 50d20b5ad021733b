import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { buildTar, type TarMemberSpec } from './writer.js';
import { extractTarball, linkStaysInside, safeComponents, TarSafetyError } from './extract.js';

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), 'tar-'));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

function archive(members: TarMemberSpec[], codec: 'gz' | 'xz' | 'bz2' | 'tar' = 'gz'): string {
  const tar = buildTar(members);
  const f = path.join(work, `a.tar${codec === 'tar' ? '' : `.${codec}`}`);
  if (codec === 'gz') writeFileSync(f, gzipSync(tar));
  else if (codec === 'tar') writeFileSync(f, tar);
  else writeFileSync(f, execFileSync(codec === 'xz' ? 'xz' : 'bzip2', ['-c'], { input: tar }));
  return f;
}

function dest(): string {
  const d = path.join(work, 'cache', 'out');
  mkdirSync(d, { recursive: true });
  return d;
}

/** Everything under `work` that is not in the cache folder or the archive itself. */
function strays(): string[] {
  return readdirSync(work).filter((f) => f !== 'cache' && !f.startsWith('a.tar'));
}

describe('safeComponents / linkStaysInside', () => {
  it('normalises and refuses', () => {
    expect(safeComponents('./a//b/')).toEqual({ parts: ['a', 'b'] });
    expect(safeComponents('/etc/passwd')).toEqual({ error: 'absolute path' });
    expect(safeComponents('a/../../b')).toEqual({ error: 'path contains ".."' });
    expect(safeComponents('C:\\x')).toEqual({ error: 'absolute path' });
    expect(linkStaysInside(['a', 'b', 'link'], '../c')).toBe(true);
    expect(linkStaysInside(['a', 'link'], '../../c')).toBe(false);
    expect(linkStaysInside(['link'], '/etc')).toBe(false);
  });
});

describe('extractTarball', () => {
  it('extracts gzip, xz, bzip2 and plain archives with long names', async () => {
    const long = `p/${'d'.repeat(120)}/test_x.py`;
    for (const codec of ['gz', 'xz', 'bz2', 'tar'] as const) {
      const d = path.join(work, 'cache', codec);
      mkdirSync(d, { recursive: true });
      const r = await extractTarball(
        archive(
          [
            { path: 'p/', type: '5' },
            { path: 'p/a.py', data: 'x = 1\n' },
            { path: long, data: 'y' },
          ],
          codec,
        ),
        d,
      );
      expect(r.files).toBe(2);
      expect(readFileSync(path.join(d, 'p/a.py'), 'utf8')).toBe('x = 1\n');
      expect(existsSync(path.join(d, long))).toBe(true);
    }
  });

  it('refuses path traversal and writes nothing outside', async () => {
    const a = archive([
      { path: 'p/ok.py', data: 'ok' },
      { path: 'p/../../evil.txt', data: 'pwned' },
    ]);
    await expect(extractTarball(a, dest())).rejects.toThrow(/refused member "p\/\.\.\/\.\.\/evil\.txt": path contains "\.\."/);
    expect(strays()).toEqual([]);
  });

  it('refuses absolute paths', async () => {
    const a = archive([{ path: `${work}/abs.txt`, data: 'pwned' }]);
    await expect(extractTarball(a, dest())).rejects.toBeInstanceOf(TarSafetyError);
    expect(existsSync(path.join(work, 'abs.txt'))).toBe(false);
  });

  it('refuses a symlink escape and never writes through a link', async () => {
    const a = archive([
      { path: 'p/link', type: '2', linkpath: '../../..' },
      { path: 'p/link/evil.txt', data: 'pwned' },
    ]);
    await expect(extractTarball(a, dest())).rejects.toThrow(/symbolic link to "\.\.\/\.\.\/\.\." leaves the folder/);
    expect(strays()).toEqual([]);
    const b = archive([{ path: 'p/abs', type: '2', linkpath: '/etc' }]);
    await expect(extractTarball(b, dest())).rejects.toThrow(/leaves the folder/);
  });

  it('skips inside symlinks (not created) and copies inside hard links', async () => {
    const d = dest();
    const r = await extractTarball(
      archive([
        { path: 'p/a.py', data: 'A' },
        { path: 'p/l.py', type: '2', linkpath: 'a.py' },
        { path: 'p/h.py', type: '1', linkpath: 'p/a.py' },
        // A member written "through" the inside symlink's name would need a folder called l.py:
        { path: 'p/sub/b.py', data: 'B' },
      ]),
      d,
    );
    expect(existsSync(path.join(d, 'p/l.py'))).toBe(false);
    expect(lstatSync(path.join(d, 'p/h.py')).isFile()).toBe(true);
    expect(readFileSync(path.join(d, 'p/h.py'), 'utf8')).toBe('A');
    expect(r.skipped.map((s) => s.reason)).toEqual(['symbolic link (inside the folder; links are not created)']);
  });

  it('refuses hard links that leave the folder', async () => {
    await expect(extractTarball(archive([{ path: 'p/h', type: '1', linkpath: '../../etc/passwd' }]), dest())).rejects.toThrow(
      /hard link .* leaves the folder/,
    );
  });

  it('skips device files, FIFOs and oversized members with reasons', async () => {
    const d = dest();
    const r = await extractTarball(
      archive([
        { path: 'p/dev', type: '3' },
        { path: 'p/blk', type: '4' },
        { path: 'p/fifo', type: '6' },
        { path: 'p/big.bin', data: Buffer.alloc(5000, 1) },
        { path: 'p/small.py', data: 'ok' },
      ]),
      d,
      { limits: { maxMemberBytes: 4096, maxTotalBytes: 1 << 20, maxMembers: 100, maxPathLength: 200 } },
    );
    expect(r.files).toBe(1);
    expect(r.skipped.map((s) => s.reason)).toEqual([
      'char device refused',
      'block device refused',
      'FIFO refused',
      'member of 5000 bytes exceeds 4096',
    ]);
    expect(readdirSync(path.join(d, 'p'))).toEqual(['small.py']);
  });

  it('refuses a tar bomb past the total size cap', async () => {
    const members = Array.from({ length: 10 }, (_, i) => ({ path: `p/f${i}`, data: Buffer.alloc(1000) }));
    await expect(
      extractTarball(archive(members), dest(), {
        limits: { maxMemberBytes: 4096, maxTotalBytes: 5000, maxMembers: 100, maxPathLength: 200 },
      }),
    ).rejects.toThrow(/extracted size exceeds 5000 bytes/);
  });

  it('names the archive when it is not a tar at all', async () => {
    const f = path.join(work, 'a.tar.gz');
    writeFileSync(f, gzipSync(Buffer.from('this is not a tar archive'.repeat(40))));
    await expect(extractTarball(f, dest())).rejects.toThrow(/a\.tar\.gz: tar: header checksum mismatch/);
    const g = path.join(work, 'a.tar.xz');
    writeFileSync(g, Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]));
    await expect(extractTarball(g, dest())).rejects.toThrow(/a\.tar\.xz/);
  });
});
