// The static-track table as a list: each method (a row of the table) names how it is trained, if it
// is, and what it evaluates with; the pipeline derives its stages `<id>:train`, `<id>:cr`, `<id>:ir`.
// Adding a method is one entry in METHODS; adding another stage (e.g. the conditioning audit) is one
// entry in EXTRA_STAGES.
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { LoraAdapter } from '../../adapters/lora/layer.js';
import { loadLlama } from '../../model/llama/io.js';
import type { LlamaModel, ProjectionAdapter } from '../../model/llama/model.js';
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';
import type { Task } from '../../data/tasks/types.js';
import { evaluateLoaded, type EvalReport } from '../../eval/run-tasks.js';
import { finetuneTasks, tokenBudget, type FinetuneConfig, type FinetuneMode } from '../../train/finetune-tasks.js';
import { writeFileAtomicSync } from '../../util/atomic.js';
import { Rng } from '../../util/rng.js';
import type { RagVariant } from '../../retrieval/rag.js';
import type { BenchStaticConfig } from './config.js';
import { measureLatency } from './latency.js';
import type { Progress } from '../../util/progress.js';

/** Measured on this machine (2 cores): the base trains ~3,000 tokens/s; greedy evaluation of the
 *  shipped base takes ~0.057 s per task at batch 8 (cr-test: 7,378 tasks in 420 s). */
export const COST = { trainTokensPerS: 3000, evalSecondsPerTask: 0.057, ragEvalFactor: 1.7, loraEvalFactor: 1.2, valSecondsPerTask: 0.01 };

export interface BenchContext {
  out: string;
  tasksDir: string;
  modelDir: string;
  corpusDir: string;
  config: Readonly<BenchStaticConfig>;
  /** SHA-256s of the inputs stages depend on */
  hashes: { base: string; corpus: string; split(name: string): string };
  tasks(split: string): Task[];
  /** a fresh copy of the base model (training changes it) and its tokenizer */
  base(): { model: LlamaModel; tok: TextTokenizer; tokenizerJson: string; tokenizerConfigJson?: string };
  /** the per-repository LoRA sample (training repositories, seeded) */
  perRepoSample(): string[];
  /** the artefact folder of a finished stage */
  artefact(stage: string): string;
  progress(label: string, total: number): Progress;
  log(line: string): void;
  command: string;
}

export interface Stage {
  name: string;
  deps: string[];
  /** bump when the stage's code changes what it produces */
  version: number;
  /** everything the stage reads, hashed (the deps' hashes are added by the pipeline) */
  inputs(ctx: BenchContext): Record<string, unknown>;
  estimateSeconds(ctx: BenchContext): number;
  /** writes artefacts into `dir` (renamed into place when it returns); `work` survives a kill */
  run(ctx: BenchContext, dir: string, work: string): unknown;
}

export type EvalSplit = 'cr' | 'ir';
export const SPLIT_FILE: Record<EvalSplit, string> = { cr: 'cr-test', ir: 'ir-test' };

export interface Predictor { model: LlamaModel; tok: TextTokenizer; adapter?: ProjectionAdapter | null; adapterFor?: (repo: string) => ProjectionAdapter | null; name: string }

export interface MethodSpec {
  id: string;
  label: string;
  splits: EvalSplit[];
  rag?: RagVariant;
  /** its own training stage `<id>:train` */
  train?: Omit<Stage, 'name' | 'deps'> & { deps?: string[] };
  /** a training stage of another method whose artefact it evaluates with */
  uses?: string;
  /** evaluation cost relative to the plain base */
  evalFactor?: number;
  /** the model (and adapters) to evaluate with, given the training artefact folder */
  load(ctx: BenchContext, trained: string | null): Predictor;
}

function plainBase(ctx: BenchContext): Predictor {
  const { model, tok } = ctx.base();
  return { model, tok, name: ctx.modelDir };
}

