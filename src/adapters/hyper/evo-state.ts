// An Evo state file: where a repository's adapter stands after the commits applied so far. It
// records the repository, the checkpoint (its SHA-256), the commit the state was built at and the
// last commit applied, the state vector itself (float32, base64) and the adapter's content hash.
// Updates are one GRU step each and are written atomically; a commit applied twice, an ancestor of
// the last one, or one not descending from it is refused with the reason.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../../util/atomic.js';
import { gitOutput, isGitWorkTreeRoot } from '../../util/git.js';
import { productionDiff } from '../../data/evo/build.js';
import { sha256Hex } from './hash.js';
import type { EvoNetwork } from './evo.js';

export const EVO_STATE_FORMAT = 'code2lora-evo-state';

export interface EvoStateEvent {
  kind: 'init' | 'commit' | 'diff';
  commit?: string;
  diffSha256?: string;
  adapterSha256: string;
  /** production-diff sections seen (commit and diff events) */
  sections?: number;
}

export interface EvoStateFile {
  format: typeof EVO_STATE_FORMAT;
  version: 1;
  repository: { path: string };
  checkpoint: { dir: string; sha256: string };
  /** commit whose tree gave the initial state (null: not a git work tree) */
  initCommit: string | null;
  /** last commit applied (or initCommit); null when the state follows no git history */
  lastCommit: string | null;
  /** SHA-256 of raw diffs applied with --diff since lastCommit (the same diff twice is refused) */
  diffsSinceCommit: string[];
  steps: number;
  adapterSha256: string;
  /** float32 little-endian, base64 */
  state: string;
  stateDim: number;
  history: EvoStateEvent[];
}

export function encodeState(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function decodeState(s: EvoStateFile): Float32Array {
  const buf = Buffer.from(s.state, 'base64');
  if (buf.length !== s.stateDim * 4) throw new Error(`evo state: ${buf.length} state bytes, expected ${s.stateDim * 4}`);
  const out = new Float32Array(s.stateDim);
  Buffer.from(out.buffer).set(buf);
  return out;
}

export function readEvoState(file: string): EvoStateFile {
  let s: EvoStateFile;
  try {
    s = JSON.parse(fs.readFileSync(file, 'utf8')) as EvoStateFile;
  } catch (err) {
    throw new Error(`evo state ${file}: cannot read (${(err as Error).message})`);
  }
  if (s.format !== EVO_STATE_FORMAT)
    throw new Error(`evo state ${file}: format is ${JSON.stringify(s.format)}, expected "${EVO_STATE_FORMAT}"`);
  decodeState(s);
  return s;
}

export function writeEvoState(file: string, s: EvoStateFile): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomicSync(file, `${JSON.stringify(s, null, 2)}\n`);
}

function checkCheckpoint(net: EvoNetwork, s: EvoStateFile): void {
  if (s.checkpoint.sha256 !== net.checkpointSha256)
    throw new Error(
      `evo state was built with checkpoint ${s.checkpoint.sha256.slice(0, 16)} (${s.checkpoint.dir}), this checkpoint is ${net.checkpointSha256.slice(0, 16)}; run \`code2lora evo init\` again`,
    );
}

/** The initial state from the repository's files as they are now (HEAD recorded when it is a git work tree). */
export async function evoInit(
  net: EvoNetwork,
  repoDir: string,
  checkpointDir: string,
  cacheDir: string | null,
  onFile?: (done: number, total: number) => void,
): Promise<{ state: EvoStateFile; files: number }> {
  const emb = net.embedRepository(repoDir, cacheDir, onFile);
  const head = (await isGitWorkTreeRoot(repoDir)) ? (await gitOutput(repoDir, ['rev-parse', 'HEAD'])).trim() : null;
  return { state: newState(net, repoDir, checkpointDir, head, net.initialState(emb.vector)), files: emb.files };
}

