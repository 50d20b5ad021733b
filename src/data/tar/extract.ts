// Safe tar extraction. Nothing is ever written outside `dest`:
// - absolute member paths, `..` components, NUL bytes: the archive is refused (TarSafetyError);
// - symbolic and hard links whose target leaves the folder: the archive is refused;
// - links that stay inside are never created as links: a hard link becomes a copy of a file already
//   extracted, a symbolic link is skipped (so no later member can be written through a link);
// - device files, FIFOs, unknown member types and members over `maxMemberBytes` are skipped, each
//   with a reason; more than `maxTotalBytes` or `maxMembers` refuses the archive (a tar bomb).
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { decompressedChunks } from './decompress.js';
import { readTar } from './reader.js';

export interface TarLimits {
  /** Members bigger than this are skipped (not written), with a reason. */
  maxMemberBytes: number;
  /** The archive is refused once the files written add up to more than this. */
  maxTotalBytes: number;
  /** The archive is refused beyond this many members. */
  maxMembers: number;
  /** Members with a longer path are skipped. */
  maxPathLength: number;
}

export function defaultTarLimits(): TarLimits {
  return { maxMemberBytes: 16 * 1024 * 1024, maxTotalBytes: 512 * 1024 * 1024, maxMembers: 100_000, maxPathLength: 1024 };
}

export function validateTarLimits(l: TarLimits): TarLimits {
  for (const k of ['maxMemberBytes', 'maxTotalBytes', 'maxMembers', 'maxPathLength'] as const) {
    if (!Number.isInteger(l[k]) || l[k] <= 0) throw new Error(`TarLimits.${k}: expected a positive integer, got ${l[k]}`);
  }
  return Object.freeze({ ...l });
}

export interface SkippedMember {
  member: string;
  reason: string;
}

export interface ExtractResult {
  files: number;
  bytes: number;
  skipped: SkippedMember[];
}

export interface ExtractOptions {
  limits?: TarLimits;
  /** Only members whose safe relative path passes are written (others are skipped silently). */
  include?: (relPath: string) => boolean;
}

/** Thrown when an archive is hostile or malformed; the message names the archive and the member. */
export class TarSafetyError extends Error {
  constructor(
    readonly archive: string,
    readonly member: string,
    readonly reason: string,
  ) {
    super(`${archive}: refused member ${JSON.stringify(member)}: ${reason}`);
    this.name = 'TarSafetyError';
  }
}

/**
 * Normalise a member path to safe relative components, or explain why it is unsafe.
 * "./a//b/" -> ["a","b"]; "/etc/x", "a/../../b", "C:\\x" -> error.
 */
export function safeComponents(p: string): { parts: string[] } | { error: string } {
  if (p.includes('\0')) return { error: 'path contains a NUL byte' };
  if (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\')) return { error: 'absolute path' };
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.some((c) => c === '..')) return { error: 'path contains ".."' };
  if (parts.some((c) => c.includes('\\'))) return { error: 'path contains a backslash' };
  return { parts };
}

/** Resolve a symlink target lexically from the link's folder; null when it leaves the root. */
export function linkStaysInside(linkParts: string[], target: string): boolean {
  if (target.startsWith('/') || target.includes('\0')) return false;
  const stack = linkParts.slice(0, -1);
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (stack.length === 0) return false;
      stack.pop();
    } else stack.push(c);
  }
  return true;
}

/** Extract `archive` (gzip, xz, bzip2 or plain tar) into the existing empty folder `dest`. */
export async function extractTarball(archive: string, dest: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  return extractTarStream(decompressedChunks(archive), archive, dest, opts);
}

