// deb822 control-file parsing (Sources, InRelease bodies, apt .sources files): stanzas separated by
// blank lines, "Field: value" lines, continuation lines starting with a space or tab.

export type Stanza = Map<string, string>;

/** Parse every stanza of a deb822 text. Field names are kept as written; look them up with `field()`. */
export function parseDeb822(text: string): Stanza[] {
  const out: Stanza[] = [];
  let cur: Stanza = new Map();
  let lastKey: string | null = null;
  const lines = text.split('\n');
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      if (cur.size > 0) out.push(cur);
      cur = new Map();
      lastKey = null;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (lastKey === null) continue; // stray continuation: ignore rather than guess
      cur.set(lastKey, `${cur.get(lastKey) ?? ''}\n${line.slice(1)}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    lastKey = line.slice(0, colon);
    cur.set(lastKey, line.slice(colon + 1).trim());
  }
  if (cur.size > 0) out.push(cur);
  return out;
}

/** Case-insensitive field lookup (deb822 field names are case-insensitive). */
export function field(st: Stanza, name: string): string | undefined {
  const v = st.get(name);
  if (v !== undefined) return v;
  const lower = name.toLowerCase();
  for (const [k, val] of st) if (k.toLowerCase() === lower) return val;
  return undefined;
}

/** The non-empty lines of a multi-line field (e.g. `Checksums-Sha256`), each trimmed. */
export function fieldLines(st: Stanza, name: string): string[] {
  const v = field(st, name);
  if (!v) return [];
  return v
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}
