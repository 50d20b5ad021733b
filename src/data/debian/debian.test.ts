import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { field, parseDeb822 } from './deb822.js';
import { readAptArchive } from './apt-sources.js';
import { parseRelease, verifyClearsigned } from './inrelease.js';
import { parseSources, selectCandidates } from './sources.js';

const SOURCES = `Package: jinja2
Binary: python-jinja2-doc, python3-jinja2
Version: 3.1.6-1
Build-Depends: debhelper-compat (= 12), python3-all, python3-pytest <!nocheck>,
 python3-sphinx <!nodoc>
Checksums-Sha256:
 68839d7c109c64caf8cedc5b69e3f1be12b9f7619a7546b0e33079057732cf01 2416 jinja2_3.1.6-1.dsc
 0137fb05990d35f1275a587e9aee6d56da821fc83491a0fb838183be43f66d6d 245115 jinja2_3.1.6.orig.tar.gz
 584b46ab0077212fdc82ab2b25ef735b45fb921e7393a99c964b6457e9234113 10540 jinja2_3.1.6-1.debian.tar.xz
Directory: pool/main/j/jinja2

Package: pybuildtest
Binary: python3-pybuildtest
Version: 1.0-1
Testsuite: autopkgtest-pkg-pybuild
Checksums-Sha256:
 1111111111111111111111111111111111111111111111111111111111111111 1000 pybuildtest_1.0.orig.tar.xz
Directory: pool/main/p/pybuildtest

Package: nopytest
Binary: python3-nopytest
Version: 1.0-1
Build-Depends: python3-all
Checksums-Sha256:
 2222222222222222222222222222222222222222222222222222222222222222 1000 nopytest_1.0.orig.tar.gz
Directory: pool/main/n/nopytest

Package: toobig
Binary: python3-toobig
Version: 1.0-1
Build-Depends: python3-pytest
Checksums-Sha256:
 3333333333333333333333333333333333333333333333333333333333333333 99999999 toobig_1.0.orig.tar.gz
Directory: pool/main/t/toobig

Package: notpython
Binary: libfoo1
Version: 1.0-1
Build-Depends: python3-pytest
Checksums-Sha256:
 4444444444444444444444444444444444444444444444444444444444444444 1000 notpython_1.0.orig.tar.gz
Directory: pool/main/n/notpython

Package: native
Binary: python3-native
Version: 1.0
Build-Depends: python3-pytest
Checksums-Sha256:
 5555555555555555555555555555555555555555555555555555555555555555 1000 native_1.0.tar.xz
Directory: pool/main/n/native
`;

describe('deb822', () => {
  it('parses stanzas with continuation lines, case-insensitively', () => {
    const st = parseDeb822(SOURCES);
    expect(st).toHaveLength(6);
    expect(field(st[0]!, 'build-depends')).toContain('\npython3-sphinx');
  });
});

describe('Sources selection', () => {
  it('keeps python3 packages with pytest or pybuild autopkgtest and a small orig tarball', () => {
    const c = selectCandidates(parseSources(SOURCES), { maxTarballBytes: 5 * 1024 * 1024 });
    expect(c.map((x) => x.pkg.name)).toEqual(['jinja2', 'pybuildtest']);
    expect(c[0]!.tarball).toEqual({
      name: 'jinja2_3.1.6.orig.tar.gz',
      size: 245115,
      sha256: '0137fb05990d35f1275a587e9aee6d56da821fc83491a0fb838183be43f66d6d',
    });
  });
});

describe('apt sources', () => {
  it('reads the main archive from deb822 and one-line files, skipping security', () => {
    const etc = mkdtempSync(path.join(tmpdir(), 'apt-'));
    try {
      mkdirSync(path.join(etc, 'sources.list.d'));
      writeFileSync(
        path.join(etc, 'sources.list.d', 'a.sources'),
        'Types: deb\nURIs: http://security.example/debian-security\nSuites: trixie-security\nComponents: main\n\n' +
          'Types: deb\nURIs: http://mirror.example/debian/\nSuites: trixie trixie-updates\nComponents: main\nSigned-By: /k.gpg\n',
      );
      expect(readAptArchive(etc)).toMatchObject({ baseUrl: 'http://mirror.example/debian', keyring: '/k.gpg' });
      rmSync(path.join(etc, 'sources.list.d', 'a.sources'));
      writeFileSync(path.join(etc, 'sources.list'), 'deb http://other.example/debian bookworm main\n');
      expect(readAptArchive(etc).baseUrl).toBe('http://other.example/debian');
      rmSync(path.join(etc, 'sources.list'));
      expect(() => readAptArchive(etc)).toThrow(/no main Debian archive/);
    } finally {
      rmSync(etc, { recursive: true, force: true });
    }
  });
});

const hasGpg = spawnSync('gpg', ['--version']).status === 0 && spawnSync('gpgv', ['--version']).status === 0;

describe.skipIf(!hasGpg)('InRelease signature', () => {
  let home: string;
  let keyring: string;
  let signed: Buffer;
  const release =
    'Origin: Test\nSuite: stable\nCodename: trixie\nDate: Sat, 21 Nov 2026 09:15:44 UTC\nSHA256:\n ' +
    'b449439c113900c8607c1005f7a1ec0704d0f3b7376ba312b2150c79e4e4e06c 10538456 main/source/Sources.xz\n';
  beforeAll(() => {
    home = mkdtempSync(path.join(tmpdir(), 'gpg-'));
    const env = { ...process.env, GNUPGHOME: home };
    execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Test Archive <t@example.org>', 'ed25519', 'sign', 'never'], {
      env,
      stdio: 'ignore',
    });
    keyring = path.join(home, 'test-keyring.gpg');
    writeFileSync(keyring, execFileSync('gpg', ['--batch', '--export'], { env }));
    signed = execFileSync('gpg', ['--batch', '--clearsign'], { env, input: release });
  });
  afterAll(() => {
    rmSync(home, { recursive: true, force: true });
  });

  it('accepts a good signature and reads the SHA256 index from the signed text', async () => {
    const v = await verifyClearsigned(signed, keyring, 'InRelease');
    const r = parseRelease(v.text, v.signers);
    expect(r.codename).toBe('trixie');
    expect(r.sha256.get('main/source/Sources.xz')).toEqual({
      sha256: 'b449439c113900c8607c1005f7a1ec0704d0f3b7376ba312b2150c79e4e4e06c',
      size: 10538456,
    });
    expect(r.signers.length).toBe(1);
  });

  it('refuses a tampered file and an unknown key', async () => {
    const tampered = Buffer.from(signed.toString('utf8').replace('10538456', '10538457'));
    await expect(verifyClearsigned(tampered, keyring, 'InRelease')).rejects.toThrow(/InRelease: signature verification failed/);
    await expect(verifyClearsigned(signed, '/usr/share/keyrings/debian-archive-keyring.gpg', 'InRelease')).rejects.toThrow(
      /signature verification failed/,
    );
    expect(readFileSync(keyring).length).toBeGreaterThan(0);
  });
});
