// The static-track table as a list: each method (a row of the table) names how it is trained, if it
// is, and what it evaluates with; the pipeline derives its stages `<id>:train`, `<id>:cr`, `<id>:ir`.
// Adding a method is one entry in METHODS; adding another stage (e.g. the conditioning audit) is one
// entry in EXTRA_STAGES.
import { cpSync } from 'node:fs';
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
import { Hypernetwork, modelFileSha256 } from '../../adapters/hyper/hypernet.js';
import type { FileVectors } from '../../adapters/hyper/repo-embedding.js';
import { readManifestSync } from '../../data/manifest.js';
import { repoRoot } from '../../util/repo-root.js';
import { hyperTokenBudget, trainHypernetwork, type HyperTrainConfig } from '../../train/hyper-train.js';
import { runAudit, type AuditCondition } from '../../eval/audit.js';
import { runLossAudit } from '../../eval/audit-loss.js';
import { taskTargetLosses } from '../../eval/target-loss.js';
import { bootstrapGroupMean, bootstrapMean } from '../../eval/bootstrap.js';
import { sampleTasksPerRepo } from '../../eval/task-sample.js';
import type { CachedStage } from '../stage-runner.js';
import { copyTrainingArtefact, copyTrainingRecord, type StagedBenchContext } from '../staged-bench.js';

/** Measured on this machine (2 cores): the base trains ~3,000 tokens/s; greedy evaluation of the
 *  shipped base takes ~0.057 s per task at batch 8 (cr-test: 7,378 tasks in 420 s). */
export const COST = { trainTokensPerS: 3000, evalSecondsPerTask: 0.057, ragEvalFactor: 1.7, loraEvalFactor: 1.2, valSecondsPerTask: 0.01 };

export interface BenchContext extends StagedBenchContext {
  corpusDir: string;
  config: Readonly<BenchStaticConfig>;
  /** SHA-256s of the inputs stages depend on */
  hashes: { base: string; corpus: string; split(name: string): string };
  tasks(split: string): Task[];
  /** the per-repository LoRA sample (training repositories, seeded) */
  perRepoSample(): string[];
}

export type Stage = CachedStage<BenchContext>;

export type EvalSplit = 'cr' | 'ir';
export const SPLIT_FILE: Record<EvalSplit, string> = { cr: 'cr-test', ir: 'ir-test' };

export interface Predictor {
  model: LlamaModel;
  tok: TextTokenizer;
  adapter?: ProjectionAdapter | null;
  adapterFor?: (repo: string) => ProjectionAdapter | null;
  name: string;
  /** per-task adapters (Code2LoRA with the task's own test file left out of the embedding) */
  adapterForTask?: { key: (task: Task) => string; adapter: (task: Task) => ProjectionAdapter | null };
}

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
      base: ctx.hashes.base,
      train: ctx.hashes.split('train'),
      val: ctx.hashes.split(mode === 'per-repo-lora' ? 'ir-val' : 'cr-val'),
      config: ctx.config.train[mode],
      ...(mode === 'per-repo-lora' ? { repos: ctx.perRepoSample() } : {}),
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
        config: cfg,
        model,
        tokenizer: tok,
        tokenizerJson,
        tokenizerConfigJson,
        train: ctx.tasks('train'),
        val: ctx.tasks(mode_ === 'per-repo-lora' ? 'ir-val' : 'cr-val'),
        repos: mode_ === 'per-repo-lora' ? ctx.perRepoSample() : undefined,
        out: work,
        baseModelName: ctx.modelDir,
        command: ctx.command,
        onStep: (i) => bar.update(i.done, { loss: i.loss.toFixed(3), val: i.valLoss?.toFixed(3) ?? '' }),
      });
      bar.stop();
      if (!summaries) throw new Error(`${mode_}: training stopped early`);
      // The artefact: the chosen checkpoint(s) and the training records, copied out of the work folder.
      if (mode_ === 'per-repo-lora') {
        for (const s of summaries) {
          const repo = s.best.split('/').slice(-2, -1)[0] as string;
          cpSync(s.best, join(dir, 'repos', repo, 'adapter'), { recursive: true });
          copyTrainingRecord(join(work, 'repos', repo, 'training.json'), join(dir, 'repos', repo, 'training.json'), 'adapter');
        }
      } else {
        copyTrainingArtefact(summaries[0]!.best, work, dir, mode_ === 'full-ft' ? 'model' : 'adapter');
      }
      return {
        runs: summaries.length,
        bestValLoss: summaries.map((s) => s.bestValLoss),
        bestStep: summaries.map((s) => s.bestStep),
        tokensSeen: summaries.reduce((a, s) => a + s.tokensSeen, 0),
        tokenBudget: summaries.reduce((a, s) => a + s.tokenBudget, 0),
      };
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

