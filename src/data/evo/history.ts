// First-parent history of a local git repository, oldest first, with the files each commit changed
// (against its first parent), read with one `git log` call.
import { gitBuffer, gitOutput } from '../../util/git.js';

export interface FileChange {
  status: string;
  path: string;
  /** Blob ids; the all-zero id when the file is absent on that side. */
  oldBlob: string;
  newBlob: string;
}

export interface HistoryCommit {
  sha: string;
  parent: string | null;
  date: string;
  changes: FileChange[];
}

const NULL_SHA = /^0+$/;

export function isNullSha(s: string): boolean {
  return NULL_SHA.test(s);
}

/** Null when the repository has no commit at `rev` (an empty repository). Throws when `dir` is not a git repository. */
export async function resolveRev(dir: string, rev: string): Promise<string | null> {
  await gitOutput(dir, ['rev-parse', '--git-dir']).catch((err: Error) => {
    throw new Error(`${dir}: not a git repository (${err.message.split('\n')[0]})`);
  });
  try {
    return (await gitOutput(dir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])).trim() || null;
  } catch {
    return null;
  }
}

/**
 * Walk `rev`'s first-parent chain oldest first. `maxCommits` > 0 keeps only that many of the newest
 * commits (the walk still goes oldest first within them).
 */
export async function firstParentHistory(dir: string, rev: string, maxCommits = 0): Promise<HistoryCommit[]> {
  const args = [
    'log',
    '--first-parent',
    '--diff-merges=first-parent',
    '--raw',
    '--no-abbrev',
    '--no-renames',
    '-z',
    '--format=%x01%H %P%x02%cI',
  ];
  if (maxCommits > 0) args.push(`--max-count=${maxCommits}`);
  args.push(rev, '--');
  const out = (await gitBuffer(dir, args, { maxBytes: 1024 * 1024 * 1024 })).toString('utf8');
  return parseFirstParentLog(out, dir);
}

/**
 * Parses the output of the `git log -z --raw --format=%x01%H %P%x02%cI` call above (newest first)
 * into commits oldest first. The text comes from a repository we do not control: a header it cannot
 * read fails with an Error naming `dir`; raw lines before any header are ignored.
 */
export function parseFirstParentLog(out: string, dir: string): HistoryCommit[] {
  const commits: HistoryCommit[] = [];
  let cur: HistoryCommit | null = null;
  const tokens = out.split('\0');
  for (let i = 0; i < tokens.length; i++) {
    const tok = (tokens[i] as string).replace(/^\n+/, '');
    if (tok === '') continue;
    if (tok.startsWith('\x01')) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: \x01/\x02 are the record separators of our own --format
      const m = /^\x01([0-9a-f]+) ?([0-9a-f ]*)\x02(.*)$/s.exec(tok);
      if (!m) throw new Error(`git log in ${dir}: cannot read commit header ${JSON.stringify(tok.slice(0, 80))}`);
      const parents = (m[2] as string).trim().split(' ').filter(Boolean);
      cur = { sha: m[1] as string, parent: parents[0] ?? null, date: (m[3] as string).trim(), changes: [] };
      commits.push(cur);
    } else if (tok.startsWith(':') && cur) {
      const f = tok.slice(1).split(' ');
      const path = tokens[++i] ?? '';
      cur.changes.push({ oldBlob: f[2] as string, newBlob: f[3] as string, status: (f[4] ?? '').charAt(0), path });
    }
  }
  return commits.reverse(); // git log lists newest first
}
