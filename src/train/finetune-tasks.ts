// Fine-tuning on assertion tasks with the target-only loss (task-batch.ts), one trainer for three
// baselines: a single shared LoRA (all training repositories), a LoRA per repository (in-repo upper
// bound, each on its own training tasks) and a full fine-tune (every base weight trainable).
// Every run goes through trainLoop (accumulation, clipping, AdamW, cosine, atomic checkpoints, exact
// resume); the checkpoint kept is the one with the lowest per-repository validation loss.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { validateLoraConfig, type LoraConfig } from '../adapters/lora/config.js';
import { saveLlama } from '../model/llama/io.js';
import type { LlamaModel, ProjectionAdapter } from '../model/llama/model.js';
import type { Tensor } from '../tensor/index.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import type { Task } from '../data/tasks/types.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import { Rng } from '../util/rng.js';
import { trainLoop, type StepInfo } from './loop.js';
import { RunRecord } from './run-record.js';
import { checkTaskTrainingFields, taskTrainLoopConfig } from './task-training-config.js';
import { RepoTaskSampler, perRepoValidationLoss, validationSet, type ValidationSet } from './task-sampling.js';

export const FINETUNE_MODES = ['shared-lora', 'per-repo-lora', 'full-ft'] as const;
export type FinetuneMode = (typeof FINETUNE_MODES)[number];

export interface FinetuneConfig {
  mode: FinetuneMode;
  /** LoRA modes only */
  lora: LoraConfig;
  /** tokens per training sequence: prefix cut from the left to fit, the target never */
  maxTokens: number;
  /** tasks drawn from one repository per micro-batch */
  tasksPerRepo: number;
  /** repositories (micro-batches) per optimiser update */
  reposPerStep: number;
  /** optimiser updates (per repository in per-repo-lora mode) */
  steps: number;
  lr: number;
  minLr: number;
  /** warm-up as a share of the steps (METHOD.md: 3%) */
  warmupFraction: number;
  clip: number;
  weightDecay: number;
  /** validation loss every N updates (and at the end) */
  evalEvery: number;
  /** validation subset: at most this many tasks per repository (0 = all) */
  valTasksPerRepo: number;
  /** validation subset: at most this many repositories (0 = all) */
  valMaxRepos: number;
  /** sequences per validation forward pass */
  valBatch: number;
  checkpointEvery: number;
  seed: number;
  threads: number;
}

export function defaultFinetuneConfig(mode: FinetuneMode = 'shared-lora'): FinetuneConfig {
  return {
    mode,
    lora: { rank: 16, alpha: 32, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], dropout: 0 },
    maxTokens: 256,
    tasksPerRepo: 16,
    reposPerStep: 1,
    steps: 400,
    lr: mode === 'full-ft' ? 3e-4 : 2e-3,
    minLr: mode === 'full-ft' ? 3e-5 : 2e-4,
    warmupFraction: 0.03,
    clip: 1,
    weightDecay: 0.01,
    evalEvery: 50,
    valTasksPerRepo: 16,
    valMaxRepos: 0,
    valBatch: 16,
    checkpointEvery: 25,
    seed: 0,
    threads: 2,
  };
}

const KEYS = Object.keys(defaultFinetuneConfig());

export function validateFinetuneConfig(c: FinetuneConfig, source: string): Readonly<FinetuneConfig> {
  const fail = (msg: string): never => {
    throw new Error(`finetune config ${source}: ${msg}`);
  };
  checkTaskTrainingFields(c, KEYS, fail);
  if (!(FINETUNE_MODES as readonly string[]).includes(c.mode))
    fail(`mode must be one of ${FINETUNE_MODES.join(', ')}, got ${JSON.stringify(c.mode)}`);
  if (!Number.isInteger(c.threads) || c.threads < 1) fail(`threads must be a positive integer, got ${JSON.stringify(c.threads)}`);
  if (c.maxTokens < 8) fail(`maxTokens must be >= 8, got ${c.maxTokens}`);
  const lora = validateLoraConfig(c.lora, `${source} (lora)`);
  return Object.freeze({ ...c, lora });
}

/** The most tokens one run can train on: steps x repositories per step x tasks x maxTokens (per
 *  repository in per-repo mode). The same bound for shared LoRA, full fine-tune and Code2LoRA-Static
 *  keeps their comparison fair; training.json records the tokens actually seen. */
export function tokenBudget(c: FinetuneConfig): number {
  return c.steps * c.reposPerStep * c.tasksPerRepo * c.maxTokens;
}

