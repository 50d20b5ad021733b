// Thin helpers over the git CLI: one-shot commands with captured output, and a long-lived
// `git cat-file --batch` for reading many blobs without a process per file.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface GitRunOptions {
  /** Refuse more than this many bytes of stdout (default 256 MiB). */
  maxBytes?: number;
}

/** Run `git -C repo ...args` and return stdout; throws with git's stderr and the command on failure. */
export function gitOutput(repo: string, args: string[], opts: GitRunOptions = {}): Promise<string> {
  return gitBuffer(repo, args, opts).then((b) => b.toString('utf8'));
}

export function gitBuffer(repo: string, args: string[], opts: GitRunOptions = {}): Promise<Buffer> {
  const maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', repo, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    let n = 0;
    let err = '';
    let tooBig = false;
    child.stdout.on('data', (d: Buffer) => {
      n += d.length;
      if (n > maxBytes) {
        tooBig = true;
        child.kill('SIGKILL');
        return;
      }
      out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString('utf8');
    });
    child.on('error', (e) => reject(new Error(`git: cannot run (${e.message})`)));
    child.on('close', (code) => {
      if (tooBig) reject(new Error(`git ${args[0]} in ${repo}: output over ${maxBytes} bytes`));
      else if (code !== 0) reject(new Error(`git ${args.join(' ')} in ${repo}: exit ${code}: ${err.trim()}`));
      else resolve(Buffer.concat(out));
    });
  });
}

/** True when `dir` is the top folder of a git work tree. */
export async function isGitWorkTreeRoot(dir: string): Promise<boolean> {
  try {
    const top = (await gitOutput(dir, ['rev-parse', '--show-toplevel'])).trim();
    const { realpath } = await import('node:fs/promises');
    return (await realpath(top)) === (await realpath(dir));
  } catch {
    return false;
  }
}

/** Reads objects through one `git cat-file --batch` process. Call close() when done. */
export class GitObjectReader {
  private child: ChildProcessWithoutNullStreams;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;
  private stderr = '';

  constructor(private readonly repo: string) {
    this.child = spawn('git', ['-C', repo, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.wake();
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString('utf8');
    });
    this.child.on('close', () => {
      this.ended = true;
      this.wake();
    });
    this.child.on('error', () => {
      this.ended = true;
      this.wake();
    });
    this.child.stdin.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async need(n: number): Promise<void> {
    while (this.buf.length < n) {
      if (this.ended) throw new Error(`git cat-file --batch in ${this.repo} ended early: ${this.stderr.trim()}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private chain: Promise<unknown> = Promise.resolve();

  /** The object's bytes, or null when it does not exist. Requests are served in order. */
  read(spec: string): Promise<Buffer | null> {
    const p = this.chain.then(() => this.readNow(spec));
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async readNow(spec: string): Promise<Buffer | null> {
    if (/[\n\r]/.test(spec)) throw new Error(`git cat-file: bad object name ${JSON.stringify(spec)}`);
    this.child.stdin.write(`${spec}\n`);
    let nl: number;
    for (;;) {
      nl = this.buf.indexOf(10);
      if (nl >= 0) break;
      await this.need(this.buf.length + 1);
    }
    const header = this.buf.subarray(0, nl).toString('utf8');
    this.buf = this.buf.subarray(nl + 1);
    if (header.endsWith(' missing') || header.endsWith(' ambiguous')) return null;
    const m = /^[0-9a-f]+ \S+ (\d+)$/.exec(header);
    if (!m) throw new Error(`git cat-file --batch in ${this.repo}: unexpected header ${JSON.stringify(header)}`);
    const size = Number(m[1]);
    await this.need(size + 1);
    const data = Buffer.from(this.buf.subarray(0, size));
    this.buf = this.buf.subarray(size + 1);
    return data;
  }

  close(): void {
    this.child.stdin.end();
  }
}