/** Committed artefacts name files relative to the package root, never this machine's absolute paths,
 *  and keep per-task scores without the task's text (targets and predictions are corpus data). */
function committable<T extends { results?: Array<{ target?: string; prediction?: string }> }>(report: T): string {
  const results = report.results?.map(({ target: _t, prediction: _p, ...rest }) => rest);
  const json = JSON.stringify(results ? { ...report, results } : report);
  return json.split(JSON.stringify(`${repoRoot()}/`).slice(1, -1)).join('');
}

/** repository name -> its folder in the benchmark corpus */
function repoDirs(ctx: BenchContext): Map<string, string> {
  return new Map(readManifestSync(ctx.corpusDir).projects.map((p) => [p.name, join(ctx.corpusDir, p.dir)]));
}

/** The per-file embedding cache the Static stages share (keyed by the encoder's weights, so a new
 *  base model never reuses old entries). */
function embeddingCache(ctx: BenchContext): string {
  return join(ctx.out, 'work', 'embeddings');
}

/** The Code2LoRA-Static configurations: METHOD.md's encoder (production code only); ours with the
 *  repository's test files embedded, each task's own test file left out; and that one with the
 *  head's input standardised (head.inputNorm). */
export type StaticVariant = 'hyper' | 'hyperTests' | 'hyperTestsNorm' | 'hyperContrastive';

/** A hypernetwork config as its stage hashes it: fields added after stages were recorded are left
 *  out while they hold their default (head.inputNorm false, contrastive 0), so a new field does not invalidate
 *  finished runs whose behaviour it does not change. */
function hashedHyperConfig(c: HyperTrainConfig): unknown {
  const { inputNorm, ...head } = c.head;
  const { contrastive, contrastiveMargin, ...rest } = c;
  const base = contrastive > 0 ? c : rest;
  return inputNorm ? base : { ...base, head };
}

/** Code2LoRA-Static: the hypernetwork trained on the training repositories' tasks, the same token
 *  budget as the fine-tuned baselines, cr-val loss (per-repository mean) choosing the checkpoint. */
function staticTrainStage(id: string, key: StaticVariant): NonNullable<MethodSpec['train']> {
  return {
    version: 1,
    inputs: (ctx) => ({
      base: ctx.hashes.base,
      train: ctx.hashes.split('train'),
      val: ctx.hashes.split('cr-val'),
      corpus: ctx.hashes.corpus,
      config: hashedHyperConfig(ctx.config[key]),
    }),
    estimateSeconds: (ctx) => {
      const c = ctx.config[key]!;
      const evals = Math.ceil(c.steps / c.evalEvery);
      // embedding ~270 repositories once (about 2 s each when not cached) + training + validation
      // the contrastive term reads every batch twice
      const passes = c.contrastive > 0 ? 2 : 1;
      return 270 * 2 + (passes * hyperTokenBudget(c)) / COST.trainTokensPerS + evals * c.valTasksPerRepo * 30 * COST.valSecondsPerTask;
    },
    run(ctx, dir, work) {
      const { model, tok } = ctx.base();
      const cfg = ctx.config[key]!;
      let bar: Progress | undefined, ebar: Progress | undefined;
      const s = trainHypernetwork({
        config: cfg,
        model,
        baseModelSha256: modelFileSha256(ctx.modelDir),
        tokenizer: tok,
        train: ctx.tasks('train'),
        val: ctx.tasks('cr-val'),
        repoDirs: repoDirs(ctx),
        cacheDir: embeddingCache(ctx),
        out: work,
        command: ctx.command,
        onEmbed: (d, t) => {
          ebar ??= ctx.progress(`${id} embed`, t);
          ebar.update(d);
        },
        onStep: (i) => {
          if (ebar) {
            ebar.stop();
            ebar = undefined;
          }
          bar ??= ctx.progress(`${id} train`, cfg.steps);
          bar.update(i.step, { loss: i.loss.toFixed(3), val: i.valLoss?.toFixed(3) ?? '' });
        },
      });
      bar?.stop();
      if (!s) throw new Error(`${id}: training stopped early`);
      copyTrainingArtefact(s.best, work, dir, 'hypernet');
      return {
        runs: 1,
        bestValLoss: [s.bestValLoss],
        bestStep: [s.bestStep],
        baseValLoss: s.baseValLoss,
        tokensSeen: s.tokensSeen,
        tokenBudget: s.tokenBudget,
        embedSeconds: s.embedSeconds,
      };
    },
  };
}

