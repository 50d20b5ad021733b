// `corpus fetch`: real Python projects with pytest suites from the Debian archive apt is configured for.
//   InRelease (gpgv-verified) -> Sources.xz (SHA256 from InRelease) -> candidates (python3-* binary,
//   pytest build-dependency or pybuild autopkgtest, small upstream tarball) -> seeded shuffle ->
//   parallel downloads (404 skipped, SHA256 checked) -> safe extraction -> keep projects whose tests
//   hold enough assertions -> manifest. Everything lands under cacheDir and is reused on a rerun.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../../util/atomic.js';
import { Rng } from '../../util/rng.js';
import { readAptArchive } from '../debian/apt-sources.js';
import { downloadVerified, fetchBytes } from '../debian/http.js';
import { parseRelease, verifyClearsigned, type Release } from '../debian/inrelease.js';
import { parseSources, selectCandidates, type Candidate } from '../debian/sources.js';
import { decompressToBuffer } from '../tar/decompress.js';
import { defaultTarLimits, extractTarball, TarSafetyError, validateTarLimits, type TarLimits } from '../tar/extract.js';
import { loadPythonParser, type PythonParser } from '../python/parser.js';
import { defaultSourceLimits, type SourceLimits } from '../python/source.js';
import { readManifest, writeManifest, type ArchiveInfo, type ProjectEntry } from './manifest.js';
import { scanProject } from './scan.js';
import { placeProject, readMarker } from './place.js';
import { normalizeProjectName } from './exclusions.js';

export interface FetchConfig {
  /** Projects to keep. */
  count: number;
  cacheDir: string;
  seed: number;
  /** Debian suite to read (the archive serves most trixie upstream tarballs). */
  suite: string;
  component: string;
  /** Parallel downloads. */
  concurrency: number;
  /** Largest upstream tarball considered, in bytes. */
  maxTarballBytes: number;
  /** Projects whose tests hold fewer assertions are dropped. */
  minAssertions: number;
  /** Re-ask the archive about tarballs an earlier run found missing (404) or rejected. */
  recheck: boolean;
  tarLimits: TarLimits;
  sourceLimits: SourceLimits;
  /** apt configuration folder to read the archive from. */
  etcApt: string;
  /** Override the archive URL / keyring read from apt. */
  baseUrl: string | null;
  keyring: string | null;
  /** Projects never to fetch (compared as bare names, see normalizeProjectName): e.g. the benchmark's
   *  projects when fetching extra pretraining data. Applied after the seeded shuffle. */
  excludeNames: string[];
}

export function defaultFetchConfig(): FetchConfig {
  return {
    count: 100,
    cacheDir: '.cache/corpus',
    seed: 0,
    suite: 'trixie',
    component: 'main',
    concurrency: 8,
    maxTarballBytes: 5 * 1024 * 1024,
    minAssertions: 10,
    recheck: false,
    tarLimits: defaultTarLimits(),
    sourceLimits: defaultSourceLimits(),
    etcApt: '/etc/apt',
    baseUrl: null,
    keyring: null,
    excludeNames: [],
  };
}

