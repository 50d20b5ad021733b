import { describe, expect, it } from 'vitest';
import { corpusContentHash, emptyManifest, type Manifest, type ProjectEntry } from './manifest.js';

function project(name: string, sha256: string): ProjectEntry {
  return {
    name,
    version: '1.0',
    dir: `projects/${name}`,
    tarball: `${name}_1.0.orig.tar.gz`,
    sha256,
    source: { kind: 'debian', suite: 'trixie', package: name, url: `http://example/${name}`, size: 10 },
    pythonFiles: 3,
    testFiles: 1,
    skippedTestFiles: 0,
    assertions: 20,
  };
}

function manifest(projects: ProjectEntry[], updated: string, releaseDate: string): Manifest {
  return {
    ...emptyManifest(),
    updated,
    seed: 0,
    archive: { baseUrl: 'http://example', suite: 'trixie', releaseDate, sourcesSha256: releaseDate, signers: [] },
    projects,
  };
}

describe('corpusContentHash', () => {
  const a = project('alpha', 'aa');
  const b = project('beta', 'bb');

  it('ignores when the corpus was fetched, the signed index that vouched for it and project order', () => {
    const first = manifest([a, b], '2026-11-30T00:00:00Z', 'Sat, 21 Nov 2026');
    const refetched = manifest([b, a], '2026-12-05T00:00:00Z', 'Sat, 28 Nov 2026');
    expect(corpusContentHash(refetched)).toBe(corpusContentHash(first));
  });

  it('changes when a project, its version or its tarball changes', () => {
    const base = corpusContentHash(manifest([a, b], 'x', 'y'));
    expect(corpusContentHash(manifest([a], 'x', 'y'))).not.toBe(base);
    expect(corpusContentHash(manifest([a, { ...b, version: '1.1' }], 'x', 'y'))).not.toBe(base);
    expect(corpusContentHash(manifest([a, project('beta', 'cc')], 'x', 'y'))).not.toBe(base);
  });
});