function staticFrom(ctx: BenchContext, dir: string): Predictor {
  const p = plainBase(ctx);
  const hyper = Hypernetwork.load(join(dir, 'hypernet'), p.model, p.tok, modelFileSha256(ctx.modelDir));
  const dirs = repoDirs(ctx),
    files = new Map<string, FileVectors>(),
    cache = new Map<string, ProjectionAdapter>();
  const fileVectors = (repo: string) => {
    let fv = files.get(repo);
    if (!fv) {
      const d = dirs.get(repo);
      if (!d) throw new Error(`code2lora-static: repository ${repo} is not in the corpus ${ctx.corpusDir}`);
      fv = hyper.fileVectors(d, embeddingCache(ctx));
      files.set(repo, fv);
    }
    return fv;
  };
  return {
    ...p,
    name: `${ctx.modelDir} + Code2LoRA-Static adapters (${join(dir, 'hypernet')})`,
    // one adapter per repository, or per (repository, test file) when the encoder reads test files
    adapterForTask: {
      key: (t) => hyper.adapterKey(t),
      adapter: (t) => {
        const k = hyper.adapterKey(t);
        let a = cache.get(k);
        if (!a) {
          a = hyper.adapterForFile(fileVectors(t.repo), t.file);
          cache.set(k, a);
        }
        return a;
      },
    },
  };
}

/** The conditioning audit (METHOD.md section 4) of the trained hypernetwork on one split. */
/** One progress bar per phase of a multi-phase job (embed, then each condition): a new bar whenever
 *  the phase name changes. */
function phasedProgress(
  ctx: BenchContext,
  label: string,
): { update: (phase: string, done: number, total: number) => void; stop: () => void } {
  let bar: Progress | undefined,
    current = '';
  return {
    update(phase, done, total) {
      if (phase !== current) {
        bar?.stop();
        bar = ctx.progress(`${label} ${phase}`, total);
        current = phase;
      }
      bar!.update(done);
    },
    stop: () => bar?.stop(),
  };
}

function auditStage(id: string, split: EvalSplit): Stage {
  return {
    name: `${id}:audit-${split}`,
    deps: [`${id}:train`],
    version: 1,
    inputs: (ctx) => ({
      base: ctx.hashes.base,
      tasks: ctx.hashes.split(SPLIT_FILE[split]),
      corpus: ctx.hashes.corpus,
      eval: ctx.config.eval,
      audit: ctx.config.audit,
      repos: evalRepos(ctx, split) ?? 'all',
      seed: ctx.config.seed,
    }),
    estimateSeconds: (ctx) => {
      const repos = evalRepos(ctx, split);
      let n = ctx.tasks(SPLIT_FILE[split]).length;
      if (repos) {
        const keep = new Set(repos);
        n = ctx.tasks(SPLIT_FILE[split]).filter((t) => keep.has(t.repo)).length;
      }
      return n * COST.evalSecondsPerTask * COST.loraEvalFactor * (1 + ctx.config.audit.conditions.length);
    },
    run(ctx, dir) {
      const progress = phasedProgress(ctx, `audit ${split}`);
      const r = runAudit({
        hyperDir: join(ctx.artefact(`${id}:train`), 'hypernet'),
        modelDir: ctx.modelDir,
        tasksDir: ctx.tasksDir,
        split: SPLIT_FILE[split],
        corpusDir: ctx.corpusDir,
        cacheDir: embeddingCache(ctx),
        conditions: ctx.config.audit.conditions as AuditCondition[],
        repos: evalRepos(ctx, split),
        maxNewTokens: ctx.config.eval.maxNewTokens,
        batch: ctx.config.eval.batch,
        tasksPerRepo: ctx.config.eval.tasksPerRepo,
        bootstrapSamples: ctx.config.eval.bootstrapSamples,
        seed: ctx.config.seed,
        onProgress: progress.update,
      });
      progress.stop();
      writeFileAtomicSync(join(dir, 'audit.json'), committable(r) + '\n');
      return {
        tasks: r.tasks,
        verdict: r.verdict,
        own: r.conditions.own?.exactMatch.estimate,
        ownMinusMean: r.ownMinus.mean?.exactMatch.estimate,
        ownMinusWrong: r.ownMinus.wrong?.exactMatch.estimate,
        diversity: r.diversity,
      };
    },
  };
}