export interface FinetuneRun {
  config: FinetuneConfig;
  /** the frozen base (LoRA modes) or the model to train in place (full-ft) */
  model: LlamaModel;
  tokenizer: TextTokenizer;
  /** tokenizer.json (and tokenizer_config.json) text, written next to a fully fine-tuned model */
  tokenizerJson: string;
  tokenizerConfigJson?: string;
  train: readonly Task[];
  /** shared-lora / full-ft: cross-repo validation tasks (cr-val); per-repo-lora: in-repo (ir-val) */
  val: readonly Task[];
  /** per-repo-lora: the repositories to train an adapter for (a seeded sample) */
  repos?: readonly string[];
  out: string;
  baseModelName: string | null;
  command: string;
  onStep?: (info: StepInfo & { repo?: string; valLoss?: number; done: number; total: number }) => void;
  /** stop after this many updates of the current run with a checkpoint, as a killed run would (tests) */
  stopAfter?: number;
}

export type { CurvePoint } from './run-record.js';

export interface FinetuneSummary {
  mode: FinetuneMode;
  bestStep: number;
  bestValLoss: number;
  tokensSeen: number;
  targetTokensSeen: number;
  tokenBudget: number;
  seconds: number;
  /** where the chosen checkpoint is (a PEFT directory or a Hugging Face model directory) */
  best: string;
}

interface OneRun {
  out: string;
  sampler: RepoTaskSampler;
  repo?: string;
  valSet: ValidationSet;
  params: Map<string, Tensor>;
  adapter: LoraAdapter | null;
}

function loraParams(a: LoraAdapter): Map<string, Tensor> {
  const m = new Map<string, Tensor>();
  for (const [k, p] of a.weights) {
    m.set(`${k}.lora_A`, p.A);
    m.set(`${k}.lora_B`, p.B);
  }
  return m;
}

/** Trains one model or adapter; null when stopped early on purpose (the checkpoint holds the state). */
function trainOne(
  run: FinetuneRun,
  cfg: Readonly<FinetuneConfig>,
  one: OneRun,
  progress: { done: number; total: number },
): FinetuneSummary | null {
  mkdirSync(one.out, { recursive: true });
  // A resumed run continues its curve and its best checkpoint from the last saved state.
  const rec = new RunRecord({
    out: one.out,
    bestDirName: cfg.mode === 'full-ft' ? 'model' : 'adapter',
    evalEvery: cfg.evalEvery,
    steps: cfg.steps,
  });
  const padId = run.tokenizer.padId;
  const adapterFor = (): ProjectionAdapter | null => one.adapter;
  const saveBest = (tmp: string) => {
    if (one.adapter) one.adapter.savePeft(tmp, run.model.config, run.baseModelName);
    else {
      saveLlama(tmp, run.model, { tokenizerJson: run.tokenizerJson });
      if (run.tokenizerConfigJson) writeFileAtomicSync(join(tmp, 'tokenizer_config.json'), run.tokenizerConfigJson);
    }
  };
  const writeCurve = () =>
    rec.writeCurve({
      title: `${cfg.mode}${one.repo ? ` (${one.repo})` : ''}: target-token loss`,
      trainLabel: 'train (target tokens, per step)',
      valLabel: 'validation (mean over repositories)',
    });
  const loop = trainLoop(
    one.params,
    // A micro-step keeps nothing (batch in, loss out), so its buffers can be reused.
    {
      ...taskTrainLoopConfig(cfg, { accumulation: cfg.reposPerStep, checkpointPath: rec.statePath, stopAfter: run.stopAfter }),
      arena: true,
    },
    {
      microStep(tape, rng) {
        const b = one.repo ? one.sampler.fromRepo(one.repo, rng, padId) : one.sampler.next(rng, padId);
        const r = run.model.loss(tape, b.batch.batch, b.batch.targets, one.adapter);
        rec.targetTokens += r.count;
        return { loss: r.loss, tokens: b.batch.tokens };
      },
      onStep(info) {
        const point = rec.step(info, () => perRepoValidationLoss(run.model, one.valSet, padId, cfg.valBatch, adapterFor).loss, saveBest);
        progress.done++;
        run.onStep?.({ ...info, repo: one.repo, valLoss: point.valLoss, done: progress.done, total: progress.total });
      },
      onCheckpoint: () => writeCurve(),
    },
  );
  if (loop.steps < cfg.steps) return null;
  writeCurve();
  const summary: FinetuneSummary = {
    mode: cfg.mode,
    bestStep: rec.best.step,
    bestValLoss: rec.best.valLoss,
    tokensSeen: rec.tokens,
    targetTokensSeen: rec.targetTokens,
    tokenBudget: tokenBudget(cfg),
    seconds: rec.seconds,
    best: rec.bestDir,
  };
  writeFileAtomicSync(
    join(one.out, 'training.json'),
    JSON.stringify(
      {
        command: run.command,
        config: cfg,
        repo: one.repo ?? null,
        trainRepos: one.sampler.repos.length,
        droppedRepos: one.sampler.droppedRepos,
        valRepos: one.valSet.repos.size,
        valTasks: one.valSet.tasks,
        valSkipped: one.valSet.skipped,
        ...summary,
      },
      null,
      2,
    ) + '\n',
  );
  rmSync(rec.statePath, { force: true });
  return summary;
}

