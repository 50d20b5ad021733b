// HTTP downloads into a cache: stream to a temp file while hashing, check size and SHA256, rename.
// A 404 is an answer (the archive does not serve that file), not an error.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface Expected {
  sha256: string;
  size?: number;
}

export type DownloadResult = { status: 'ok'; path: string; bytes: number; cached: boolean } | { status: 'missing'; httpStatus: number };

export interface DownloadOptions {
  expected?: Expected;
  /** Abort one attempt after this many milliseconds. */
  timeoutMs?: number;
  /** Extra attempts on network errors and 5xx answers. */
  retries?: number;
  /** Refuse bodies larger than this many bytes (default: expected.size, else 64 MiB). */
  maxBytes?: number;
  onBytes?: (n: number) => void;
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** GET a small resource into memory (InRelease). */
export async function fetchBytes(url: string, timeoutMs = 60_000): Promise<Uint8Array> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Download `url` to `dest` unless `dest` already holds the expected bytes (a resumable cache).
 * Throws on a checksum or size mismatch, naming the URL, expected and actual values.
 */
export async function downloadVerified(url: string, dest: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const { expected } = opts;
  if (expected) {
    const st = await fsp.stat(dest).catch(() => null);
    if (st?.isFile() && (expected.size === undefined || st.size === expected.size) && (await sha256File(dest)) === expected.sha256) {
      return { status: 'ok', path: dest, bytes: st.size, cached: true };
    }
  }
  const retries = opts.retries ?? 2;
  let lastErr: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    try {
      return await downloadOnce(url, dest, opts);
    } catch (err) {
      lastErr = err;
      if (err instanceof ChecksumError || err instanceof TooLargeError) throw err;
      if (attempt < retries) await new Promise((r) => setTimeout(r, 300 * (attempt + 1)));
    }
  }
  throw new Error(`GET ${url}: ${lastErr instanceof Error ? lastErr.message : String(lastErr)} (after ${retries + 1} attempts)`);
}

export class ChecksumError extends Error {}
export class TooLargeError extends Error {}
class RetryableHttpError extends Error {}

async function downloadOnce(url: string, dest: string, opts: DownloadOptions): Promise<DownloadResult> {
  const res = await fetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000) });
  if (res.status === 404 || res.status === 410) {
    await res.body?.cancel().catch(() => undefined);
    return { status: 'missing', httpStatus: res.status };
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 500) throw new RetryableHttpError(`HTTP ${res.status}`);
    throw new RetryableHttpError(`HTTP ${res.status}`);
  }
  const maxBytes = opts.maxBytes ?? opts.expected?.size ?? 64 * 1024 * 1024;
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomBytes(4).toString('hex')}.part`);
  const h = createHash('sha256');
  let bytes = 0;
  const fh = await fsp.open(tmp, 'w');
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw new TooLargeError(`GET ${url}: body exceeds ${maxBytes} bytes`);
      h.update(chunk);
      await fh.write(chunk);
      opts.onBytes?.(chunk.length);
    }
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  const actual = h.digest('hex');
  const exp = opts.expected;
  if (exp && (actual !== exp.sha256 || (exp.size !== undefined && bytes !== exp.size))) {
    await fsp.rm(tmp, { force: true });
    throw new ChecksumError(
      `GET ${url}: checksum mismatch: expected sha256 ${exp.sha256} (${exp.size ?? '?'} bytes), got ${actual} (${bytes} bytes)`,
    );
  }
  await fsp.rename(tmp, dest);
  return { status: 'ok', path: dest, bytes, cached: false };
}