/** Where the loss audit reads its tasks: the cross-repo and in-repo test rows as the audit does, and
 *  'train': the training tasks of the per-repo sample (tasks the head was trained on), 16 each,
 *  which asks whether the head can tell apart even the repositories it saw. */
export type LossAuditSplit = EvalSplit | 'train';
const LOSS_AUDIT_TRAIN_TASKS_PER_REPO = 16;

function lossAuditStage(id: string, key: StaticVariant, split: LossAuditSplit): Stage {
  const file = split === 'train' ? 'train' : SPLIT_FILE[split];
  const repos = (ctx: BenchContext) => (split === 'train' ? ctx.perRepoSample() : evalRepos(ctx, split));
  const perRepo = (ctx: BenchContext) => (split === 'train' ? LOSS_AUDIT_TRAIN_TASKS_PER_REPO : ctx.config.eval.tasksPerRepo);
  return {
    name: `${id}:audit-loss-${split}`,
    deps: [`${id}:train`],
    version: 1,
    inputs: (ctx) => ({
      base: ctx.hashes.base,
      tasks: ctx.hashes.split(file),
      corpus: ctx.hashes.corpus,
      batch: ctx.config.eval.batch,
      maxTokens: ctx.config[key].maxTokens,
      tasksPerRepo: perRepo(ctx),
      audit: ctx.config.audit,
      repos: repos(ctx) ?? 'all',
      seed: ctx.config.seed,
    }),
    estimateSeconds: (ctx) => {
      const keep = repos(ctx);
      const n = ctx.tasks(file).filter((t) => !keep || keep.includes(t.repo)).length;
      const k = perRepo(ctx);
      const tasks = k > 0 ? Math.min(n, k * (keep?.length ?? 30)) : n;
      return tasks * COST.evalSecondsPerTask * 0.3 * (1 + ctx.config.audit.conditions.length);
    },
    run(ctx, dir) {
      const progress = phasedProgress(ctx, `audit-loss ${split}`);
      const r = runLossAudit({
        hyperDir: join(ctx.artefact(`${id}:train`), 'hypernet'),
        modelDir: ctx.modelDir,
        tasksDir: ctx.tasksDir,
        split: file,
        corpusDir: ctx.corpusDir,
        cacheDir: embeddingCache(ctx),
        conditions: ctx.config.audit.conditions as AuditCondition[],
        repos: repos(ctx),
        maxTokens: ctx.config[key].maxTokens,
        batch: ctx.config.eval.batch,
        tasksPerRepo: perRepo(ctx),
        bootstrapSamples: ctx.config.eval.bootstrapSamples,
        seed: ctx.config.seed,
        onProgress: progress.update,
      });
      progress.stop();
      writeFileAtomicSync(join(dir, 'audit-loss.json'), JSON.stringify(r, null, 2) + '\n');
      return {
        tasks: r.tasks,
        verdict: r.verdict,
        meanMinusOwn: r.gainOverOwn.mean?.estimate,
        wrongMinusOwn: r.gainOverOwn.wrong?.estimate,
      };
    },
  };
}

/** A Code2LoRA-Static row: its hypernetwork trained with config `key`, evaluated with each task's
 *  generated adapter. */
function staticMethod(id: string, label: string, key: StaticVariant): MethodSpec {
  return {
    id,
    label,
    splits: ['cr', 'ir'],
    train: staticTrainStage(id, key),
    evalFactor: COST.loraEvalFactor,
    load: (ctx, d) => staticFrom(ctx, d!),
  };
}

/** The rows of the table, in order. Code2LoRA-Static: add one entry here, e.g.
 *  { id: 'code2lora-static', label: 'Code2LoRA-Static', splits: ['cr', 'ir'], train: <its trainer stage>,
 *    load: (ctx, dir) => ({ ...plainBase, adapterFor: (repo) => <generated adapter for repo> }) }
 *  and its conditioning audit (METHOD.md section 4) as one entry in EXTRA_STAGES. */
