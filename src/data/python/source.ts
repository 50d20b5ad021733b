// Read a Python source file defensively: regular files only, a size cap, binary files refused,
// UTF-8 (or a PEP 263 coding cookie that TextDecoder knows) else refused. Never throws for bad input.
import { promises as fsp } from 'node:fs';

export type SourceSkip = 'not-a-file' | 'too-large' | 'binary' | 'not-utf8' | 'unreadable';

export type SourceRead = { ok: true; text: string } | { ok: false; reason: SourceSkip; detail: string };

export interface SourceLimits {
  /** Files over this many bytes are skipped. */
  maxBytes: number;
}

export function defaultSourceLimits(): SourceLimits {
  return { maxBytes: 1024 * 1024 };
}

const COOKIE = /^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)/;

/** Decode bytes as Python source; null when they are not text in their declared (or UTF-8) encoding. */
export function decodePython(buf: Uint8Array): { text: string } | { reason: 'binary' | 'not-utf8'; detail: string } {
  if (buf.includes(0)) return { reason: 'binary', detail: 'contains NUL bytes' };
  let encoding = 'utf-8';
  const head = Buffer.from(buf.subarray(0, 400)).toString('latin1').split('\n').slice(0, 2);
  for (const line of head) {
    const m = COOKIE.exec(line);
    if (m) {
      encoding = (m[1] as string).toLowerCase().replace(/^utf[-_]8.*$/, 'utf-8');
      break;
    }
  }
  let text: string;
  try {
    text = new TextDecoder(encoding, { fatal: true, ignoreBOM: false }).decode(buf);
  } catch (err) {
    const what = err instanceof RangeError ? `unknown encoding ${encoding}` : `invalid ${encoding}`;
    return { reason: 'not-utf8', detail: what };
  }
  return { text };
}

export async function readPythonSource(file: string, limits: SourceLimits = defaultSourceLimits()): Promise<SourceRead> {
  let st;
  try {
    st = await fsp.lstat(file);
  } catch (err) {
    return { ok: false, reason: 'unreadable', detail: `${file}: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (!st.isFile()) return { ok: false, reason: 'not-a-file', detail: `${file}: not a regular file` };
  if (st.size > limits.maxBytes) return { ok: false, reason: 'too-large', detail: `${file}: ${st.size} bytes > ${limits.maxBytes}` };
  if (st.size === 0) return { ok: true, text: '' };
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (err) {
    return { ok: false, reason: 'unreadable', detail: `${file}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const d = decodePython(buf);
  if ('reason' in d) return { ok: false, reason: d.reason, detail: `${file}: ${d.detail}` };
  return { ok: true, text: d.text };
}
