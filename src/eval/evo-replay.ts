// `evo replay`: a repository's Evo state and adapter after each first-parent commit from..to, from an
// initial state built at `from` (its tree through git archive). With the evolution track's tasks,
// each commit that has tasks is scored with that commit's adapter (greedy, exact match and edit
// similarity), and the steps follow the track's kept commits (one GRU step per kept commit, the
// diff from the previous one), as in training.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EvoNetwork } from '../adapters/hyper/evo.js';
import { decodeState, encodeState, newState, writeEvoState, type EvoStateFile } from '../adapters/hyper/evo-state.js';
import { sha256Hex } from '../adapters/hyper/hash.js';
import { productionDiff } from '../data/evo/build.js';
import { withCommitSnapshot } from '../data/evo/snapshot.js';
import type { EvoTask } from '../data/tasks/types.js';
import { gitOutput } from '../util/git.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import { scoreTask } from './metrics.js';
import { predictTasks } from './run-tasks.js';

export interface ReplayOptions {
  evo: EvoNetwork;
  checkpointDir: string;
  repoDir: string;
  from: string;
  to: string;
  out: string;
  cacheDir: string | null;
  /** this repository's evolution tasks (any split); with them, steps are taken at kept commits only */
  tasks?: readonly EvoTask[];
  /** the track's kept commits of this repository (sha set); required with tasks */
  keptCommits?: ReadonlySet<string>;
  maxNewTokens: number;
  batch: number;
  onCommit?: (done: number, total: number) => void;
}

export interface ReplayStep {
  index: number;
  commit: string;
  adapterSha256: string;
  diffSections: number;
  tasks: number;
  exactMatch: number | null;
  editSimilarity: number | null;
}

export interface ReplayReport {
  repository: string;
  checkpointSha256: string;
  from: string;
  to: string;
  steps: ReplayStep[];
  tasks: number;
  exactMatch: number | null;
  editSimilarity: number | null;
  seconds: number;
}

async function resolve(dir: string, rev: string): Promise<string> {
  if (/^-/.test(rev)) throw new Error(`evo replay: not a revision: ${JSON.stringify(rev)}`);
  try {
    return (await gitOutput(dir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])).trim();
  } catch {
    throw new Error(`evo replay: ${rev} is not a commit of ${dir}`);
  }
}

export async function evoReplay(o: ReplayOptions): Promise<ReplayReport> {
  const t0 = performance.now();
  const { evo } = o;
  const from = await resolve(o.repoDir, o.from),
    to = await resolve(o.repoDir, o.to);
  try {
    await gitOutput(o.repoDir, ['merge-base', '--is-ancestor', from, to]);
  } catch {
    throw new Error(`evo replay: ${o.from} is not an ancestor of ${o.to}`);
  }
  let chain = (await gitOutput(o.repoDir, ['rev-list', '--first-parent', '--reverse', `${from}..${to}`])).split('\n').filter(Boolean);
  if (o.tasks && o.keptCommits) chain = chain.filter((c) => o.keptCommits!.has(c));
  const byCommit = new Map<string, EvoTask[]>();
  for (const t of o.tasks ?? []) byCommit.set(t.commit, [...(byCommit.get(t.commit) ?? []), t]);
  mkdirSync(join(o.out, 'states'), { recursive: true });
  const diffEnc = evo.diffEncoder(o.cacheDir);
  const h0 = await withCommitSnapshot(o.repoDir, from, (d) => evo.initialState(evo.embedRepository(d, o.cacheDir).vector));
  let state: EvoStateFile = newState(evo, o.repoDir, o.checkpointDir, from, h0);
  const steps: ReplayStep[] = [];
  let em = 0,
    es = 0,
    n = 0;
  const record = (index: number, commit: string, sections: number) => {
    const file = join(o.out, 'states', `${String(index).padStart(4, '0')}-${commit.slice(0, 12)}.json`);
    writeEvoState(file, state);
    const tasks = byCommit.get(commit) ?? [];
    let stepEm: number | null = null,
      stepEs: number | null = null;
    if (tasks.length > 0) {
      const { adapter } = evo.adapter(decodeState(state));
      const { predictions } = predictTasks(evo.model, evo.tokenizer, [...tasks], { maxNewTokens: o.maxNewTokens, batch: o.batch, adapter });
      const scores = tasks.map((t, i) => scoreTask(predictions[i], t.target));
      stepEm = scores.reduce((a, s) => a + s.exact, 0) / tasks.length;
      stepEs = scores.reduce((a, s) => a + s.edit, 0) / tasks.length;
      em += stepEm * tasks.length;
      es += stepEs * tasks.length;
      n += tasks.length;
    }
    steps.push({
      index,
      commit,
      adapterSha256: state.adapterSha256,
      diffSections: sections,
      tasks: tasks.length,
      exactMatch: stepEm,
      editSimilarity: stepEs,
    });
  };
  record(0, from, 0);
  let prev = from;
  for (const [i, c] of chain.entries()) {
    o.onCommit?.(i, chain.length);
    const { diff } = await productionDiff(o.repoDir, prev, c, 1024 * 1024);
    const e = diffEnc.embed(diff);
    const next = evo.stepState(decodeState(state), e.vector);
    const { sha256 } = evo.adapter(next);
    state = {
      ...state,
      steps: state.steps + 1,
      lastCommit: c,
      adapterSha256: sha256,
      state: encodeState(next),
      history: [...state.history, { kind: 'commit', commit: c, diffSha256: sha256Hex(diff), adapterSha256: sha256, sections: e.sections }],
    };
    record(i + 1, c, e.sections);
    prev = c;
  }
  o.onCommit?.(chain.length, chain.length);
  const report: ReplayReport = {
    repository: o.repoDir,
    checkpointSha256: evo.checkpointSha256,
    from,
    to,
    steps,
    tasks: n,
    exactMatch: n > 0 ? em / n : null,
    editSimilarity: n > 0 ? es / n : null,
    seconds: (performance.now() - t0) / 1000,
  };
  writeFileAtomicSync(join(o.out, 'replay.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}