export const METHODS: MethodSpec[] = [
  { id: 'pretrained', label: 'Pretrained', splits: ['cr', 'ir'], load: (ctx) => plainBase(ctx) },
  {
    id: 'rag-code',
    label: 'RAG (BM25, production code)',
    splits: ['cr', 'ir'],
    rag: 'bm25-code',
    evalFactor: COST.ragEvalFactor,
    load: (ctx) => plainBase(ctx),
  },
  {
    id: 'rag-siblings',
    label: 'RAG (BM25, sibling assertions)',
    splits: ['cr', 'ir'],
    rag: 'bm25-siblings',
    evalFactor: COST.ragEvalFactor,
    load: (ctx) => plainBase(ctx),
  },
  {
    id: 'shared-lora',
    label: 'Single shared LoRA',
    splits: ['cr', 'ir'],
    train: finetuneStage('shared-lora'),
    evalFactor: COST.loraEvalFactor,
    load: (ctx, d) => loraFrom(ctx, d!),
  },
  { id: 'full-ft', label: 'Full fine-tune', splits: ['cr', 'ir'], train: finetuneStage('full-ft'), load: (ctx, d) => fullFrom(ctx, d!) },
  {
    id: 'full-ft+rag',
    label: 'Full fine-tune + RAG (siblings)',
    splits: ['cr', 'ir'],
    rag: 'bm25-siblings',
    uses: 'full-ft:train',
    evalFactor: COST.ragEvalFactor,
    load: (ctx, d) => fullFrom(ctx, d!),
  },
  {
    id: 'per-repo-lora',
    label: 'Per-repo LoRA (upper bound)',
    splits: ['ir'],
    train: finetuneStage('per-repo-lora'),
    evalFactor: COST.loraEvalFactor,
    load: (ctx, d) => {
      const p = plainBase(ctx);
      const cache = new Map<string, LoraAdapter>();
      return {
        ...p,
        name: `${ctx.modelDir} + per-repository adapters`,
        adapterFor: (repo) => {
          let a = cache.get(repo);
          if (!a) {
            a = LoraAdapter.loadPeft(join(d!, 'repos', repo, 'adapter'), p.model.config);
            cache.set(repo, a);
          }
          return a;
        },
      };
    },
  },
  staticMethod('code2lora-static', 'Code2LoRA-Static', 'hyper'),
  staticMethod('code2lora-static-tests', 'Code2LoRA-Static + test files (own file left out)', 'hyperTests'),
  staticMethod('code2lora-static-tests-norm', 'Code2LoRA-Static + test files + standardised input', 'hyperTestsNorm'),
  staticMethod('code2lora-static-contrastive', 'Code2LoRA-Static + test files + standardised input + contrastive term', 'hyperContrastive'),
];

/** The tasks one evaluation covers: IR rows use the per-repo LoRA sample when configured so. */
export function evalRepos(ctx: BenchContext, split: EvalSplit, method?: string): string[] | undefined {
  if (split === 'ir' && method === 'per-repo-lora') return ctx.perRepoSample(); // adapters exist for the sample only
  return split === 'ir' && ctx.config.perRepo.irOnSample && METHODS.some((m) => m.id === 'per-repo-lora') ? ctx.perRepoSample() : undefined;
}

function evalStage(m: MethodSpec, split: EvalSplit): Stage {
  const trainStage = m.train ? `${m.id}:train` : m.uses;
  return {
    name: `${m.id}:${split}`,
    deps: trainStage ? [trainStage] : [],
    version: 1,
    inputs: (ctx) => ({
      base: ctx.hashes.base,
      tasks: ctx.hashes.split(SPLIT_FILE[split]),
      eval: ctx.config.eval,
      repos: evalRepos(ctx, split, m.id) ?? 'all',
      ...(m.rag ? { rag: { ...ctx.config.rag, variant: m.rag }, corpus: ctx.hashes.corpus } : {}),
      seed: ctx.config.seed,
    }),
    estimateSeconds: (ctx) => {
      const repos = evalRepos(ctx, split, m.id);
      let tasks = ctx.tasks(SPLIT_FILE[split]);
      if (repos) {
        const keep = new Set(repos);
        tasks = tasks.filter((t) => keep.has(t.repo));
      }
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
        modelName: p.name,
        adapter: p.adapter ?? null,
        adapterFor: p.adapterFor,
        adapterForTask: p.adapterForTask,
        tasksDir: ctx.tasksDir,
        split: SPLIT_FILE[split],
        maxNewTokens: ctx.config.eval.maxNewTokens,
        batch: ctx.config.eval.batch,
        limit: 0,
        tasksPerRepo: ctx.config.eval.tasksPerRepo,
        repos: evalRepos(ctx, split, m.id),
        rag: m.rag ? { ...ctx.config.rag, variant: m.rag } : undefined,
        corpusDir: ctx.corpusDir,
        bootstrapSamples: ctx.config.eval.bootstrapSamples,
        seed: ctx.config.seed,
        onProgress: (done, total) => {
          bar ??= ctx.progress(`${m.id} ${SPLIT_FILE[split]}`, total);
          bar.update(done);
        },
      });
      bar?.stop();
      writeFileAtomicSync(join(dir, 'eval.json'), committable({ method: m.id, label: m.label, ...r }) + '\n');
      return { tasks: r.tasks, exactMatch: r.exactMatch.estimate, editSimilarity: r.editSimilarity.estimate, seconds: r.seconds };
    },
  };
}

