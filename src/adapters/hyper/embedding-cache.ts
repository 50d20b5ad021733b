// Per-file embedding cache on disk, keyed by (encoder id, SHA-256 of the file's bytes): re-adapting
// a repository after one file changed re-embeds only that file. Each entry carries a checksum of its
// own bytes, so a truncated or corrupted entry is detected, reported and rebuilt, never used.
// Layout: <dir>/<encoderId>/<hh>/<sha256>.emb ; entry = magic(8) dim(u32) windows(u32) f32[dim] sha256(32).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../../util/atomic.js';

const MAGIC = Buffer.from('C2LEMB01', 'ascii');

export interface CachedEmbedding {
  vector: Float32Array;
  windows: number;
}

export type CacheLookup = { status: 'hit'; entry: CachedEmbedding } | { status: 'miss' } | { status: 'corrupt'; reason: string };

export class EmbeddingCache {
  constructor(
    readonly dir: string,
    readonly encoderId: string,
  ) {
    if (!/^[0-9a-f]{8,64}$/.test(encoderId)) throw new Error(`EmbeddingCache: encoder id must be hex, got ${JSON.stringify(encoderId)}`);
  }

  private entryPath(contentHash: string): string {
    if (!/^[0-9a-f]{64}$/.test(contentHash)) throw new Error(`EmbeddingCache: not a SHA-256 hex digest: ${JSON.stringify(contentHash)}`);
    return path.join(this.dir, this.encoderId, contentHash.slice(0, 2), `${contentHash}.emb`);
  }

  get(contentHash: string, dim: number): CacheLookup {
    const file = this.entryPath(contentHash);
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch {
      return { status: 'miss' };
    }
    const want = 8 + 8 + dim * 4 + 32;
    if (buf.length !== want) return { status: 'corrupt', reason: `${file}: ${buf.length} bytes, expected ${want}` };
    if (!buf.subarray(0, 8).equals(MAGIC)) return { status: 'corrupt', reason: `${file}: bad magic` };
    const body = buf.subarray(0, want - 32);
    if (
      !createHash('sha256')
        .update(body)
        .digest()
        .equals(buf.subarray(want - 32))
    )
      return { status: 'corrupt', reason: `${file}: checksum mismatch` };
    if (buf.readUInt32LE(8) !== dim) return { status: 'corrupt', reason: `${file}: dim ${buf.readUInt32LE(8)}, expected ${dim}` };
    const vector = new Float32Array(dim);
    Buffer.from(vector.buffer).set(buf.subarray(16, 16 + dim * 4));
    return { status: 'hit', entry: { vector, windows: buf.readUInt32LE(12) } };
  }

  put(contentHash: string, e: CachedEmbedding): void {
    const file = this.entryPath(contentHash);
    const dim = e.vector.length;
    const buf = Buffer.alloc(8 + 8 + dim * 4 + 32);
    MAGIC.copy(buf, 0);
    buf.writeUInt32LE(dim, 8);
    buf.writeUInt32LE(e.windows, 12);
    Buffer.from(e.vector.buffer, e.vector.byteOffset, dim * 4).copy(buf, 16);
    createHash('sha256')
      .update(buf.subarray(0, buf.length - 32))
      .digest()
      .copy(buf, buf.length - 32);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomicSync(file, buf);
  }
}
