// A minimal ustar writer, for building test archives (hostile ones included) without a tar binary.
// It writes member names verbatim: it is the reader's and extractor's job to judge them.

export interface TarMemberSpec {
  path: string;
  /** '0' file, '1' hard link, '2' symlink, '3' char device, '4' block device, '5' dir, '6' fifo. */
  type?: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  data?: string | Uint8Array;
  linkpath?: string;
  mode?: number;
}

function octal(n: number, len: number): string {
  return n.toString(8).padStart(len - 1, '0') + '\0';
}

function header(name: string, size: number, type: string, linkpath: string, mode: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(0, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(type, 156, 'latin1');
  h.write(linkpath, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'latin1');
  return h;
}

function pad(b: Buffer): Buffer {
  const rem = b.length % 512;
  return rem === 0 ? b : Buffer.concat([b, Buffer.alloc(512 - rem)]);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** Serialise members into an uncompressed tar (names over 100 bytes get a pax header). */
export function buildTar(members: TarMemberSpec[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const type = m.type ?? '0';
    const data = m.data === undefined ? Buffer.alloc(0) : Buffer.from(m.data);
    const link = m.linkpath ?? '';
    if (Buffer.byteLength(m.path) > 100 || Buffer.byteLength(link) > 100) {
      const pax = Buffer.from(paxRecord('path', m.path) + (link ? paxRecord('linkpath', link) : ''));
      parts.push(header('PaxHeader', pax.length, 'x', '', 0o644), pad(pax));
    }
    const size = type === '0' ? data.length : 0;
    parts.push(header(m.path.slice(0, 100), size, type, link.slice(0, 100), m.mode ?? 0o644));
    if (size > 0) parts.push(pad(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