/** Sequence cap of the loss stages: the training cap of every trained method (256 tokens), so the
 *  loss is the quantity they were trained on. */
export const LOSS_MAX_TOKENS = 256;

/** The teacher-forced target loss of a method on a split (methods without retrieval): the loss column
 *  of the report, and per-repo LoRA against shared LoRA on it is the headroom any repository
 *  conditioning has on this base. */
function lossStage(m: MethodSpec, split: EvalSplit): Stage {
  const trainStage = m.train ? `${m.id}:train` : m.uses;
  const tasksOf = (ctx: BenchContext) => {
    const keep = evalRepos(ctx, split, m.id);
    let ts = ctx.tasks(SPLIT_FILE[split]).filter((t) => !keep || keep.includes(t.repo));
    if (ctx.config.eval.tasksPerRepo > 0) ts = sampleTasksPerRepo(ts, ctx.config.eval.tasksPerRepo, ctx.config.seed);
    return ts;
  };
  return {
    name: `${m.id}:loss-${split}`,
    deps: trainStage ? [trainStage] : [],
    version: 1,
    inputs: (ctx) => ({
      base: ctx.hashes.base,
      tasks: ctx.hashes.split(SPLIT_FILE[split]),
      batch: ctx.config.eval.batch,
      tasksPerRepo: ctx.config.eval.tasksPerRepo,
      maxTokens: LOSS_MAX_TOKENS,
      repos: evalRepos(ctx, split, m.id) ?? 'all',
      seed: ctx.config.seed,
    }),
    estimateSeconds: (ctx) => tasksOf(ctx).length * COST.evalSecondsPerTask * 0.3 * (m.evalFactor ?? 1),
    run(ctx, dir) {
      const p = m.load(ctx, trainStage ? ctx.artefact(trainStage) : null);
      let bar: Progress | undefined;
      // tasks grouped by adapter so a batch shares one
      const adapterOf = (t: Task) =>
        p.adapterForTask
          ? { key: p.adapterForTask.key(t), adapter: p.adapterForTask.adapter(t) }
          : p.adapterFor
            ? { key: t.repo, adapter: p.adapterFor(t.repo) }
            : { key: '', adapter: p.adapter ?? null };
      const ordered = [...tasksOf(ctx)].sort((a, b) => (a.repo < b.repo ? -1 : a.repo > b.repo ? 1 : a.id < b.id ? -1 : 1));
      const r = taskTargetLosses(p.model, p.tok, ordered, {
        adapterOf,
        maxTokens: LOSS_MAX_TOKENS,
        batch: ctx.config.eval.batch,
        onProgress: (d, n) => {
          bar ??= ctx.progress(`${m.id} loss ${SPLIT_FILE[split]}`, n);
          bar.update(d);
        },
      });
      bar?.stop();
      const groups = r.tasks.map((t) => t.repo),
        opts = { seed: ctx.config.seed, samples: ctx.config.eval.bootstrapSamples };
      const report = {
        method: m.id,
        label: m.label,
        split: SPLIT_FILE[split],
        maxTokens: LOSS_MAX_TOKENS,
        tasks: r.tasks.length,
        skipped: ordered.length - r.tasks.length,
        perTask: bootstrapMean(r.losses, { ...opts, groups }),
        perRepo: bootstrapGroupMean(r.losses, groups, opts),
        results: r.tasks.map((t, i) => ({ id: t.id, repo: t.repo, loss: r.losses[i] })),
      };
      writeFileAtomicSync(join(dir, 'loss.json'), JSON.stringify(report) + '\n');
      return { tasks: report.tasks, loss: report.perTask.estimate };
    },
  };
}

