// Which production (non-test) Python files of a corpus each role may see. The cross-repo split is
// read from built task folders (cr-val.jsonl / cr-test.jsonl) rather than recomputed, because the
// task builder splits only repositories that yield tasks. Test files are never included: the
// in-repo evaluation tasks come from the training repositories' tests.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readManifest } from '../manifest.js';
import { isTestFile, listPythonFiles } from '../python/files.js';

export type CrossRepoRole = 'cr-val' | 'cr-test';

/** Repository -> cross-repo role, from the task folders' cr-val.jsonl and cr-test.jsonl. */
export function crossRepoRoles(taskDirs: readonly string[]): Map<string, CrossRepoRole> {
  const roles = new Map<string, CrossRepoRole>();
  for (const dir of taskDirs) {
    let found = 0;
    for (const split of ['cr-val', 'cr-test'] as const) {
      const file = path.join(dir, `${split}.jsonl`);
      if (!fs.existsSync(file)) continue;
      found++;
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (line.trim() === '') return;
          let repo: unknown;
          try {
            repo = (JSON.parse(line) as { repo?: unknown }).repo;
          } catch {
            throw new Error(`${file}:${i + 1}: not valid JSON`);
          }
          if (typeof repo !== 'string') throw new Error(`${file}:${i + 1}: task without a "repo" name`);
          roles.set(repo, split);
        });
    }
    if (found === 0) throw new Error(`${dir} holds neither cr-val.jsonl nor cr-test.jsonl (run \`code2lora tasks build\` first)`);
  }
  return roles;
}

export interface CorpusSourceFiles {
  /** non-test .py files of the training repositories (every repository not held out) */
  train: string[];
  /** non-test .py files of the cross-repo validation repositories */
  val: string[];
  trainRepos: string[];
  valRepos: string[];
  /** cross-repo test repositories: never read */
  testRepos: string[];
}

export async function corpusSourceFiles(corpusDir: string, taskDirs: readonly string[]): Promise<CorpusSourceFiles> {
  const manifest = await readManifest(corpusDir);
  if (manifest.projects.length === 0) throw new Error(`${corpusDir} has no projects in its manifest.json`);
  if (taskDirs.length === 0) throw new Error('the built task folders are needed to know the cross-repo val/test repositories');
  const roles = crossRepoRoles(taskDirs);
  const out: CorpusSourceFiles = { train: [], val: [], trainRepos: [], valRepos: [], testRepos: [] };
  for (const p of manifest.projects) {
    const role = roles.get(p.name);
    if (role === 'cr-test') {
      out.testRepos.push(p.name);
      continue;
    }
    const root = path.join(corpusDir, p.dir);
    const files = (await listPythonFiles(root)).filter((rel) => !isTestFile(rel)).map((rel) => path.join(root, rel));
    if (role === 'cr-val') {
      out.valRepos.push(p.name);
      out.val.push(...files);
    } else {
      out.trainRepos.push(p.name);
      out.train.push(...files);
    }
  }
  out.train.sort();
  out.val.sort();
  return out;
}
