// Decompress a file to a byte stream, choosing the codec from its magic bytes:
// gzip through node:zlib, xz and bzip2 through their CLIs (stdout is the stream), plain tar as is.
import { spawn } from 'node:child_process';
import { createReadStream, promises as fsp } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

export type Codec = 'gzip' | 'xz' | 'bzip2' | 'none';

export async function sniffCodec(file: string): Promise<Codec> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(6);
    const { bytesRead } = await fh.read(buf, 0, 6, 0);
    const b = buf.subarray(0, bytesRead);
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
    if (b.length >= 6 && b.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
    if (b.length >= 3 && b.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
    return 'none';
  } finally {
    await fh.close();
  }
}

/**
 * Yield the decompressed bytes of `file`. Errors (corrupt data, a missing CLI, a non-zero exit)
 * are thrown from the iterator, naming the file.
 */
export async function* decompressedChunks(file: string, codec?: Codec): AsyncGenerator<Buffer> {
  const c = codec ?? (await sniffCodec(file));
  if (c === 'none' || c === 'gzip') {
    let stream: Readable = createReadStream(file);
    if (c === 'gzip') stream = stream.pipe(createGunzip());
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (err) {
      throw new Error(`${file}: ${c} stream is corrupt: ${err instanceof Error ? err.message : String(err)}`);
    }
    return;
  }
  const cmd = c === 'xz' ? 'xz' : 'bzip2';
  const child = spawn(cmd, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let spawnError: Error | null = null;
  child.on('error', (e) => {
    spawnError = e;
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  const input = createReadStream(file);
  input.on('error', (e) => child.stdin.destroy(e));
  child.stdin.on('error', () => undefined);
  input.pipe(child.stdin);
  let finished = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    finished = true;
  } finally {
    if (!finished) {
      input.destroy();
      child.kill('SIGKILL');
    }
  }
  const code = await exited;
  if (spawnError) throw new Error(`${file}: cannot run ${cmd}: ${(spawnError as Error).message}`);
  if (code !== 0) throw new Error(`${file}: ${cmd} -dc failed (exit ${code}): ${stderr.trim()}`);
}

/** Decompress a whole (index) file into memory, refusing more than `maxBytes`. */
export async function decompressToBuffer(file: string, maxBytes = 512 * 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of decompressedChunks(file)) {
    n += chunk.length;
    if (n > maxBytes) throw new Error(`${file}: decompresses to more than ${maxBytes} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}