function valOptions(cfg: FinetuneConfig) {
  return { maxTokens: cfg.maxTokens, batch: cfg.valBatch, tasksPerRepo: cfg.valTasksPerRepo, maxRepos: cfg.valMaxRepos, seed: cfg.seed };
}

/**
 * Runs the configured fine-tune. shared-lora / full-ft: one run into `out`; per-repo-lora: one run
 * per repository into `out/repos/<repo>` (finished repositories are skipped, so the whole set resumes).
 * Returns one summary per run, or null when stopped early on purpose.
 */
export function finetuneTasks(run: FinetuneRun): FinetuneSummary[] | null {
  const cfg = validateFinetuneConfig(run.config, 'finetune');
  if (run.train.length === 0) throw new Error('finetune: no training tasks');
  if (run.val.length === 0) throw new Error('finetune: no validation tasks (the validation loss chooses the checkpoint)');
  if (cfg.mode !== 'per-repo-lora') {
    const sampler = new RepoTaskSampler(run.train, run.tokenizer, { maxTokens: cfg.maxTokens, tasksPerRepo: cfg.tasksPerRepo });
    const valSet = validationSet(run.val, run.tokenizer, valOptions(cfg));
    let adapter: LoraAdapter | null = null,
      params: Map<string, Tensor>;
    if (cfg.mode === 'shared-lora') {
      run.model.setTrainable(false);
      adapter = LoraAdapter.init(cfg.lora, run.model.config, new Rng(cfg.seed).fork('lora-init'));
      params = loraParams(adapter);
    } else {
      run.model.setTrainable(true);
      params = new Map(run.model.params);
    }
    const s = trainOne(run, cfg, { out: run.out, sampler, valSet, params, adapter }, { done: 0, total: cfg.steps });
    return s ? [s] : null;
  }
  const repos = run.repos;
  if (!repos || repos.length === 0) throw new Error('finetune per-repo-lora: no repositories given (pass a seeded sample)');
  run.model.setTrainable(false);
  const sampler = new RepoTaskSampler(run.train, run.tokenizer, { maxTokens: cfg.maxTokens, tasksPerRepo: cfg.tasksPerRepo, repos });
  const out: FinetuneSummary[] = [];
  const progress = { done: 0, total: cfg.steps * repos.length };
  for (const repo of repos) {
    const dir = join(run.out, 'repos', repo);
    const donePath = join(dir, 'training.json');
    if (existsSync(donePath) && !existsSync(join(dir, 'training-state.safetensors'))) {
      const t = JSON.parse(readFileSync(donePath, 'utf8')) as FinetuneSummary;
      out.push({
        mode: t.mode,
        bestStep: t.bestStep,
        bestValLoss: t.bestValLoss,
        tokensSeen: t.tokensSeen,
        targetTokensSeen: t.targetTokensSeen,
        tokenBudget: t.tokenBudget,
        seconds: t.seconds,
        best: join(dir, 'adapter'),
      });
      progress.done += cfg.steps;
      continue;
    }
    const val = run.val.filter((t) => t.repo === repo);
    if (val.length === 0) throw new Error(`finetune per-repo-lora: repository ${repo} has no validation task (ir-val)`);
    const adapter = LoraAdapter.init(cfg.lora, run.model.config, new Rng(cfg.seed).fork(`lora-init:${repo}`));
    const valSet = validationSet(val, run.tokenizer, { ...valOptions(cfg), maxRepos: 0 });
    const s = trainOne(run, cfg, { out: dir, sampler, repo, valSet, params: loraParams(adapter), adapter }, progress);
    if (!s) return null;
    out.push(s);
  }
  return out;
}
