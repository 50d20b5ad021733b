// `corpus add PATH...`: bring a local folder or git repository into the corpus.
// A git repository contributes its committed tree at HEAD (`git archive`, through the safe tar
// extractor); a plain folder is copied (regular files only, links never followed, size caps kept).
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { defaultTarLimits, extractTarStream, validateTarLimits, type TarLimits } from '../tar/extract.js';
import { loadPythonParser } from '../python/parser.js';
import { skipDir } from '../python/files.js';
import { defaultSourceLimits, type SourceLimits } from '../python/source.js';
import { readManifest, writeManifest, type ProjectEntry } from '../manifest.js';
import { scanProject } from './scan.js';
import { placeProject } from './place.js';
import { gitOutput, isGitWorkTreeRoot } from '../../util/git.js';

export interface AddConfig {
  cacheDir: string;
  /** Name for the project (only with a single path); default: the folder's name. */
  name: string | null;
  tarLimits: TarLimits;
  sourceLimits: SourceLimits;
}

export function defaultAddConfig(): AddConfig {
  return { cacheDir: '.cache/corpus', name: null, tarLimits: defaultTarLimits(), sourceLimits: defaultSourceLimits() };
}

export function validateAddConfig(c: AddConfig): AddConfig {
  if (!c.cacheDir) throw new Error('AddConfig.cacheDir: required');
  if (c.name !== null && !/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(c.name))
    throw new Error(`AddConfig.name: ${JSON.stringify(c.name)} is not a safe project name (letters, digits, . _ + -)`);
  return Object.freeze({ ...c, tarLimits: validateTarLimits(c.tarLimits) });
}

export interface AddResult {
  added: ProjectEntry[];
  failed: { path: string; reason: string }[];
  manifest: string;
}

function safeName(base: string): string {
  const s = base.replace(/[^A-Za-z0-9._+-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return s || 'project';
}

/** `git archive --format=tar REV [-- PATHSPEC...]` of a repository (bare or not) as a byte stream. */
export async function* gitArchive(repo: string, rev = 'HEAD', pathspecs: readonly string[] = []): AsyncGenerator<Buffer> {
  if (/^-/.test(rev)) throw new Error(`git archive: not a revision: ${JSON.stringify(rev)}`);
  const args = ['-C', repo, 'archive', '--format=tar', rev, ...(pathspecs.length ? ['--', ...pathspecs] : [])];
  const child = spawn('git', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString('utf8');
  });
  const exited = new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  let finished = false;
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    finished = true;
  } finally {
    if (!finished) child.kill('SIGKILL');
  }
  const code = await exited;
  if (code !== 0) throw new Error(`git archive ${rev} failed (exit ${code}): ${stderr.trim()}`);
}

/** Copy regular files under `from` into `to`, never following links; returns files copied. */
async function copyTree(from: string, to: string, limits: TarLimits): Promise<number> {
  let files = 0;
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    const entries = await fsp.readdir(path.join(from, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? path.join(rel, e.name) : e.name;
      if (e.isDirectory()) {
        if (skipDir(e.name)) continue;
        await fsp.mkdir(path.join(to, r), { recursive: true });
        await walk(r);
      } else if (e.isFile()) {
        const st = await fsp.stat(path.join(from, r));
        if (st.size > limits.maxMemberBytes) continue;
        bytes += st.size;
        files++;
        if (bytes > limits.maxTotalBytes) throw new Error(`more than ${limits.maxTotalBytes} bytes to copy`);
        if (files > limits.maxMembers) throw new Error(`more than ${limits.maxMembers} files to copy`);
        await fsp.copyFile(path.join(from, r), path.join(to, r));
      }
      // symbolic links, sockets, devices: not copied
    }
  };
  await walk('');
  return files;
}

/** Add each path to the corpus under cacheDir; a failing path is reported and the others still added. */
export async function addToCorpus(paths: string[], config: AddConfig): Promise<AddResult> {
  const cfg = validateAddConfig(config);
  if (paths.length === 0) throw new Error('corpus add: no paths given');
  if (cfg.name && paths.length > 1) throw new Error('corpus add: --name needs exactly one path');
  const cacheDir = path.resolve(cfg.cacheDir);
  const projDir = path.join(cacheDir, 'projects');
  await fsp.mkdir(projDir, { recursive: true });
  const manifest = await readManifest(cacheDir);
  const parser = await loadPythonParser();
  const result: AddResult = { added: [], failed: [], manifest: '' };

  for (const p of paths) {
    const abs = path.resolve(p);
    const tmp = path.join(projDir, `.tmp-add-${randomBytes(4).toString('hex')}`);
    try {
      const st = await fsp.stat(abs).catch(() => null);
      if (!st?.isDirectory()) throw new Error('not a folder');
      if (abs === cacheDir || abs.startsWith(cacheDir + path.sep)) throw new Error('is inside the corpus cache');
      await fsp.mkdir(tmp);
      let commit: string | null = null;
      if (await isGitWorkTreeRoot(abs)) {
        commit = (await gitOutput(abs, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).catch(() => '')).trim() || null;
        if (!commit) throw new Error('empty git repository (no commits)');
        await extractTarStream(gitArchive(abs), `${abs} (git archive HEAD)`, tmp, { limits: cfg.tarLimits });
      } else {
        await copyTree(abs, tmp, cfg.tarLimits);
      }
      const base = cfg.name ?? safeName(path.basename(abs));
      // Same source path: replace its entry; another source already using the name: suffix it.
      const sameSource = manifest.projects.find((e) => e.source.kind === 'local' && e.source.path === abs);
      let name = sameSource?.name ?? base;
      for (let k = 2; !sameSource && manifest.projects.some((e) => e.name === name); k++) name = `${base}-${k}`;
      const counts = await scanProject(parser, tmp, cfg.sourceLimits);
      const entry: ProjectEntry = {
        name,
        version: commit ? commit.slice(0, 12) : 'local',
        dir: `projects/${name}`,
        tarball: null,
        sha256: null,
        source: { kind: 'local', path: abs, commit },
        ...counts,
      };
      await placeProject(tmp, path.join(projDir, name), entry, false);
      manifest.projects = [...manifest.projects.filter((e) => e.name !== name), entry];
      result.added.push(entry);
    } catch (err) {
      result.failed.push({ path: abs, reason: err instanceof Error ? err.message : String(err) });
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  }
  result.manifest = await writeManifest(cacheDir, manifest);
  return result;
}