export function validateFetchConfig(c: FetchConfig): FetchConfig {
  const posInt = (k: keyof FetchConfig): void => {
    const v = c[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
      throw new Error(`FetchConfig.${k}: expected a positive integer, got ${String(v)}`);
  };
  posInt('count');
  posInt('concurrency');
  posInt('maxTarballBytes');
  if (!Number.isInteger(c.minAssertions) || c.minAssertions < 0)
    throw new Error(`FetchConfig.minAssertions: expected an integer >= 0, got ${c.minAssertions}`);
  if (!Number.isInteger(c.seed)) throw new Error(`FetchConfig.seed: expected an integer, got ${c.seed}`);
  if (c.concurrency > 64) throw new Error(`FetchConfig.concurrency: at most 64, got ${c.concurrency}`);
  if (!/^[a-z][a-z0-9-]*$/.test(c.suite)) throw new Error(`FetchConfig.suite: not a suite name: ${JSON.stringify(c.suite)}`);
  if (!/^[a-z][a-z0-9-]*$/.test(c.component))
    throw new Error(`FetchConfig.component: not a component name: ${JSON.stringify(c.component)}`);
  if (!c.cacheDir) throw new Error('FetchConfig.cacheDir: required');
  return Object.freeze({ ...c, tarLimits: validateTarLimits(c.tarLimits) });
}

export interface FetchProgress {
  phase: 'index' | 'projects';
  message: string;
  tried: number;
  accepted: number;
  target: number;
  bytes: number;
}

export interface FetchEvents {
  onProgress?: (p: FetchProgress) => void;
  onWarn?: (msg: string) => void;
}

type Outcome =
  | { status: 'ok'; entry: ProjectEntry; cached: boolean; bytes: number }
  | { status: 'missing' | 'rejected' | 'few-assertions' | 'error'; reason: string; bytes: number; assertions?: number };

interface StateRecord {
  status: 'missing' | 'rejected' | 'few-assertions';
  reason: string;
  assertions?: number;
}

export interface FetchReport {
  requested: number;
  accepted: number;
  candidates: number;
  tried: number;
  reused: number;
  missing: number;
  fewAssertions: number;
  rejected: { name: string; reason: string }[];
  errors: { name: string; reason: string }[];
  downloadedBytes: number;
  seconds: { index: number; projects: number; total: number };
  manifest: string;
  archive: ArchiveInfo;
  projects: ProjectEntry[];
}

const STATE_FILE = 'fetch-state.json';

async function loadRelease(
  cfg: FetchConfig,
  baseUrl: string,
  keyring: string,
  indexDir: string,
  warn: (m: string) => void,
): Promise<Release> {
  const url = `${baseUrl}/dists/${cfg.suite}/InRelease`;
  const cached = path.join(indexDir, 'InRelease');
  let data: Uint8Array;
  try {
    data = await fetchBytes(url);
  } catch (err) {
    const old = await fsp.readFile(cached).catch(() => null);
    if (!old) throw new Error(`${url}: ${(err as Error).message}`);
    warn(`${url}: ${(err as Error).message}; using the cached copy (verified again)`);
    data = old;
  }
  const v = await verifyClearsigned(data, keyring, url);
  await writeFileAtomic(cached, data);
  const rel = parseRelease(v.text, v.signers);
  if (rel.codename !== cfg.suite && rel.suite !== cfg.suite)
    throw new Error(`${url}: signed for suite ${rel.suite}/${rel.codename}, not ${cfg.suite}`);
  return rel;
}

/** Fetch the corpus described by `cfg`; returns what happened, the manifest written on disk. */
export async function fetchCorpus(config: FetchConfig, events: FetchEvents = {}): Promise<FetchReport> {
  const cfg = validateFetchConfig(config);
  const t0 = performance.now();
  const warn = events.onWarn ?? (() => undefined);
  const cacheDir = path.resolve(cfg.cacheDir);
  const indexDir = path.join(cacheDir, 'debian', cfg.suite);
  const tarDir = path.join(cacheDir, 'tarballs');
  const projDir = path.join(cacheDir, 'projects');
  await Promise.all([indexDir, tarDir, projDir].map((d) => fsp.mkdir(d, { recursive: true })));

  const apt = cfg.baseUrl ? null : readAptArchive(cfg.etcApt);
  const baseUrl = (cfg.baseUrl ?? apt?.baseUrl ?? '').replace(/\/+$/, '');
  const keyring = cfg.keyring ?? apt?.keyring ?? '/usr/share/keyrings/debian-archive-keyring.gpg';
  let progress: FetchProgress = {
    phase: 'index',
    message: `${baseUrl}/dists/${cfg.suite}/InRelease`,
    tried: 0,
    accepted: 0,
    target: cfg.count,
    bytes: 0,
  };
  events.onProgress?.(progress);

  const release = await loadRelease(cfg, baseUrl, keyring, indexDir, warn);
  const sourcesKey = `${cfg.component}/source/Sources.xz`;
  const sourcesEntry = release.sha256.get(sourcesKey);
  if (!sourcesEntry) throw new Error(`${baseUrl}/dists/${cfg.suite}/InRelease: no SHA256 entry for ${sourcesKey}`);
  const sourcesUrl = `${baseUrl}/dists/${cfg.suite}/${sourcesKey}`;
  progress = { ...progress, message: sourcesUrl };
  events.onProgress?.(progress);
  const sourcesFile = path.join(indexDir, 'Sources.xz');
  const got = await downloadVerified(sourcesUrl, sourcesFile, { expected: sourcesEntry, maxBytes: sourcesEntry.size });
  if (got.status === 'missing') throw new Error(`${sourcesUrl}: HTTP ${got.httpStatus}`);
  const all = selectCandidates(parseSources((await decompressToBuffer(sourcesFile)).toString('utf8')), {
    maxTarballBytes: cfg.maxTarballBytes,
  });
  new Rng(cfg.seed).fork('corpus-fetch').shuffle(all);
  const excluded = new Set(cfg.excludeNames.map(normalizeProjectName));
  const candidates = excluded.size ? all.filter((c) => !excluded.has(normalizeProjectName(c.pkg.name))) : all;
  const tIndex = performance.now();
  const archive: ArchiveInfo = {
    baseUrl,
    suite: cfg.suite,
    releaseDate: release.date,
    sourcesSha256: sourcesEntry.sha256,
    signers: release.signers,
  };

  const statePath = path.join(cacheDir, STATE_FILE);
  const state: Record<string, StateRecord> = cfg.recheck
    ? {}
    : await fsp
        .readFile(statePath, 'utf8')
        .then((t) => JSON.parse(t) as Record<string, StateRecord>)
        .catch(() => ({}));
  const parser = await loadPythonParser();

  const results: (Outcome | undefined)[] = new Array(candidates.length);
  let next = 0;
  let accepted = 0;
  let tried = 0;
  let bytes = 0;
  const report = (): void => {
    progress = { phase: 'projects', message: '', tried, accepted: Math.min(accepted, cfg.count), target: cfg.count, bytes };
    events.onProgress?.(progress);
  };
  report();
  const worker = async (): Promise<void> => {
    while (accepted < cfg.count && next < candidates.length) {
      const i = next++;
      const c = candidates[i] as Candidate;
      let r: Outcome;
      try {
        r = await fetchOne(c, { cfg, baseUrl, tarDir, projDir, cacheDir, parser, state });
      } catch (err) {
        r = { status: 'error', reason: err instanceof Error ? err.message : String(err), bytes: 0 };
      }
      results[i] = r;
      tried++;
      bytes += r.bytes;
      if (r.status === 'ok') accepted++;
      else if (r.status !== 'error')
        state[c.tarball.name] = { status: r.status, reason: r.reason, ...(r.assertions !== undefined ? { assertions: r.assertions } : {}) };
      else warn(`${c.pkg.name}: ${r.reason}`);
      report();
    }
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));

  // The first `count` accepted projects in shuffled order: the launched candidates form a prefix of
  // that order, so this choice does not depend on which download finished first.
  const chosen: ProjectEntry[] = [];
  const out: FetchReport = {
    requested: cfg.count,
    accepted: 0,
    candidates: candidates.length,
    tried,
    reused: 0,
    missing: 0,
    fewAssertions: 0,
    rejected: [],
    errors: [],
    downloadedBytes: bytes,
    seconds: { index: 0, projects: 0, total: 0 },
    manifest: '',
    archive,
    projects: chosen,
  };
  for (const [i, r] of results.entries()) {
    if (!r) continue;
    const name = (candidates[i] as Candidate).pkg.name;
    if (r.status === 'ok') {
      if (chosen.length < cfg.count) {
        chosen.push(r.entry);
        if (r.cached) out.reused++;
      }
    } else if (r.status === 'missing') out.missing++;
    else if (r.status === 'few-assertions') out.fewAssertions++;
    else if (r.status === 'rejected') out.rejected.push({ name, reason: r.reason });
    else out.errors.push({ name, reason: r.reason });
  }
  out.accepted = chosen.length;
  await writeFileAtomic(statePath, `${JSON.stringify(state, null, 1)}\n`);
  const manifest = await readManifest(cacheDir);
  manifest.projects = [...manifest.projects.filter((p) => p.source.kind !== 'debian'), ...chosen];
  manifest.archive = archive;
  manifest.seed = cfg.seed;
  out.manifest = await writeManifest(cacheDir, manifest);
  const t1 = performance.now();
  out.seconds = { index: (tIndex - t0) / 1000, projects: (t1 - tIndex) / 1000, total: (t1 - t0) / 1000 };
  if (chosen.length < cfg.count) warn(`only ${chosen.length} of ${cfg.count} projects could be fetched (${candidates.length} candidates)`);
  return out;
}

