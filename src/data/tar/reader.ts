// A streaming tar reader (POSIX ustar, pax extended headers, GNU long names) that hands out
// member headers and, for regular files up to a size cap, their bytes. It judges nothing:
// path and link safety is the extractor's job (see extract.ts).
// Kept our own rather than node-tar or tar-stream: see docs/ARCHITECTURE.md, "Decisions kept on record".

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'other';

export interface TarEntry {
  /** Member path exactly as the archive names it (pax or GNU long names applied). */
  path: string;
  type: EntryType;
  /** The raw typeflag character, for messages. */
  typeflag: string;
  size: number;
  mode: number;
  linkpath: string;
  /** The bytes of a regular file, or null when the body was not kept (not a file, or over maxBodyBytes). */
  data: Buffer | null;
  /** Byte offset of the member's header in the decompressed stream, for messages. */
  offset: number;
}

export interface ReadTarOptions {
  /** Keep file bodies up to this many bytes; bigger ones are skipped over and given as data = null. */
  maxBodyBytes: number;
  /** Largest pax / GNU long-name record accepted. */
  maxMetaBytes?: number;
}

const BLOCK = 512;

/** Pulls exact byte counts out of an async chunk source. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private have = 0;
  private done = false;
  offset = 0;
  constructor(private readonly src: AsyncIterator<Buffer>) {}

  /** Let the source release its resources (a decompressor process) when reading stops early. */
  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.src.return?.();
    }
  }

  private async fill(n: number): Promise<boolean> {
    while (this.have < n && !this.done) {
      const r = await this.src.next();
      if (r.done) {
        this.done = true;
        break;
      }
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      if (b.length === 0) continue;
      this.chunks.push(b);
      this.have += b.length;
    }
    return this.have >= n;
  }

  /** Exactly n bytes, or null at a clean end of input. Throws on a truncated read. */
  async read(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.have === 0) return null;
      throw new Error(`tar: truncated archive at byte ${this.offset + this.have} (wanted ${n} more bytes, had ${this.have})`);
    }
    const out = Buffer.allocUnsafe(n);
    let pos = 0;
    while (pos < n) {
      const c = this.chunks[0] as Buffer;
      const take = Math.min(c.length, n - pos);
      c.copy(out, pos, 0, take);
      pos += take;
      if (take === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take);
    }
    this.have -= n;
    this.offset += n;
    return out;
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.have === 0 && !(await this.fill(1)))
        throw new Error(`tar: truncated archive at byte ${this.offset} while skipping ${left} bytes`);
      const c = this.chunks[0] as Buffer;
      const take = Math.min(c.length, left);
      if (take === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(take);
      this.have -= take;
      this.offset += take;
      left -= take;
    }
  }
}

function cstr(b: Buffer, start: number, len: number): string {
  const sub = b.subarray(start, start + len);
  const nul = sub.indexOf(0);
  return (nul >= 0 ? sub.subarray(0, nul) : sub).toString('utf8');
}

function parseNumeric(b: Buffer, start: number, len: number, what: string, offset: number): number {
  const first = b[start] as number;
  if (first & 0x80) {
    // GNU base-256: big-endian two's complement in the remaining bits.
    if (first & 0x40) throw new Error(`tar: negative ${what} in header at byte ${offset}`);
    let v = first & 0x3f;
    for (let i = 1; i < len; i++) v = v * 256 + (b[start + i] as number);
    if (!Number.isSafeInteger(v)) throw new Error(`tar: ${what} too large in header at byte ${offset}`);
    return v;
  }
  const s = cstr(b, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new Error(`tar: bad ${what} field ${JSON.stringify(s)} in header at byte ${offset}`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer, offset: number): boolean {
  let stored: number;
  try {
    stored = parseNumeric(h, 148, 8, 'checksum', offset);
  } catch {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
  return sum === stored;
}

function typeOf(flag: string): EntryType {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'file';
    case '1':
      return 'hardlink';
    case '2':
      return 'symlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '5':
      return 'dir';
    case '6':
      return 'fifo';
    default:
      return 'other';
  }
}

/** pax records: "<len> key=value\n" repeated. */
export function parsePax(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < body.length) {
    const sp = body.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = parseInt(body.toString('latin1', pos, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || pos + len > body.length) throw new Error('tar: malformed pax record');
    const rec = body.toString('utf8', sp + 1, pos + len - 1); // drop trailing \n
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}

function padded(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/** Read a tar stream member by member. Throws with a byte offset on malformed input. */
export async function* readTar(chunks: AsyncIterable<Buffer>, opts: ReadTarOptions): AsyncGenerator<TarEntry> {
  const q = new ByteQueue(chunks[Symbol.asyncIterator]());
  const maxMeta = opts.maxMetaBytes ?? 1024 * 1024;
  let pax = new Map<string, string>();
  let longName: string | null = null;
  let longLink: string | null = null;
  let sawAny = false;
  try {
    for (;;) {
      const offset = q.offset;
      const h = await q.read(BLOCK);
      if (h === null) {
        if (!sawAny) throw new Error('tar: empty archive');
        return; // missing end-of-archive blocks: tolerated, as GNU tar does
      }
      if (h.every((x) => x === 0)) return;
      sawAny = true;
      if (!checksumOk(h, offset)) throw new Error(`tar: header checksum mismatch at byte ${offset} (not a tar archive, or corrupt)`);
      const flag = String.fromCharCode(h[156] as number);
      let size = parseNumeric(h, 124, 12, 'size', offset);
      const magic = h.toString('latin1', 257, 263);
      let name = cstr(h, 0, 100);
      if (magic === 'ustar\0') {
        const prefix = cstr(h, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > maxMeta) throw new Error(`tar: ${flag} record of ${size} bytes at byte ${offset} exceeds ${maxMeta}`);
        const body = (await q.read(padded(size))) ?? Buffer.alloc(0);
        const content = body.subarray(0, size);
        if (flag === 'x') pax = parsePax(content);
        else if (flag === 'L') longName = cstr(content, 0, content.length);
        else if (flag === 'K') longLink = cstr(content, 0, content.length);
        // 'g' (global pax) carries nothing we use.
        continue;
      }
      if (pax.has('size')) {
        const s = Number(pax.get('size'));
        if (!Number.isSafeInteger(s) || s < 0) throw new Error(`tar: bad pax size at byte ${offset}`);
        size = s;
      }
      const type = typeOf(flag);
      const path = pax.get('path') ?? longName ?? name;
      const linkpath = pax.get('linkpath') ?? longLink ?? cstr(h, 157, 100);
      pax = new Map();
      longName = null;
      longLink = null;
      // Only regular files (and unknown types) carry a body; links, dirs and devices have size 0 by spec,
      // but a hostile header may claim otherwise: the body is skipped either way.
      const bodyLen = type === 'file' || type === 'other' ? size : type === 'dir' || type === 'symlink' || type === 'hardlink' ? 0 : size;
      let data: Buffer | null = null;
      if (type === 'file' && size <= opts.maxBodyBytes) {
        const b = await q.read(padded(size));
        data = b === null ? Buffer.alloc(0) : b.subarray(0, size);
        if (b === null && size > 0) throw new Error(`tar: truncated archive in member ${JSON.stringify(path)}`);
      } else if (bodyLen > 0) {
        await q.skip(padded(bodyLen));
      }
      yield {
        path,
        type,
        typeflag: flag === '\0' ? '0' : flag,
        size,
        mode: parseNumeric(h, 100, 8, 'mode', offset),
        linkpath,
        data,
        offset,
      };
    }
  } finally {
    await q.close();
  }
}
