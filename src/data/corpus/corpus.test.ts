// End to end, no network: a fake Debian archive on 127.0.0.1, signed with a throwaway gpg key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildTar, type TarMemberSpec } from '../tar/writer.js';
import { defaultFetchConfig, fetchCorpus } from './fetch.js';
import { addToCorpus, defaultAddConfig } from './add.js';
import { readManifest } from '../manifest.js';
import { buildStaticTasks, defaultBuildConfig } from '../tasks/build.js';
import { requiredTool } from '../../../test/support/required-tool.js';

const hasGpg = requiredTool(
  'gpg and gpgv',
  spawnSync('gpg', ['--version']).status === 0 && spawnSync('gpgv', ['--version']).status === 0,
  'apt-get install gnupg gpgv (scripts/setup does)',
);

let work: string;
let archive: string;
let keyring: string;
let server: Server;
let baseUrl: string;
const requests: string[] = [];

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function testFile(n: number): string {
  const lines = ['import pytest', 'from pkg import f', '', 'def test_f():'];
  for (let i = 0; i < n; i++) lines.push(`    assert f(${i}) == ${i + 1}`);
  return `${lines.join('\n')}\n`;
}

interface Pkg {
  name: string;
  version: string;
  members: TarMemberSpec[];
  codec: 'gz' | 'xz';
  serve?: boolean;
  lieAboutSha?: boolean;
}

function tarball(p: Pkg): Buffer {
  const tar = buildTar(p.members);
  return p.codec === 'gz' ? gzipSync(tar) : execFileSync('xz', ['-c'], { input: tar });
}

function project(name: string, asserts: number, extra: TarMemberSpec[] = []): TarMemberSpec[] {
  return [
    { path: `${name}-1.0/`, type: '5' },
    { path: `${name}-1.0/pkg/__init__.py`, data: 'def f(x):\n    return x + 1\n' },
    { path: `${name}-1.0/tests/test_f.py`, data: testFile(asserts) },
    ...extra,
  ];
}

const PKGS: Pkg[] = [
  { name: 'good-one', version: '1.0-1', codec: 'gz', members: project('good-one', 12) },
  { name: 'good-two', version: '2:1.0-3', codec: 'xz', members: project('good-two', 15) },
  {
    name: 'robust',
    version: '1.0-1',
    codec: 'gz',
    members: project('robust', 11, [
      { path: 'robust-1.0/tests/test_latin1.py', data: Buffer.from('def test_a():\n    assert s == "caf\xe9"\n', 'latin1') },
      { path: 'robust-1.0/tests/test_binary.py', data: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]) },
      { path: 'robust-1.0/tests/test_huge.py', data: `def test_h():\n    assert x == 1\n${'# pad\n'.repeat(200_000)}` },
      { path: 'robust-1.0/tests/test_syntax.py', data: 'def test_s(:\n    assert x == 1\n' },
      { path: 'robust-1.0/tests/test_more.py', data: 'def test_m():\n    assert g() == "kept"\n' },
    ]),
  },
  { name: 'few', version: '1.0-1', codec: 'gz', members: project('few', 2) },
  { name: 'gone', version: '1.0-1', codec: 'gz', members: project('gone', 20), serve: false },
  {
    name: 'hostile',
    version: '1.0-1',
    codec: 'gz',
    members: [
      { path: 'hostile-1.0/tests/test_f.py', data: testFile(30) },
      { path: 'hostile-1.0/link', type: '2', linkpath: '../../../../..' },
      { path: 'hostile-1.0/link/pwned.txt', data: 'pwned' },
    ],
  },
  {
    name: 'traversal',
    version: '1.0-1',
    codec: 'gz',
    members: [
      { path: 'traversal-1.0/tests/test_f.py', data: testFile(30) },
      { path: 'traversal-1.0/../../../pwned.txt', data: 'pwned' },
    ],
  },
  { name: 'badsum', version: '1.0-1', codec: 'gz', members: project('badsum', 20), lieAboutSha: true },
];