function finetuneStage(mode: FinetuneMode): NonNullable<MethodSpec['train']> {
  return {
    version: 1,
    inputs: (ctx) => ({
      base: ctx.hashes.base, train: ctx.hashes.split('train'), val: ctx.hashes.split(mode === 'per-repo-lora' ? 'ir-val' : 'cr-val'),
      config: ctx.config.train[mode], ...(mode === 'per-repo-lora' ? { repos: ctx.perRepoSample() } : {}),
    }),
    estimateSeconds: (ctx) => {
      const c: FinetuneConfig = ctx.config.train[mode];
      const runs = mode === 'per-repo-lora' ? ctx.config.perRepo.repos : 1;
      const evals = Math.ceil(c.steps / c.evalEvery);
      const valTasks = mode === 'per-repo-lora' ? 30 : (c.valTasksPerRepo || 50) * (c.valMaxRepos || 30);
      // left padding to the longest sequence of a batch: the compute is close to the whole budget
      return runs * (tokenBudget(c) / COST.trainTokensPerS + evals * valTasks * COST.valSecondsPerTask);
    },
    run(ctx, dir, work) {
      const mode_: FinetuneMode = mode;
      const cfg = ctx.config.train[mode_];
      const { model, tok, tokenizerJson, tokenizerConfigJson } = ctx.base();
      const total = cfg.steps * (mode_ === 'per-repo-lora' ? ctx.config.perRepo.repos : 1);
      const bar = ctx.progress(`${mode_} train`, total);
      const summaries = finetuneTasks({
        config: cfg, model, tokenizer: tok, tokenizerJson, tokenizerConfigJson, train: ctx.tasks('train'),
        val: ctx.tasks(mode_ === 'per-repo-lora' ? 'ir-val' : 'cr-val'), repos: mode_ === 'per-repo-lora' ? ctx.perRepoSample() : undefined,
        out: work, baseModelName: ctx.modelDir, command: ctx.command,
        onStep: (i) => bar.update(i.done, { loss: i.loss.toFixed(3), val: i.valLoss?.toFixed(3) ?? '' }),
      });
      bar.stop();
      if (!summaries) throw new Error(`${mode_}: training stopped early`);
      // The artefact: the chosen checkpoint(s) and the training records, copied out of the work folder.
      if (mode_ === 'per-repo-lora') {
        for (const s of summaries) {
          const repo = s.best.split('/').slice(-2, -1)[0] as string;
          cpSync(s.best, join(dir, 'repos', repo, 'adapter'), { recursive: true });
          cpSync(join(work, 'repos', repo, 'training.json'), join(dir, 'repos', repo, 'training.json'));
        }
      } else {
        const best = summaries[0]!;
        cpSync(best.best, join(dir, mode_ === 'full-ft' ? 'model' : 'adapter'), { recursive: true });
        for (const f of ['training.json', 'loss-curve.json', 'loss-curve.svg']) if (existsSync(join(work, f))) cpSync(join(work, f), join(dir, f));
      }
      return { runs: summaries.length, bestValLoss: summaries.map((s) => s.bestValLoss), bestStep: summaries.map((s) => s.bestStep),
        tokensSeen: summaries.reduce((a, s) => a + s.tokensSeen, 0), tokenBudget: summaries.reduce((a, s) => a + s.tokenBudget, 0) };
    },
  };
}

function loraFrom(ctx: BenchContext, dir: string): Predictor {
  const p = plainBase(ctx);
  return { ...p, adapter: LoraAdapter.loadPeft(join(dir, 'adapter'), p.model.config), name: `${ctx.modelDir} + ${join(dir, 'adapter')}` };
}

function fullFrom(ctx: BenchContext, dir: string): Predictor {
  const { tok } = ctx.base();
  return { model: loadLlama(join(dir, 'model')).model, tok, name: join(dir, 'model') };
}

/** The rows of the table, in order. Code2LoRA-Static: add one entry here, e.g.
 *  { id: 'code2lora-static', label: 'Code2LoRA-Static', splits: ['cr', 'ir'], train: <its trainer stage>,
 *    load: (ctx, dir) => ({ ...plainBase, adapterFor: (repo) => <generated adapter for repo> }) }
 *  and its conditioning audit (METHOD.md section 4) as one entry in EXTRA_STAGES. */