interface Ctx {
  cfg: FetchConfig;
  baseUrl: string;
  tarDir: string;
  projDir: string;
  cacheDir: string;
  parser: PythonParser;
  state: Record<string, StateRecord>;
}

async function fetchOne(c: Candidate, ctx: Ctx): Promise<Outcome> {
  const { cfg } = ctx;
  const name = c.pkg.name;
  const finalDir = path.join(ctx.projDir, name);
  const marker = await readMarker(finalDir);
  if (marker && marker.sha256 === c.tarball.sha256 && marker.assertions >= cfg.minAssertions)
    return { status: 'ok', entry: marker, cached: true, bytes: 0 };
  const known = ctx.state[c.tarball.name];
  if (known && !(known.status === 'few-assertions' && (known.assertions ?? 0) >= cfg.minAssertions))
    return { status: known.status, reason: known.reason, bytes: 0 };

  const url = `${ctx.baseUrl}/${c.pkg.directory}/${c.tarball.name}`;
  const tarball = path.join(ctx.tarDir, c.tarball.name);
  const got = await downloadVerified(url, tarball, {
    expected: { sha256: c.tarball.sha256, size: c.tarball.size },
    maxBytes: c.tarball.size,
  });
  if (got.status === 'missing') return { status: 'missing', reason: `HTTP ${got.httpStatus}`, bytes: 0 };
  const bytes = got.cached ? 0 : got.bytes;

  const tmp = path.join(ctx.projDir, `.tmp-${name}-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(tmp);
  try {
    try {
      await extractTarball(tarball, tmp, { limits: cfg.tarLimits });
    } catch (err) {
      const reason = err instanceof TarSafetyError ? err.message : `cannot extract: ${(err as Error).message}`;
      return { status: 'rejected', reason, bytes };
    }
    const counts = await scanProject(ctx.parser, tmp, cfg.sourceLimits);
    if (counts.assertions < cfg.minAssertions) {
      return {
        status: 'few-assertions',
        reason: `${counts.assertions} assertions in ${counts.testFiles} test files (< ${cfg.minAssertions})`,
        bytes,
        assertions: counts.assertions,
      };
    }
    const upstream = c.pkg.version.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
    const entry: ProjectEntry = {
      name,
      version: upstream,
      dir: `projects/${name}`,
      tarball: c.tarball.name,
      sha256: c.tarball.sha256,
      source: { kind: 'debian', suite: cfg.suite, package: name, url, size: c.tarball.size },
      ...counts,
    };
    await placeProject(tmp, finalDir, entry, true);
    return { status: 'ok', entry, cached: false, bytes };
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}