beforeAll(async () => {
  if (!hasGpg) return;
  work = mkdtempSync(path.join(tmpdir(), 'corpus-'));
  archive = path.join(work, 'archive');
  const stanzas: string[] = [];
  for (const p of PKGS) {
    const dir = `pool/main/${p.name[0]}/${p.name}`;
    const upstream = p.version.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
    const file = `${p.name}_${upstream}.orig.tar.${p.codec}`;
    const data = tarball(p);
    if (p.serve !== false) {
      mkdirSync(path.join(archive, dir), { recursive: true });
      writeFileSync(path.join(archive, dir, file), data);
    }
    const sum = p.lieAboutSha ? '0'.repeat(64) : sha256(data);
    stanzas.push(
      `Package: ${p.name}\nBinary: python3-${p.name}\nVersion: ${p.version}\nBuild-Depends: debhelper-compat (= 13), python3-all, python3-pytest <!nocheck>\nChecksums-Sha256:\n ${sum} ${data.length} ${file}\nDirectory: ${dir}\n`,
    );
  }
  stanzas.push(
    'Package: notpython\nBinary: libnot1\nVersion: 1-1\nBuild-Depends: python3-pytest\nChecksums-Sha256:\n 1111111111111111111111111111111111111111111111111111111111111111 10 notpython_1.orig.tar.gz\nDirectory: pool/main/n/notpython\n',
  );
  const sources = execFileSync('xz', ['-c'], { input: stanzas.join('\n') });
  mkdirSync(path.join(archive, 'dists/trixie/main/source'), { recursive: true });
  writeFileSync(path.join(archive, 'dists/trixie/main/source/Sources.xz'), sources);
  const release = `Origin: Test\nSuite: stable\nCodename: trixie\nDate: Sat, 21 Nov 2026 09:15:44 UTC\nSHA256:\n ${sha256(sources)} ${sources.length} main/source/Sources.xz\n`;
  const home = path.join(work, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Test Archive <t@example.org>', 'ed25519', 'sign', 'never'], {
    env,
    stdio: 'ignore',
  });
  keyring = path.join(work, 'keyring.gpg');
  writeFileSync(keyring, execFileSync('gpg', ['--batch', '--export'], { env }));
  writeFileSync(path.join(archive, 'dists/trixie/InRelease'), execFileSync('gpg', ['--batch', '--clearsign'], { env, input: release }));
  server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0] as string);
    requests.push(url);
    const file = path.join(archive, url);
    if (!file.startsWith(archive + path.sep) || !existsSync(file)) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  baseUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  if (!hasGpg) return;
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(work, { recursive: true, force: true });
});

