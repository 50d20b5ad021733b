// Find the Debian archive apt is configured for: read deb822 `.sources` files and one-line
// `sources.list` entries, skip security/updates archives, never hard-code a host.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { field, parseDeb822 } from './deb822.js';

export interface AptArchive {
  /** Archive root of this machine's mirror, no trailing slash (from its apt sources, never recorded with the data) */
  baseUrl: string;
  /** Keyring that signs it (Signed-By, else the Debian archive keyring). */
  keyring: string;
  /** The file it was read from, for messages. */
  from: string;
}

export const DEFAULT_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

interface Entry {
  uri: string;
  suites: string[];
  signedBy?: string;
  from: string;
}

function isMainArchive(e: Entry): boolean {
  if (!/^https?:\/\//.test(e.uri)) return false;
  if (/security/i.test(e.uri)) return false;
  return e.suites.some((s) => !/-(security|updates|backports|proposed-updates)$/.test(s));
}

function readDeb822Sources(file: string): Entry[] {
  const out: Entry[] = [];
  for (const st of parseDeb822(readFileSync(file, 'utf8'))) {
    const types = (field(st, 'Types') ?? '').split(/\s+/);
    if (!types.includes('deb') && !types.includes('deb-src')) continue;
    if ((field(st, 'Enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const suites = (field(st, 'Suites') ?? '').split(/\s+/).filter(Boolean);
    const signedBy = field(st, 'Signed-By');
    for (const uri of (field(st, 'URIs') ?? '').split(/\s+/).filter(Boolean)) {
      out.push({ uri, suites, from: file, ...(signedBy && !signedBy.includes('\n') ? { signedBy } : {}) });
    }
  }
  return out;
}

function readOneLineSources(file: string): Entry[] {
  const out: Entry[] = [];
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const signed = /signed-by=(\S+)/.exec(m[2] ?? '');
    out.push({ uri: m[3] as string, suites: [m[4] as string], from: file, ...(signed ? { signedBy: signed[1] as string } : {}) });
  }
  return out;
}

/** The first main Debian archive apt knows about. Throws naming the files read when there is none. */
export function readAptArchive(etcApt = '/etc/apt'): AptArchive {
  const files: string[] = [];
  const entries: Entry[] = [];
  const dir = path.join(etcApt, 'sources.list.d');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      const full = path.join(dir, f);
      if (f.endsWith('.sources')) {
        files.push(full);
        entries.push(...readDeb822Sources(full));
      } else if (f.endsWith('.list')) {
        files.push(full);
        entries.push(...readOneLineSources(full));
      }
    }
  }
  const list = path.join(etcApt, 'sources.list');
  if (existsSync(list)) {
    files.push(list);
    entries.push(...readOneLineSources(list));
  }
  const e = entries.find(isMainArchive);
  if (!e)
    throw new Error(
      `apt sources: no main Debian archive (http/https, not security) in ${files.join(', ') || `${etcApt} (no sources files)`}`,
    );
  return { baseUrl: e.uri.replace(/\/+$/, ''), keyring: e.signedBy ?? DEFAULT_KEYRING, from: e.from };
}