const latencyStage: Stage = {
  name: 'latency',
  deps: ['shared-lora:train'],
  version: 1,
  inputs: (ctx) => ({
    base: ctx.hashes.base,
    tasks: ctx.hashes.split('cr-test'),
    corpus: ctx.hashes.corpus,
    latency: ctx.config.latency,
    rag: ctx.config.rag,
    seed: ctx.config.seed,
  }),
  estimateSeconds: (ctx) => ctx.config.latency.tasks * 3 * 0.05,
  run(ctx, dir) {
    const { model, tok } = ctx.base();
    const adapter = LoraAdapter.loadPeft(join(ctx.artefact('shared-lora:train'), 'adapter'), model.config);
    const tasks = new Rng(ctx.config.seed)
      .fork('latency')
      .shuffle([...ctx.tasks('cr-test')])
      .slice(0, ctx.config.latency.tasks);
    const { maxRetrievedTokens: _m, retrievalShare: _s, ...rag } = ctx.config.rag;
    const bar = ctx.progress('latency', tasks.length);
    const r = measureLatency(model, tok, tasks, {
      adapter,
      corpusDir: ctx.corpusDir,
      rag,
      promptTokens: ctx.config.latency.promptTokens,
      newTokens: ctx.config.latency.newTokens,
      onProgress: (d) => bar.update(d),
    });
    bar.stop();
    writeFileAtomicSync(join(dir, 'latency.json'), JSON.stringify(r, null, 2) + '\n');
    return r;
  },
};

/** Stages that are not a method's training or evaluation (Code2LoRA's audit goes here). */
export const EXTRA_STAGES: Stage[] = [
  latencyStage,
  auditStage('code2lora-static', 'cr'),
  auditStage('code2lora-static', 'ir'),
  auditStage('code2lora-static-tests', 'cr'),
  auditStage('code2lora-static-tests', 'ir'),
  auditStage('code2lora-static-tests-norm', 'cr'),
  auditStage('code2lora-static-tests-norm', 'ir'),
  auditStage('code2lora-static-contrastive', 'cr'),
  auditStage('code2lora-static-contrastive', 'ir'),
  ...(
    [
      ['code2lora-static', 'hyper'],
      ['code2lora-static-tests', 'hyperTests'],
      ['code2lora-static-tests-norm', 'hyperTestsNorm'],
      ['code2lora-static-contrastive', 'hyperContrastive'],
    ] as const
  ).flatMap(([id, key]) => (['cr', 'ir', 'train'] as const).map((split) => lossAuditStage(id, key, split))),
];

/** Every stage in run order (a stage's deps always come before it). */
export function allStages(methods: readonly MethodSpec[] = METHODS, extra: readonly Stage[] = EXTRA_STAGES): Stage[] {
  const out: Stage[] = [];
  for (const m of methods) if (m.train) out.push({ ...m.train, name: `${m.id}:train`, deps: m.train.deps ?? [] });
  for (const m of methods) for (const s of m.splits) out.push(evalStage(m, s));
  for (const m of methods) if (!m.rag) for (const s of m.splits) out.push(lossStage(m, s));
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
export function perRepoSample(
  train: readonly Task[],
  irVal: readonly Task[],
  irTest: readonly Task[],
  n: number,
  minTrainTasks: number,
  seed: number,
): string[] {
  const count = (ts: readonly Task[]) => {
    const m = new Map<string, number>();
    for (const t of ts) m.set(t.repo, (m.get(t.repo) ?? 0) + 1);
    return m;
  };
  const tr = count(train),
    va = count(irVal),
    te = count(irTest);
  const eligible = [...tr.entries()]
    .filter(([r, c]) => c >= minTrainTasks && va.has(r) && te.has(r))
    .map(([r]) => r)
    .sort();
  if (eligible.length === 0)
    throw new Error(`bench: no training repository has ${minTrainTasks} training tasks and in-repo val/test tasks (perRepo.minTrainTasks)`);
  return new Rng(seed).fork('per-repo-sample').shuffle(eligible).slice(0, n).sort();
}