/** Every file under `dir`, relative. */
function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe.skipIf(!hasGpg)('corpus fetch (fake signed archive on localhost)', () => {
  it('keeps good projects, skips 404s, few assertions, hostile and mismatched tarballs, writes a manifest', async () => {
    const cache = path.join(work, 'cache');
    const warnings: string[] = [];
    const r = await fetchCorpus(
      { ...defaultFetchConfig(), count: 10, cacheDir: cache, baseUrl, keyring, concurrency: 3 },
      { onWarn: (m) => warnings.push(m) },
    );
    expect(r.candidates).toBe(PKGS.length);
    expect(r.projects.map((p) => p.name).sort()).toEqual(['good-one', 'good-two', 'robust']);
    expect(r.missing).toBe(1);
    expect(r.fewAssertions).toBe(1);
    expect(r.rejected.map((x) => x.name).sort()).toEqual(['hostile', 'traversal']);
    expect(r.rejected.find((x) => x.name === 'hostile')?.reason).toMatch(
      /hostile_1\.0\.orig\.tar\.gz: refused member "hostile-1\.0\/link": symbolic link .* leaves the folder/,
    );
    expect(r.rejected.find((x) => x.name === 'traversal')?.reason).toMatch(/path contains "\.\."/);
    expect(r.errors.map((x) => x.name)).toEqual(['badsum']);
    expect(r.errors[0]?.reason).toMatch(/checksum mismatch: expected sha256 0{64}/);
    expect(warnings.some((w) => /only 3 of 10 projects/.test(w))).toBe(true);

    const m = await readManifest(cache);
    const two = m.projects.find((p) => p.name === 'good-two');
    expect(two).toMatchObject({
      version: '1.0',
      dir: 'projects/good-two',
      tarball: 'good-two_1.0.orig.tar.xz',
      testFiles: 1,
      assertions: 15,
      source: { kind: 'debian', suite: 'trixie' },
    });
    expect(two?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m.projects.find((p) => p.name === 'robust')).toMatchObject({ testFiles: 6, skippedTestFiles: 4, assertions: 12 });
    expect(m.archive?.signers).toHaveLength(1);
    expect(existsSync(path.join(cache, 'projects/good-one/tests/test_f.py'))).toBe(true); // top folder unwrapped

    // Nothing outside the cache (and the archive and key material of this test) was written.
    expect(readdirSync(work).sort()).toEqual(['archive', 'cache', 'gnupg', 'keyring.gpg']);
    expect(allFiles(cache).some((f) => f.includes('pwned'))).toBe(false);
    expect(readdirSync(path.join(cache, 'projects')).filter((f) => f.startsWith('.tmp'))).toEqual([]);

    // A second run is served from the cache: only the index is fetched again.
    requests.length = 0;
    const again = await fetchCorpus({ ...defaultFetchConfig(), count: 10, cacheDir: cache, baseUrl, keyring, concurrency: 3 });
    expect(again.reused).toBe(3);
    expect(again.projects.map((p) => p.name)).toEqual(r.projects.map((p) => p.name));
    expect(requests.filter((u) => u.includes('/pool/'))).toEqual(['/pool/main/b/badsum/badsum_1.0.orig.tar.gz']);

    // Tasks from the fetched corpus: skipped files are reported, the good ones kept.
    const out = path.join(work, 'cache', 'tasks');
    const b = await buildStaticTasks({ ...defaultBuildConfig(), corpusDir: cache, outDir: out });
    expect(b.stats.files?.skipped).toEqual({ 'not-utf8': 1, binary: 1, 'too-large': 1, 'syntax-error': 1 });
    // Each project's asserts sit in one test function: the per-function cap keeps 5 of them.
    expect(b.stats.tasks.total).toBe(5 + 5 + 5 + 1);
    expect(b.stats.selection?.extracted.total).toBe(12 + 15 + 11 + 1);
    expect(b.stats.selection?.removed['function-cap']).toBe(7 + 10 + 6);
    const lines = ['train', 'ir-val', 'ir-test', 'cr-val', 'cr-test'].flatMap((s) =>
      readFileSync(path.join(out, `${s}.jsonl`), 'utf8')
        .split('\n')
        .filter(Boolean),
    );
    expect(lines).toHaveLength(16);
    const t = JSON.parse(lines[0] as string);
    expect(Object.keys(t)).toEqual([
      'id',
      'repo',
      'file',
      'line',
      'family',
      'prefix',
      'target',
      'function',
      'kind',
      'multiline',
      'assertion',
    ]);
    const stats = JSON.parse(readFileSync(path.join(out, 'stats.json'), 'utf8'));
    expect(stats.repos.total).toBe(3);
    expect(stats.median.prefixChars).toBeGreaterThan(0);
  });

  it('refuses an InRelease that does not verify', async () => {
    const cache = path.join(work, 'cache-bad');
    await expect(
      fetchCorpus({
        ...defaultFetchConfig(),
        count: 1,
        cacheDir: cache,
        baseUrl,
        keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
      }),
    ).rejects.toThrow(/InRelease: signature verification failed/);
  });
});

describe.skipIf(!hasGpg)('corpus add', () => {
  it('adds a plain folder and a git repository, reports an empty repository and a missing path', async () => {
    const src = path.join(work, 'src');
    mkdirSync(path.join(src, 'plain/tests'), { recursive: true });
    writeFileSync(path.join(src, 'plain/tests/test_p.py'), testFile(3));
    const repo = path.join(src, 'gitrepo');
    mkdirSync(path.join(repo, 'tests'), { recursive: true });
    writeFileSync(path.join(repo, 'tests/test_g.py'), testFile(4));
    writeFileSync(path.join(repo, 'untracked_test.py'), testFile(9));
    const git = (cwd: string, ...a: string[]): void => {
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', '-C', cwd, ...a], { stdio: 'ignore' });
    };
    git(repo, 'init', '-q');
    git(repo, 'add', 'tests');
    git(repo, 'commit', '-qm', 'one');
    const empty = path.join(src, 'empty');
    mkdirSync(empty);
    git(empty, 'init', '-q');
    const cache = path.join(work, 'cache');
    const r = await addToCorpus([path.join(src, 'plain'), repo, empty, path.join(src, 'nope')], { ...defaultAddConfig(), cacheDir: cache });
    expect(r.added.map((e) => [e.name, e.testFiles, e.assertions])).toEqual([
      ['plain', 1, 3],
      ['gitrepo', 1, 4],
    ]);
    expect(r.added[1]?.source).toMatchObject({ kind: 'local', path: repo });
    expect(r.failed.map((f) => f.reason)).toEqual(['empty git repository (no commits)', 'not a folder']);
    expect(existsSync(path.join(cache, 'projects/gitrepo/untracked_test.py'))).toBe(false);
    const m = await readManifest(cache);
    expect(m.projects.map((p) => p.name).sort()).toEqual(['gitrepo', 'good-one', 'good-two', 'plain', 'robust']);
  });
});