/** A state built from an initial vector at `commit` (also what `evo replay` starts from). */
export function newState(net: EvoNetwork, repoDir: string, checkpointDir: string, commit: string | null, h0: Float32Array): EvoStateFile {
  const { sha256 } = net.adapter(h0);
  return {
    format: EVO_STATE_FORMAT,
    version: 1,
    repository: { path: path.resolve(repoDir) },
    checkpoint: { dir: path.resolve(checkpointDir), sha256: net.checkpointSha256 },
    initCommit: commit,
    lastCommit: commit,
    diffsSinceCommit: [],
    steps: 0,
    adapterSha256: sha256,
    state: encodeState(h0),
    stateDim: h0.length,
    history: [{ kind: 'init', ...(commit ? { commit } : {}), adapterSha256: sha256 }],
  };
}

function advance(net: EvoNetwork, s: EvoStateFile, diffEmbedding: Float32Array, event: Omit<EvoStateEvent, 'adapterSha256'>): EvoStateFile {
  const next = net.stepState(decodeState(s), diffEmbedding);
  const { sha256 } = net.adapter(next);
  return {
    ...s,
    steps: s.steps + 1,
    adapterSha256: sha256,
    state: encodeState(next),
    history: [...s.history, { ...event, adapterSha256: sha256 }],
  };
}

async function isAncestor(dir: string, a: string, b: string): Promise<boolean> {
  try {
    await gitOutput(dir, ['merge-base', '--is-ancestor', a, b]);
    return true;
  } catch (err) {
    if (/exit 1:/.test((err as Error).message)) return false;
    throw err;
  }
}

/** Applies one commit: the production diff from the last applied commit to `rev`, one GRU step. */
export async function evoApplyCommit(
  net: EvoNetwork,
  s: EvoStateFile,
  rev: string,
  cacheDir: string | null,
  opts: { repoDir?: string; maxDiffBytes?: number } = {},
): Promise<EvoStateFile> {
  checkCheckpoint(net, s);
  const dir = opts.repoDir ?? s.repository.path;
  if (/^-/.test(rev)) throw new Error(`evo update: not a revision: ${JSON.stringify(rev)}`);
  let sha: string;
  try {
    sha = (await gitOutput(dir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])).trim();
  } catch {
    throw new Error(`evo update: ${rev} is not a commit of ${dir}`);
  }
  if (!s.lastCommit)
    throw new Error('evo update: this state follows no git history (it was initialised outside a git work tree); use --diff');
  if (sha === s.lastCommit) throw new Error(`evo update: commit ${sha.slice(0, 12)} is already applied (it is the state's last commit)`);
  if (await isAncestor(dir, sha, s.lastCommit))
    throw new Error(
      `evo update: commit ${sha.slice(0, 12)} is older than the state's last commit ${s.lastCommit.slice(0, 12)} (already applied or out of order)`,
    );
  if (!(await isAncestor(dir, s.lastCommit, sha)))
    throw new Error(`evo update: commit ${sha.slice(0, 12)} does not descend from the state's last commit ${s.lastCommit.slice(0, 12)}`);
  const { diff } = await productionDiff(dir, s.lastCommit, sha, opts.maxDiffBytes ?? 1024 * 1024);
  const e = net.diffEncoder(cacheDir).embed(diff);
  const next = advance(net, s, e.vector, { kind: 'commit', commit: sha, diffSha256: sha256Hex(diff), sections: e.sections });
  return { ...next, lastCommit: sha, diffsSinceCommit: [] };
}

/** Applies a raw diff text (no git check beyond refusing the same diff twice since the last commit). */
export function evoApplyDiff(net: EvoNetwork, s: EvoStateFile, diff: string, cacheDir: string | null): EvoStateFile {
  checkCheckpoint(net, s);
  const h = sha256Hex(diff);
  if (s.diffsSinceCommit.includes(h)) throw new Error(`evo update: this diff (sha256 ${h.slice(0, 16)}) is already applied`);
  const e = net.diffEncoder(cacheDir).embed(diff);
  const next = advance(net, s, e.vector, { kind: 'diff', diffSha256: h, sections: e.sections });
  return { ...next, diffsSinceCommit: [...s.diffsSinceCommit, h] };
}
