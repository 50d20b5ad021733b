// The evolution-track table as cached stages (bench/stage-runner.ts): the rows Pretrained, a shared
// LoRA trained on the track's training tasks, Code2LoRA-Static re-embedded at each commit and
// Code2LoRA-Evo, each scored on cr-test and ir-test (`<id>:cr`, `<id>:ir`: greedy EM/ES and the
// teacher-forced target loss of every task, the task's commit's adapter), and the Evo conditioning
// audit (`code2lora-evo:audit-cr`, `-ir`).
// Every commit-dependent adapter is built once per (repository, commit) and that commit's tasks are
// scored with it before the next one is built, so memory stays at one adapter.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LoraAdapter } from '../../adapters/lora/layer.js';
import { HyperHead } from '../../adapters/hyper/head.js';
import { Hypernetwork, modelFileSha256 } from '../../adapters/hyper/hypernet.js';
import { EvoNetwork } from '../../adapters/hyper/evo.js';
import { derangement } from '../../adapters/hyper/audit-adapters.js';
import { withCommitSnapshot } from '../../data/evo/snapshot.js';
import type { TrackCommit } from '../../data/evo/track.js';
import type { EvoTask } from '../../data/tasks/types.js';
import { bootstrapDiff, bootstrapGroupMean, bootstrapMean, type DiffInterval, type Interval } from '../../eval/bootstrap.js';
import { scoreTask } from '../../eval/metrics.js';
import { predictTasks } from '../../eval/run-tasks.js';
import { taskTargetLosses } from '../../eval/target-loss.js';
import type { LlamaModel, ProjectionAdapter } from '../../model/llama/model.js';
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';
import { finetuneTasks, tokenBudget } from '../../train/finetune-tasks.js';
import { evoTokenBudget, prepareEvoTracks, replayStates, trainEvo, validateEvoTrainConfig } from '../../train/evo-train.js';
import { writeFileAtomicSync } from '../../util/atomic.js';
import type { Progress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import type { CachedStage } from '../stage-runner.js';
import { copyTrainingArtefact, type StagedBenchContext } from '../staged-bench.js';
import { COST } from '../static/stages.js';
import { resolvePackagePath, type BenchEvoConfig, type EvoAuditCondition } from './config.js';

export interface EvoBenchContext extends StagedBenchContext {
  config: Readonly<BenchEvoConfig>;
  /** SHA-256s of the inputs stages depend on */
  hashes: { base: string; commits: string; split(name: string): string; hyper(dir: string): string };
  tasks(split: string): EvoTask[];
  /** each repository's kept commits (commits.jsonl) */
  commits(): Map<string, TrackCommit[]>;
  /** repository name -> its git directory; throws naming the repositories it cannot find */
  repoDirs(names: readonly string[]): Map<string, string>;
  /** the per-file and per-diff embedding cache every stage shares */
  cacheDir: string;
}

export type EvoStage = CachedStage<EvoBenchContext>;
export type EvalSplit = 'cr' | 'ir';
export const SPLIT_FILE: Record<EvalSplit, string> = { cr: 'cr-test', ir: 'ir-test' };

/** Measured costs of this machine (2 cores): snapshot or diff embedding ~0.7 s (docs/CODE2LORA-EVO.md),
 *  Evo ~3 s per update of 4 x 4 x 256 tokens. */
export const EVO_COST = { embedSeconds: 0.7, evoSecondsPerUpdate: 3 };

/** The tasks one evaluation covers, in (repository, commit, id) order: the whole split, or a seeded
 *  sample of at most eval.tasksPerCommit per (repository, commit). */
export function selectTasks(ctx: EvoBenchContext, split: EvalSplit): EvoTask[] {
  const skip = new Set(ctx.config.eval.excludeRepos);
  const all = ctx.tasks(SPLIT_FILE[split]).filter((t) => !skip.has(t.repo));
  const k = ctx.config.eval.tasksPerCommit;
  const groups = new Map<string, EvoTask[]>();
  for (const t of all) {
    const key = `${t.repo}\0${String(t.commitIndex).padStart(8, '0')}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  const rng = new Rng(ctx.config.seed).fork('evo-bench-tasks');
  const out: EvoTask[] = [];
  for (const key of [...groups.keys()].sort()) {
    let ts = [...(groups.get(key) as EvoTask[])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (k > 0 && ts.length > k)
      ts = rng
        .fork(key)
        .shuffle(ts)
        .slice(0, k)
        .sort((a, b) => (a.id < b.id ? -1 : 1));
    out.push(...ts);
  }
  return out;
}

/** Tasks grouped by (repository, commit index), in order. */
export function byCommit(tasks: readonly EvoTask[]): { repo: string; commitIndex: number; tasks: EvoTask[] }[] {
  const out: { repo: string; commitIndex: number; tasks: EvoTask[] }[] = [];
  for (const t of tasks) {
    const last = out[out.length - 1];
    if (last && last.repo === t.repo && last.commitIndex === t.commitIndex) last.tasks.push(t);
    else out.push({ repo: t.repo, commitIndex: t.commitIndex, tasks: [t] });
  }
  return out;
}

/** Per-task scores of one group under one adapter: greedy EM/ES, and the target loss of the tasks
 *  that fit lossMaxTokens (null for the others). */
export function scoreGroup(
  model: LlamaModel,
  tok: TextTokenizer,
  tasks: readonly EvoTask[],
  adapter: ProjectionAdapter | null,
  cfg: BenchEvoConfig['eval'],
): { exact: number[]; edit: number[]; loss: (number | null)[] } {
  const { predictions } = predictTasks(model, tok, [...tasks], { maxNewTokens: cfg.maxNewTokens, batch: cfg.batch, adapter });
  const scores = tasks.map((t, i) => scoreTask(predictions[i] ?? '', t.target));
  const lr = taskTargetLosses(model, tok, tasks, {
    adapterOf: () => ({ key: '', adapter }),
    maxTokens: cfg.lossMaxTokens,
    batch: cfg.batch,
  });
  const lossById = new Map(lr.tasks.map((t, i) => [t.id, lr.losses[i] as number]));
  return { exact: scores.map((s) => s.exact), edit: scores.map((s) => s.edit), loss: tasks.map((t) => lossById.get(t.id) ?? null) };
}

export interface TaskRow {
  id: string;
  repo: string;
  commitIndex: number;
  exact: number;
  edit: number;
  /** null: the task does not fit lossMaxTokens */
  loss: number | null;
}

export interface EvoEvalReport {
  method: string;
  label: string;
  split: string;
  model: string;
  tasks: number;
  repos: number;
  commits: number;
  /** per-task means with repository-bootstrap intervals */
  exactMatch: Interval;
  editSimilarity: Interval;
  /** over the tasks that fit lossMaxTokens */
  loss: Interval | null;
  lossTasks: number;
  /** mean over repositories of each repository's mean, repository-bootstrap intervals */
  perRepo: { exactMatch: Interval; editSimilarity: Interval; loss: Interval | null };
  lossMaxTokens: number;
  seconds: number;
  results: TaskRow[];
}

/** The report of one (method, split) from its per-task rows. */
export function evalReport(
  rows: TaskRow[],
  o: { method: string; label: string; split: string; model: string; samples: number; seed: number; lossMaxTokens: number; seconds: number },
): EvoEvalReport {
  const groups = rows.map((r) => r.repo);
  const opts = { samples: o.samples, seed: o.seed };
  const lossRows = rows.filter((r) => r.loss !== null);
  const losses = lossRows.map((r) => r.loss as number),
    lossGroups = lossRows.map((r) => r.repo);
  return {
    method: o.method,
    label: o.label,
    split: o.split,
    model: o.model,
    tasks: rows.length,
    repos: new Set(groups).size,
    commits: new Set(rows.map((r) => `${r.repo}\0${r.commitIndex}`)).size,
    exactMatch: bootstrapMean(
      rows.map((r) => r.exact),
      { ...opts, groups },
    ),
    editSimilarity: bootstrapMean(
      rows.map((r) => r.edit),
      { ...opts, groups },
    ),
    loss: losses.length ? bootstrapMean(losses, { ...opts, groups: lossGroups }) : null,
    lossTasks: losses.length,
    perRepo: {
      exactMatch: bootstrapGroupMean(
        rows.map((r) => r.exact),
        groups,
        opts,
      ),
      editSimilarity: bootstrapGroupMean(
        rows.map((r) => r.edit),
        groups,
        opts,
      ),
      loss: losses.length ? bootstrapGroupMean(losses, lossGroups, opts) : null,
    },
    lossMaxTokens: o.lossMaxTokens,
    seconds: o.seconds,
    results: rows,
  };
}

/** What a row evaluates with: the base, and the adapter of each (repository, commit) (built when asked,
 *  in commit order, so a method can carry state from one commit to the next). */
export interface EvoPredictor {
  model: LlamaModel;
  tok: TextTokenizer;
  name: string;
  /** called once with every group to be scored, before the first adapterAt */
  prepare?(groups: readonly { repo: string; commitIndex: number }[]): Promise<void>;
  adapterAt(repo: string, commitIndex: number): Promise<ProjectionAdapter | null>;
}

export interface EvoMethod {
  id: string;
  label: string;
  /** its own training stage `<id>:train` */
  train?: Omit<EvoStage, 'name' | 'deps'>;
  /** extra inputs of its evaluation stages (e.g. the shipped hypernetwork's hash) */
  evalInputs?(ctx: EvoBenchContext): Record<string, unknown>;
  /** evaluation cost per task relative to the base, and extra seconds per evaluated commit */
  evalFactor?: number;
  secondsPerCommit?: number;
  load(ctx: EvoBenchContext, trained: string | null, split: EvalSplit): EvoPredictor;
}

function plainBase(ctx: EvoBenchContext): EvoPredictor {
  const { model, tok } = ctx.base();
  return { model, tok, name: 'base', adapterAt: async () => null };
}

/** The shared LoRA on the evolution track's training tasks (its cr-val loss picks the checkpoint). */
const sharedLoraTrain: NonNullable<EvoMethod['train']> = {
  version: 1,
  inputs: (ctx) => ({
    base: ctx.hashes.base,
    train: ctx.hashes.split('train'),
    val: ctx.hashes.split('cr-val'),
    config: ctx.config.sharedLora,
  }),
  estimateSeconds: (ctx) => {
    const c = ctx.config.sharedLora;
    const valTasks = (c.valTasksPerRepo || 50) * 5;
    return tokenBudget(c) / COST.trainTokensPerS + Math.ceil(c.steps / c.evalEvery) * valTasks * COST.valSecondsPerTask;
  },
  run(ctx, dir, work) {
    const cfg = ctx.config.sharedLora;
    const { model, tok, tokenizerJson, tokenizerConfigJson } = ctx.base();
    const bar = ctx.progress('shared-lora train', cfg.steps);
    const summaries = finetuneTasks({
      config: cfg,
      model,
      tokenizer: tok,
      tokenizerJson,
      tokenizerConfigJson,
      train: ctx.tasks('train'),
      val: ctx.tasks('cr-val'),
      out: work,
      baseModelName: 'base',
      command: ctx.command,
      onStep: (i) => bar.update(i.done, { loss: i.loss.toFixed(3), val: i.valLoss?.toFixed(3) ?? '' }),
    });
    bar.stop();
    if (!summaries) throw new Error('shared-lora: training stopped early');
    const best = summaries[0]!;
    copyTrainingArtefact(best.best, work, dir, 'adapter');
    return { bestValLoss: best.bestValLoss, bestStep: best.bestStep, tokensSeen: best.tokensSeen, tokenBudget: best.tokenBudget };
  },
};

/** `evo train` with the configured Evo config and --init-head; the chosen checkpoint is the artefact. */
const evoTrain: NonNullable<EvoMethod['train']> = {
  version: 1,
  inputs: (ctx) => ({
    base: ctx.hashes.base,
    train: ctx.hashes.split('train'),
    val: ctx.hashes.split('cr-val'),
    commits: ctx.hashes.commits,
    config: ctx.config.evo,
    initHead: ctx.config.evoInitHead ? ctx.hashes.hyper(ctx.config.evoInitHead) : null,
  }),
  estimateSeconds: (ctx) => {
    const c = ctx.config.evo;
    const commits = [...ctx.commits().values()].reduce(
      (a, cs) => a + (c.maxCommitsPerRepo > 0 ? Math.min(cs.length, c.maxCommitsPerRepo) : cs.length),
      0,
    );
    const perUpdate = EVO_COST.evoSecondsPerUpdate * ((c.window * c.tasksPerCommit * c.maxTokens) / (4 * 4 * 256));
    return commits * EVO_COST.embedSeconds + c.steps * perUpdate;
  },
  async run(ctx, dir, work) {
    const { model, tok } = ctx.base();
    const cfg = validateEvoTrainConfig(
      ctx.config.evo,
      'bench evo-track (evo)',
      model.config.hiddenSize,
      model.config.maxPositionEmbeddings,
    );
    const sha = modelFileSha256(ctx.modelDir);
    let initHead: HyperHead | undefined;
    if (ctx.config.evoInitHead) {
      const d = resolvePackagePath(ctx.config.evoInitHead);
      Hypernetwork.load(d, model, tok, sha); // checks base, tokenizer and the head's digest
      initHead = HyperHead.load(join(d, 'head.safetensors'), model.config, { trainable: true });
    }
    const commits = ctx.commits();
    const train = ctx.tasks('train'),
      val = ctx.tasks('cr-val');
    let bar: Progress | undefined, ebar: Progress | undefined;
    const s = await trainEvo({
      config: cfg,
      model,
      baseModelSha256: sha,
      tokenizer: tok,
      commits,
      train,
      val,
      repoDirs: ctx.repoDirs([...new Set([...train, ...val].map((t) => t.repo))].sort()),
      cacheDir: ctx.cacheDir,
      out: work,
      command: ctx.command,
      initHead,
      onPrepare: (d, n) => {
        ebar ??= ctx.progress('evo embed', n);
        ebar.update(d);
      },
      onStep: (i) => {
        ebar?.stop();
        ebar = undefined;
        bar ??= ctx.progress('evo train', cfg.steps);
        bar.update(i.step, { loss: i.loss.toFixed(3), val: i.valLoss?.toFixed(3) ?? '' });
      },
    });
    bar?.stop();
    if (!s) throw new Error('code2lora-evo: training stopped early');
    copyTrainingArtefact(s.best, work, dir, 'evo');
    return {
      bestValLoss: s.bestValLoss,
      bestStep: s.bestStep,
      baseValLoss: s.baseValLoss,
      frozenStateValLoss: s.frozenStateValLoss,
      tokensSeen: s.tokensSeen,
      tokenBudget: evoTokenBudget(cfg),
      prepareSeconds: s.prepareSeconds,
    };
  },
};

/** Code2LoRA-Static at each commit: the commit's tree (git archive, .py only) embedded through the
 *  per-file cache (a file unchanged since an earlier commit is a cache hit), the shipped head's adapter. */
function staticAtCommit(ctx: EvoBenchContext, split: EvalSplit): EvoPredictor {
  const p = plainBase(ctx);
  const dir = resolvePackagePath(ctx.config.staticHyper);
  const hyper = Hypernetwork.load(dir, p.model, p.tok, modelFileSha256(ctx.modelDir));
  if (hyper.perTestFile)
    throw new Error(`${dir}: a hypernetwork that embeds test files needs per-task adapters; the evolution track uses production code only`);
  const commits = ctx.commits();
  const repos = [...new Set(ctx.tasks(SPLIT_FILE[split]).map((t) => t.repo))].sort();
  let dirs: Map<string, string> | undefined;
  return {
    ...p,
    name: `base + Code2LoRA-Static re-embedded at each commit (${ctx.config.staticHyper})`,
    async adapterAt(repo, t) {
      dirs ??= ctx.repoDirs(repos);
      const c = commits.get(repo)?.[t];
      if (!c) throw new Error(`bench evo-track: ${repo} has no kept commit ${t} in commits.jsonl`);
      const fv = await withCommitSnapshot(dirs.get(repo) as string, c.commit, (d) => hyper.fileVectors(d, ctx.cacheDir));
      return hyper.adapterForFile(fv, undefined);
    },
  };
}

/** Each repository's Evo states from its first kept commit to its last (the replay training does:
 *  h0 from the snapshot at commit 0, one GRU step per kept commit on the stored diff). For ir-test the
 *  state is carried through the repository's training commits (chronological split) to the test ones. */
export async function evoStates(
  ctx: EvoBenchContext,
  evo: EvoNetwork,
  repos: readonly string[],
  tasks: readonly EvoTask[],
): Promise<Map<string, Float32Array[]>> {
  const { tracks, dropped } = await prepareEvoTracks(evo, repos, {
    commits: ctx.commits(),
    tasks,
    repoDirs: ctx.repoDirs(repos),
    cacheDir: ctx.cacheDir,
    maxCommitsPerRepo: 0,
  });
  if (dropped.length)
    throw new Error(
      `bench evo-track: cannot embed ${dropped.map((d) => `${d.repo} (${d.reason})`).join(', ')} at its first kept commit; leave it out of every row with eval.excludeRepos`,
    );
  const out = new Map<string, Float32Array[]>();
  for (const tr of tracks) {
    const last = Math.max(0, ...tasks.filter((t) => t.repo === tr.repo).map((t) => t.commitIndex));
    out.set(
      tr.repo,
      replayStates(evo.net, tr, last + 1).map((h) => Float32Array.from(h.data)),
    );
  }
  return out;
}

export function loadEvo(ctx: EvoBenchContext, trained: string): { evo: EvoNetwork; model: LlamaModel; tok: TextTokenizer } {
  const { model, tok } = ctx.base();
  return { evo: EvoNetwork.load(join(trained, 'evo'), model, tok, modelFileSha256(ctx.modelDir)), model, tok };
}

function evoAtCommit(ctx: EvoBenchContext, trained: string, split: EvalSplit): EvoPredictor {
  const { evo, model, tok } = loadEvo(ctx, trained);
  let states: Map<string, Float32Array[]> | undefined;
  return {
    model,
    tok,
    name: `base + Code2LoRA-Evo (the state of each commit, replayed from the repository's first kept commit)`,
    async prepare() {
      const tasks = selectTasks(ctx, split);
      states = await evoStates(ctx, evo, [...new Set(tasks.map((t) => t.repo))].sort(), tasks);
    },
    async adapterAt(repo, t) {
      const s = states?.get(repo)?.[t];
      if (!s) throw new Error(`bench evo-track: no Evo state for ${repo} at commit ${t}`);
      return evo.adapter(s).adapter;
    },
  };
}

export const EVO_METHODS: EvoMethod[] = [
  { id: 'pretrained', label: 'Pretrained', load: (ctx) => plainBase(ctx) },
  {
    id: 'shared-lora',
    label: 'Single shared LoRA (evolution training tasks)',
    train: sharedLoraTrain,
    evalFactor: COST.loraEvalFactor,
    load: (ctx, d) => {
      const p = plainBase(ctx);
      const a = LoraAdapter.loadPeft(join(d as string, 'adapter'), p.model.config);
      return { ...p, name: 'base + shared LoRA', adapterAt: async () => a };
    },
  },
  {
    id: 'code2lora-static',
    label: 'Code2LoRA-Static (re-embedded at each commit)',
    evalInputs: (ctx) => ({ hyper: ctx.hashes.hyper(ctx.config.staticHyper), commits: ctx.hashes.commits }),
    evalFactor: COST.loraEvalFactor,
    secondsPerCommit: 2 * EVO_COST.embedSeconds,
    load: (ctx, _d, split) => staticAtCommit(ctx, split),
  },
  {
    id: 'code2lora-evo',
    label: 'Code2LoRA-Evo',
    train: evoTrain,
    evalInputs: (ctx) => ({ commits: ctx.hashes.commits }),
    evalFactor: COST.loraEvalFactor,
    secondsPerCommit: EVO_COST.embedSeconds,
    load: (ctx, d, split) => evoAtCommit(ctx, d as string, split),
  },
];

function evalStage(m: EvoMethod, split: EvalSplit): EvoStage {
  const trainStage = m.train ? `${m.id}:train` : null;
  return {
    name: `${m.id}:${split}`,
    deps: trainStage ? [trainStage] : [],
    version: 1,
    inputs: (ctx) => ({
      base: ctx.hashes.base,
      tasks: ctx.hashes.split(SPLIT_FILE[split]),
      eval: ctx.config.eval,
      seed: ctx.config.seed,
      ...(m.evalInputs?.(ctx) ?? {}),
    }),
    estimateSeconds: (ctx) => {
      const ts = selectTasks(ctx, split);
      const commits = m.secondsPerCommit ? new Set(ts.map((t) => `${t.repo}\0${t.commitIndex}`)).size : 0;
      return ts.length * COST.evalSecondsPerTask * 1.3 * (m.evalFactor ?? 1) + commits * (m.secondsPerCommit ?? 0);
    },
    async run(ctx, dir) {
      const t0 = performance.now();
      const p = m.load(ctx, trainStage ? ctx.artefact(trainStage) : null, split);
      const tasks = selectTasks(ctx, split);
      const groups = byCommit(tasks);
      await p.prepare?.(groups);
      const bar = ctx.progress(`${m.id} ${SPLIT_FILE[split]}`, tasks.length);
      const rows: TaskRow[] = [];
      for (const g of groups) {
        const adapter = await p.adapterAt(g.repo, g.commitIndex);
        const s = scoreGroup(p.model, p.tok, g.tasks, adapter, ctx.config.eval);
        g.tasks.forEach((t, i) =>
          rows.push({ id: t.id, repo: t.repo, commitIndex: t.commitIndex, exact: s.exact[i]!, edit: s.edit[i]!, loss: s.loss[i]! }),
        );
        bar.update(rows.length);
      }
      bar.stop();
      const r = evalReport(rows, {
        method: m.id,
        label: m.label,
        split: SPLIT_FILE[split],
        model: p.name,
        samples: ctx.config.eval.bootstrapSamples,
        seed: ctx.config.seed,
        lossMaxTokens: ctx.config.eval.lossMaxTokens,
        seconds: (performance.now() - t0) / 1000,
      });
      writeFileAtomicSync(join(dir, 'eval.json'), `${JSON.stringify(r)}\n`);
      return {
        tasks: r.tasks,
        exactMatch: r.exactMatch.estimate,
        editSimilarity: r.editSimilarity.estimate,
        loss: r.loss?.estimate ?? null,
      };
    },
  };
}

export interface EvoAuditRow {
  id: string;
  repo: string;
  commitIndex: number;
  exact: Record<string, number>;
  /** null: the task does not fit lossMaxTokens */
  loss: Record<string, number> | null;
}

export interface EvoAuditReport {
  split: string;
  tasks: number;
  repos: number;
  lossTasks: number;
  conditions: Record<string, { exactMatch: Interval; loss: Interval | null }>;
  /** own minus each condition, paired over the same tasks, repository bootstrap: EM > 0 and loss < 0 favour own */
  ownMinus: Record<string, { exactMatch: DiffInterval; loss: DiffInterval | null }>;
  /** which repository's state "wrong" uses for each repository */
  wrong: Record<string, string>;
  meanState: string;
  verdict: string;
  results: EvoAuditRow[];
}

/** The state index of repository `s` (n_s states) at the relative position of commit t of a history of
 *  n_r commits: round(t / (n_r - 1) x (n_s - 1)). */
export function relativeIndex(t: number, nr: number, ns: number): number {
  if (nr <= 1 || ns <= 1) return 0;
  return Math.round((t / (nr - 1)) * (ns - 1));
}

/** The conditions' states for a task at commit t of `repo`. */
export function auditStates(
  states: ReadonlyMap<string, Float32Array[]>,
  n: ReadonlyMap<string, number>,
  wrong: ReadonlyMap<string, string>,
  repo: string,
  t: number,
): Record<'own' | EvoAuditCondition, Float32Array> {
  const own = states.get(repo) as Float32Array[];
  const nr = n.get(repo) as number;
  const at = (s: string) => {
    const ss = states.get(s) as Float32Array[];
    return ss[Math.min(ss.length - 1, relativeIndex(t, nr, n.get(s) as number))] as Float32Array;
  };
  const repos = [...states.keys()].sort();
  const mean = new Float32Array(own[0]!.length);
  for (const s of repos) {
    const v = at(s);
    for (let i = 0; i < mean.length; i++) mean[i] = (mean[i] as number) + (v[i] as number) / repos.length;
  }
  return { own: own[t] as Float32Array, mean, wrong: at(wrong.get(repo) as string), frozen: own[0] as Float32Array };
}

export function auditVerdictEvo(ownMinus: EvoAuditReport['ownMinus']): string {
  const parts = Object.entries(ownMinus).map(([c, d]) => {
    const em = d.exactMatch.lo > 0 ? 'better' : d.exactMatch.hi < 0 ? 'worse' : 'not distinguishable';
    const loss = !d.loss ? 'no loss' : d.loss.hi < 0 ? 'lower loss' : d.loss.lo > 0 ? 'higher loss' : 'loss not distinguishable';
    return `vs ${c}: EM ${em}, ${loss}`;
  });
  const all = Object.values(ownMinus).every((d) => d.loss && d.loss.hi < 0);
  return `${all ? 'own state beats every control on the target loss' : 'own state does not beat every control on the target loss'} (${parts.join('; ')})`;
}

/** The audit report from per-task rows (exported for tests: the paired differences are per-task means). */
export function auditReport(
  rows: EvoAuditRow[],
  conditions: readonly string[],
  o: { split: string; samples: number; seed: number; wrong: Record<string, string> },
): EvoAuditReport {
  const groups = rows.map((r) => r.repo);
  const lossRows = rows.filter((r) => r.loss !== null);
  const lossGroups = lossRows.map((r) => r.repo);
  const opts = { samples: o.samples, seed: o.seed };
  const em = (c: string) => rows.map((r) => r.exact[c] as number);
  const loss = (c: string) => lossRows.map((r) => (r.loss as Record<string, number>)[c] as number);
  const out: EvoAuditReport = {
    split: o.split,
    tasks: rows.length,
    repos: new Set(groups).size,
    lossTasks: lossRows.length,
    conditions: {},
    ownMinus: {},
    wrong: o.wrong,
    meanState:
      "the mean over the split's repositories of each one's state at the same relative position in its history (commit t of n: index round(t/(n-1) x (m-1)) of a history of m)",
    verdict: '',
    results: rows,
  };
  for (const c of ['own', ...conditions])
    out.conditions[c] = {
      exactMatch: bootstrapMean(em(c), { ...opts, groups }),
      loss: lossRows.length ? bootstrapMean(loss(c), { ...opts, groups: lossGroups }) : null,
    };
  for (const c of conditions)
    out.ownMinus[c] = {
      exactMatch: bootstrapDiff(em('own'), em(c), { ...opts, groups }),
      loss: lossRows.length ? bootstrapDiff(loss('own'), loss(c), { ...opts, groups: lossGroups }) : null,
    };
  out.verdict = auditVerdictEvo(out.ownMinus);
  return out;
}

/** The Evo conditioning audit (METHOD.md section 4 for Evo): the same tasks scored with the repository's
 *  own state at the task's commit (the eval stage's scores, reused), the mean state, another
 *  repository's state (fixed derangement) and the state frozen at h0 (no commit applied). */
function evoAuditStage(split: EvalSplit): EvoStage {
  return {
    name: `code2lora-evo:audit-${split}`,
    deps: ['code2lora-evo:train', `code2lora-evo:${split}`],
    version: 1,
    inputs: (ctx) => ({
      base: ctx.hashes.base,
      tasks: ctx.hashes.split(SPLIT_FILE[split]),
      commits: ctx.hashes.commits,
      eval: ctx.config.eval,
      audit: ctx.config.audit,
      seed: ctx.config.seed,
    }),
    estimateSeconds: (ctx) =>
      selectTasks(ctx, split).length * COST.evalSecondsPerTask * 1.3 * COST.loraEvalFactor * ctx.config.audit.conditions.length,
    async run(ctx, dir) {
      const { evo, model, tok } = loadEvo(ctx, ctx.artefact('code2lora-evo:train'));
      const tasks = selectTasks(ctx, split);
      const repos = [...new Set(tasks.map((t) => t.repo))].sort();
      if (repos.length < 2)
        throw new Error(
          `code2lora-evo:audit-${split}: the audit needs at least two repositories, ${SPLIT_FILE[split]} has ${repos.length}`,
        );
      const own = JSON.parse(readFileSync(join(ctx.artefact(`code2lora-evo:${split}`), 'eval.json'), 'utf8')) as EvoEvalReport;
      const ownById = new Map(own.results.map((r) => [r.id, r]));
      const states = await evoStates(ctx, evo, repos, tasks);
      const commits = ctx.commits();
      const n = new Map(repos.map((r) => [r, (commits.get(r) as TrackCommit[]).length]));
      const wrong = derangement(repos);
      const conditions = ctx.config.audit.conditions;
      const bar = ctx.progress(`evo audit ${SPLIT_FILE[split]}`, tasks.length);
      const rows: EvoAuditRow[] = [];
      for (const g of byCommit(tasks)) {
        const st = auditStates(states, n, wrong, g.repo, g.commitIndex);
        const scored: Record<string, ReturnType<typeof scoreGroup>> = {};
        for (const c of conditions) scored[c] = scoreGroup(model, tok, g.tasks, evo.adapter(st[c]).adapter, ctx.config.eval);
        g.tasks.forEach((t, i) => {
          const o = ownById.get(t.id);
          if (!o) throw new Error(`code2lora-evo:audit-${split}: task ${t.id} is not in the eval stage's results`);
          const exact: Record<string, number> = { own: o.exact };
          let loss: Record<string, number> | null = o.loss === null ? null : { own: o.loss };
          for (const c of conditions) {
            exact[c] = scored[c]!.exact[i]!;
            const l = scored[c]!.loss[i];
            if (loss && l !== null && l !== undefined) loss[c] = l;
            else loss = null;
          }
          rows.push({ id: t.id, repo: t.repo, commitIndex: t.commitIndex, exact, loss });
        });
        bar.update(rows.length);
      }
      bar.stop();
      const r = auditReport(rows, conditions, {
        split: SPLIT_FILE[split],
        samples: ctx.config.eval.bootstrapSamples,
        seed: ctx.config.seed,
        wrong: Object.fromEntries(wrong),
      });
      writeFileAtomicSync(join(dir, 'audit.json'), `${JSON.stringify(r)}\n`);
      return {
        tasks: r.tasks,
        verdict: r.verdict,
        ownMinus: Object.fromEntries(
          Object.entries(r.ownMinus).map(([c, d]) => [c, { em: d.exactMatch.estimate, loss: d.loss?.estimate ?? null }]),
        ),
      };
    },
  };
}

export const EVO_SPLITS: EvalSplit[] = ['cr', 'ir'];

/** Every stage in run order: trainings, then each row on cr-test and ir-test, then the audit. */
export function evoStages(methods: readonly EvoMethod[] = EVO_METHODS): EvoStage[] {
  const out: EvoStage[] = [];
  for (const m of methods) if (m.train) out.push({ ...m.train, name: `${m.id}:train`, deps: [] });
  for (const m of methods) for (const s of EVO_SPLITS) out.push(evalStage(m, s));
  if (methods.some((m) => m.id === 'code2lora-evo')) for (const s of EVO_SPLITS) out.push(evoAuditStage(s));
  return out;
}