export const METHODS: MethodSpec[] = [
  { id: 'pretrained', label: 'Pretrained', splits: ['cr', 'ir'], load: (ctx) => plainBase(ctx) },
  { id: 'rag-code', label: 'RAG (BM25, production code)', splits: ['cr', 'ir'], rag: 'bm25-code', evalFactor: COST.ragEvalFactor, load: (ctx) => plainBase(ctx) },
  { id: 'rag-siblings', label: 'RAG (BM25, sibling assertions)', splits: ['cr', 'ir'], rag: 'bm25-siblings', evalFactor: COST.ragEvalFactor, load: (ctx) => plainBase(ctx) },
  { id: 'shared-lora', label: 'Single shared LoRA', splits: ['cr', 'ir'], train: finetuneStage('shared-lora'), evalFactor: COST.loraEvalFactor, load: (ctx, d) => loraFrom(ctx, d!) },
  { id: 'full-ft', label: 'Full fine-tune', splits: ['cr', 'ir'], train: finetuneStage('full-ft'), load: (ctx, d) => fullFrom(ctx, d!) },
  { id: 'full-ft+rag', label: 'Full fine-tune + RAG (siblings)', splits: ['cr', 'ir'], rag: 'bm25-siblings', uses: 'full-ft:train', evalFactor: COST.ragEvalFactor, load: (ctx, d) => fullFrom(ctx, d!) },
  {
    id: 'per-repo-lora', label: 'Per-repo LoRA (upper bound)', splits: ['ir'], train: finetuneStage('per-repo-lora'), evalFactor: COST.loraEvalFactor,
    load: (ctx, d) => {
      const p = plainBase(ctx);
      const cache = new Map<string, LoraAdapter>();
      return {
        ...p, name: `${ctx.modelDir} + per-repository adapters`,
        adapterFor: (repo) => {
          let a = cache.get(repo);
          if (!a) { a = LoraAdapter.loadPeft(join(d!, 'repos', repo, 'adapter'), p.model.config); cache.set(repo, a); }
          return a;
        },
      };
    },
  },
];

/** The tasks one evaluation covers: IR rows use the per-repo LoRA sample when configured so. */
export function evalRepos(ctx: BenchContext, split: EvalSplit, method?: string): string[] | undefined {
  if (split === 'ir' && method === 'per-repo-lora') return ctx.perRepoSample(); // adapters exist for the sample only
  return split === 'ir' && ctx.config.perRepo.irOnSample && METHODS.some((m) => m.id === 'per-repo-lora') ? ctx.perRepoSample() : undefined;
}

function evalStage(m: MethodSpec, split: EvalSplit): Stage {
  const trainStage = m.train ? `${m.id}:train` : m.uses;
  return {
    name: `${m.id}:${split}`, deps: trainStage ? [trainStage] : [], version: 1,
    inputs: (ctx) => ({
      base: ctx.hashes.base, tasks: ctx.hashes.split(SPLIT_FILE[split]), eval: ctx.config.eval, repos: evalRepos(ctx, split, m.id) ?? 'all',
      ...(m.rag ? { rag: { ...ctx.config.rag, variant: m.rag }, corpus: ctx.hashes.corpus } : {}), seed: ctx.config.seed,
    }),
    estimateSeconds: (ctx) => {
      const repos = evalRepos(ctx, split, m.id);
      let tasks = ctx.tasks(SPLIT_FILE[split]);
      if (repos) { const keep = new Set(repos); tasks = tasks.filter((t) => keep.has(t.repo)); }
      if (ctx.config.eval.tasksPerRepo > 0) {
        const per = new Map<string, number>();
        for (const t of tasks) per.set(t.repo, Math.min(ctx.config.eval.tasksPerRepo, (per.get(t.repo) ?? 0) + 1));
        return [...per.values()].reduce((a, b) => a + b, 0) * COST.evalSecondsPerTask * (m.evalFactor ?? 1);
      }
      return tasks.length * COST.evalSecondsPerTask * (m.evalFactor ?? 1);
    },
    run(ctx, dir) {
      const p = m.load(ctx, trainStage ? ctx.artefact(trainStage) : null);
      let bar: Progress | undefined;
      const r: EvalReport = evaluateLoaded(p.model, p.tok, {
        modelName: p.name, adapter: p.adapter ?? null, adapterFor: p.adapterFor, tasksDir: ctx.tasksDir, split: SPLIT_FILE[split],
        maxNewTokens: ctx.config.eval.maxNewTokens, batch: ctx.config.eval.batch, limit: 0, tasksPerRepo: ctx.config.eval.tasksPerRepo,
        repos: evalRepos(ctx, split, m.id), rag: m.rag ? { ...ctx.config.rag, variant: m.rag } : undefined, corpusDir: ctx.corpusDir,
        bootstrapSamples: ctx.config.eval.bootstrapSamples, seed: ctx.config.seed,
        onProgress: (done, total) => { bar ??= ctx.progress(`${m.id} ${SPLIT_FILE[split]}`, total); bar.update(done); },
      });
      bar?.stop();
      writeFileAtomicSync(join(dir, 'eval.json'), JSON.stringify({ method: m.id, label: m.label, ...r }) + '\n');
      return { tasks: r.tasks, exactMatch: r.exactMatch.estimate, editSimilarity: r.editSimilarity.estimate, seconds: r.seconds };
    },
  };
}

