// A repository's tree at one commit, written to a fresh folder (`git archive` through the safe tar
// extractor): what the repository encoder reads for the Evo initial state at a past commit, in a
// bare clone or a work tree alike. Only .py files are written (the encoder reads nothing else).
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gitArchive } from '../corpus/add.js';
import { extractTarStream } from '../tar/extract.js';

/** Extracts `rev`'s .py files into a new temporary folder and runs `use` on it; the folder is removed after. */
export async function withCommitSnapshot<T>(repoDir: string, rev: string, use: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'c2l-snapshot-'));
  try {
    // only .py paths are read from git at all: a snapshot may lack its large data blobs (a partial
    // clone or a mirror that left its biggest files out), and those must not stop the encoder
    await extractTarStream(gitArchive(repoDir, rev, [':(glob)**/*.py']), `${repoDir}@${rev}`, dir, { include: (p) => p.endsWith('.py') });
    return await use(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
