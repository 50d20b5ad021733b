// Sources index: parse source-package stanzas and pick Python projects with a pytest suite.
import { field, fieldLines, parseDeb822 } from './deb822.js';

export interface SourceFile {
  name: string;
  size: number;
  sha256: string;
}

export interface SourcePackage {
  name: string;
  version: string;
  directory: string;
  binaries: string[];
  buildDepends: string;
  testsuite: string;
  files: SourceFile[];
}

export interface Candidate {
  pkg: SourcePackage;
  /** The upstream tarball (*.orig.tar.{gz,xz,bz2}). */
  tarball: SourceFile;
}

export interface CandidateFilter {
  /** Largest upstream tarball accepted, in bytes. */
  maxTarballBytes: number;
}

export function parseSources(text: string): SourcePackage[] {
  const out: SourcePackage[] = [];
  for (const st of parseDeb822(text)) {
    const name = field(st, 'Package');
    const version = field(st, 'Version');
    const directory = field(st, 'Directory');
    if (!name || !version || !directory) continue;
    const files: SourceFile[] = [];
    for (const line of fieldLines(st, 'Checksums-Sha256')) {
      const [sha256, size, fname] = line.split(/\s+/);
      if (sha256 && size && fname && /^[0-9a-f]{64}$/.test(sha256)) files.push({ name: fname, size: Number(size), sha256 });
    }
    const deps = ['Build-Depends', 'Build-Depends-Indep', 'Build-Depends-Arch'].map((f) => field(st, f) ?? '').join(', ');
    out.push({
      name,
      version,
      directory,
      files,
      binaries: (field(st, 'Binary') ?? '').split(/[,\s]+/).filter(Boolean),
      buildDepends: deps.replace(/\s+/g, ' '),
      testsuite: field(st, 'Testsuite') ?? '',
    });
  }
  return out;
}

const ORIG_RE = /\.orig\.tar\.(gz|xz|bz2)$/;
/** A file name that is safe to use as one path component under the cache. */
const SAFE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9.+~_-]*$/;

export function hasPytestSuite(p: SourcePackage): boolean {
  const deps = p.buildDepends.split(',').map((d) => d.trim().split(/[\s(:<[]/)[0] ?? '');
  if (deps.some((d) => d.startsWith('python3-pytest'))) return true;
  return /\bautopkgtest-pkg-pybuild\b/.test(p.testsuite);
}

/** Source packages that build a python3-* binary, carry a pytest suite and a small upstream tarball. */
export function selectCandidates(pkgs: SourcePackage[], filter: CandidateFilter): Candidate[] {
  const seen = new Set<string>();
  const out: Candidate[] = [];
  for (const pkg of pkgs) {
    if (seen.has(pkg.name)) continue;
    if (!pkg.binaries.some((b) => b.startsWith('python3-'))) continue;
    if (!hasPytestSuite(pkg)) continue;
    const tarball = pkg.files.find((f) => ORIG_RE.test(f.name));
    if (!tarball || tarball.size > filter.maxTarballBytes) continue;
    if (!SAFE_NAME_RE.test(tarball.name) || !SAFE_NAME_RE.test(pkg.name)) continue;
    if (pkg.directory.split('/').some((c) => c === '..' || c === '') || pkg.directory.startsWith('/')) continue;
    seen.add(pkg.name);
    out.push({ pkg, tarball });
  }
  return out.sort((a, b) => (a.pkg.name < b.pkg.name ? -1 : a.pkg.name > b.pkg.name ? 1 : 0));
}