const latencyStage: Stage = {
  name: 'latency', deps: ['shared-lora:train'], version: 1,
  inputs: (ctx) => ({ base: ctx.hashes.base, tasks: ctx.hashes.split('cr-test'), corpus: ctx.hashes.corpus, latency: ctx.config.latency, rag: ctx.config.rag, seed: ctx.config.seed }),
  estimateSeconds: (ctx) => ctx.config.latency.tasks * 3 * 0.05,
  run(ctx, dir) {
    const { model, tok } = ctx.base();
    const adapter = LoraAdapter.loadPeft(join(ctx.artefact('shared-lora:train'), 'adapter'), model.config);
    const tasks = new Rng(ctx.config.seed).fork('latency').shuffle([...ctx.tasks('cr-test')]).slice(0, ctx.config.latency.tasks);
    const { maxRetrievedTokens: _m, retrievalShare: _s, ...rag } = ctx.config.rag;
    const bar = ctx.progress('latency', tasks.length);
    const r = measureLatency(model, tok, tasks, { adapter, corpusDir: ctx.corpusDir, rag, promptTokens: ctx.config.latency.promptTokens, newTokens: ctx.config.latency.newTokens, onProgress: (d) => bar.update(d) });
    bar.stop();
    writeFileAtomicSync(join(dir, 'latency.json'), JSON.stringify(r, null, 2) + '\n');
    return r;
  },
};

/** Stages that are not a method's training or evaluation (Code2LoRA's audit goes here). */
export const EXTRA_STAGES: Stage[] = [latencyStage];

/** Every stage in run order (a stage's deps always come before it). */
export function allStages(methods: readonly MethodSpec[] = METHODS, extra: readonly Stage[] = EXTRA_STAGES): Stage[] {
  const out: Stage[] = [];
  for (const m of methods) if (m.train) out.push({ ...m.train, name: `${m.id}:train`, deps: m.train.deps ?? [] });
  for (const m of methods) for (const s of m.splits) out.push(evalStage(m, s));
  out.push(...extra);
  const names = new Set<string>();
  for (const s of out) {
    for (const d of s.deps) if (!names.has(d)) throw new Error(`bench: stage ${s.name} depends on ${d}, which is not defined before it`);
    if (names.has(s.name)) throw new Error(`bench: stage ${s.name} is defined twice`);
    names.add(s.name);
  }
  return out;
}

/** The seeded per-repository LoRA sample: training repositories with enough tasks in each split. */
export function perRepoSample(train: readonly Task[], irVal: readonly Task[], irTest: readonly Task[], n: number, minTrainTasks: number, seed: number): string[] {
  const count = (ts: readonly Task[]) => { const m = new Map<string, number>(); for (const t of ts) m.set(t.repo, (m.get(t.repo) ?? 0) + 1); return m; };
  const tr = count(train), va = count(irVal), te = count(irTest);
  const eligible = [...tr.entries()].filter(([r, c]) => c >= minTrainTasks && va.has(r) && te.has(r)).map(([r]) => r).sort();
  if (eligible.length === 0) throw new Error(`bench: no training repository has ${minTrainTasks} training tasks and in-repo val/test tasks (perRepo.minTrainTasks)`);
  return new Rng(seed).fork('per-repo-sample').shuffle(eligible).slice(0, n).sort();
}