/** Extract a tar byte stream (e.g. `git archive` output) into `dest`; `label` names it in messages. */
export async function extractTarStream(
  chunks: AsyncIterable<Buffer>,
  label: string,
  dest: string,
  opts: ExtractOptions = {},
): Promise<ExtractResult> {
  const limits = validateTarLimits(opts.limits ?? defaultTarLimits());
  const root = path.resolve(dest);
  const written = new Set<string>(); // relative paths of files written, for hard links
  const madeDirs = new Set<string>(['']);
  const result: ExtractResult = { files: 0, bytes: 0, skipped: [] };
  let members = 0;

  const target = (parts: string[]): string => {
    const full = path.join(root, ...parts);
    const rel = path.relative(root, full);
    // Belt and braces: safeComponents already excludes this.
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel))
      throw new TarSafetyError(label, parts.join('/'), 'resolves outside the destination');
    return full;
  };
  const ensureDir = async (parts: string[]): Promise<void> => {
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (madeDirs.has(rel)) continue;
      if (written.has(rel)) throw new TarSafetyError(label, rel, 'a file and a folder share this path');
      const full = target(parts.slice(0, i));
      await fsp.mkdir(full, { mode: 0o755 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      const st = await fsp.lstat(full);
      if (!st.isDirectory()) throw new TarSafetyError(label, rel, 'expected a folder on disk, found something else');
      madeDirs.add(rel);
    }
  };

  const iter = readTar(chunks, { maxBodyBytes: limits.maxMemberBytes });
  try {
    for await (const entry of iter) {
      members++;
      if (members > limits.maxMembers) throw new TarSafetyError(label, entry.path, `more than ${limits.maxMembers} members`);
      const safe = safeComponents(entry.path);
      if ('error' in safe) throw new TarSafetyError(label, entry.path, safe.error);
      const parts = safe.parts;
      const rel = parts.join('/');
      if (parts.length === 0) continue; // "./" itself
      if (entry.path.length > limits.maxPathLength) {
        result.skipped.push({ member: entry.path, reason: `path longer than ${limits.maxPathLength}` });
        continue;
      }
      switch (entry.type) {
        case 'dir':
          await ensureDir(parts);
          break;
        case 'symlink': {
          if (!linkStaysInside(parts, entry.linkpath))
            throw new TarSafetyError(label, entry.path, `symbolic link to ${JSON.stringify(entry.linkpath)} leaves the folder`);
          result.skipped.push({ member: rel, reason: 'symbolic link (inside the folder; links are not created)' });
          break;
        }
        case 'hardlink': {
          const t = safeComponents(entry.linkpath);
          if ('error' in t)
            throw new TarSafetyError(label, entry.path, `hard link to ${JSON.stringify(entry.linkpath)} leaves the folder (${t.error})`);
          const src = t.parts.join('/');
          if (!written.has(src)) {
            result.skipped.push({ member: rel, reason: `hard link to a member not extracted (${src})` });
            break;
          }
          if (opts.include && !opts.include(rel)) break;
          await ensureDir(parts.slice(0, -1));
          const st = await fsp.stat(target(t.parts));
          if (result.bytes + st.size > limits.maxTotalBytes)
            throw new TarSafetyError(label, entry.path, `extracted size exceeds ${limits.maxTotalBytes} bytes`);
          await fsp.copyFile(target(t.parts), target(parts));
          written.add(rel);
          result.files++;
          result.bytes += st.size;
          break;
        }
        case 'file': {
          if (entry.data === null) {
            result.skipped.push({ member: rel, reason: `member of ${entry.size} bytes exceeds ${limits.maxMemberBytes}` });
            break;
          }
          if (opts.include && !opts.include(rel)) break;
          if (madeDirs.has(rel)) throw new TarSafetyError(label, rel, 'a file and a folder share this path');
          if (result.bytes + entry.data.length > limits.maxTotalBytes)
            throw new TarSafetyError(label, entry.path, `extracted size exceeds ${limits.maxTotalBytes} bytes`);
          await ensureDir(parts.slice(0, -1));
          const full = target(parts);
          // No links are ever created, so nothing on disk under root can redirect this write;
          // still refuse to follow one should it exist (O_NOFOLLOW through lstat).
          const prev = await fsp.lstat(full).catch(() => null);
          if (prev && !prev.isFile()) throw new TarSafetyError(label, rel, 'destination exists and is not a regular file');
          await fsp.writeFile(full, entry.data, { mode: 0o644 });
          written.add(rel);
          result.files++;
          result.bytes += entry.data.length;
          break;
        }
        case 'char':
        case 'block':
        case 'fifo':
          result.skipped.push({ member: rel, reason: `${entry.type === 'fifo' ? 'FIFO' : `${entry.type} device`} refused` });
          break;
        default:
          result.skipped.push({ member: rel, reason: `unsupported member type ${JSON.stringify(entry.typeflag)}` });
      }
    }
  } catch (err) {
    if (err instanceof TarSafetyError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`${label}: ${msg}`);
  }
  return result;
}
