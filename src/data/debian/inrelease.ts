// InRelease: verify the clearsigned file with gpgv against a keyring, and read its SHA256 index from
// the text gpgv itself vouches for (gpgv --output), never from the unverified bytes.
import { spawn } from 'node:child_process';
import { parseDeb822, field, fieldLines } from './deb822.js';

export interface IndexEntry {
  sha256: string;
  size: number;
}

export interface Release {
  suite: string;
  codename: string;
  date: string;
  /** path relative to dists/<suite>/ -> checksum and size */
  sha256: Map<string, IndexEntry>;
  /** Fingerprints of the keys whose signatures were valid. */
  signers: string[];
}

interface GpgvResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function runGpgv(args: string[], input: Uint8Array): Promise<GpgvResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('gpgv', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString('utf8');
    });
    child.on('error', (e) => reject(new Error(`gpgv: cannot run (${e.message}); install gpgv`)));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/**
 * Verify a clearsigned InRelease with gpgv and return the signed text.
 * Throws (naming `what`) unless gpgv exits 0 and reports at least one VALIDSIG.
 */
export async function verifyClearsigned(data: Uint8Array, keyring: string, what: string): Promise<{ text: string; signers: string[] }> {
  // Status lines go to stderr (fd 2) together with the human messages; stdout gets the signed text.
  const r = await runGpgv(['--keyring', keyring, '--status-fd', '2', '--output', '-', '-'], data);
  const signers = [...r.stderr.matchAll(/^\[GNUPG:\] VALIDSIG (\S+)/gm)].map((m) => m[1] as string);
  if (r.code !== 0 || signers.length === 0) {
    const human = r.stderr
      .split('\n')
      .filter((l) => l && !l.startsWith('[GNUPG:]'))
      .join('; ');
    throw new Error(
      `${what}: signature verification failed with keyring ${keyring} (gpgv exit ${r.code}): ${human || 'no valid signature'}`,
    );
  }
  return { text: r.stdout.toString('utf8'), signers };
}

/** Parse the (already verified) Release text. */
export function parseRelease(text: string, signers: string[] = []): Release {
  const st = parseDeb822(text)[0];
  if (!st) throw new Error('Release: empty file');
  const sha256 = new Map<string, IndexEntry>();
  for (const line of fieldLines(st, 'SHA256')) {
    const [hash, size, name] = line.split(/\s+/);
    if (!hash || !size || !name || !/^[0-9a-f]{64}$/.test(hash)) continue;
    sha256.set(name, { sha256: hash, size: Number(size) });
  }
  return {
    suite: field(st, 'Suite') ?? '',
    codename: field(st, 'Codename') ?? '',
    date: field(st, 'Date') ?? '',
    sha256,
    signers,
  };
}
