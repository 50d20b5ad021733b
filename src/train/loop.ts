// The training loop shared by pretraining, LoRA and hypernetwork training: gradient accumulation,
// global-norm clipping, AdamW with a warm-up + cosine schedule, periodic atomic checkpoints and
// exact resume (parameters, moments, step and the data RNG all restored).
import { existsSync } from 'node:fs';
import { AdamW, clipGradNorm, type AdamWConfig } from '../nn/optim/adamw.js';
import { cosineLr } from '../nn/optim/schedule.js';
import { BufferArena, Tape, withArena, type Tensor } from '../tensor/index.js';
import { Rng } from '../util/rng.js';
import { loadTrainingState, saveTrainingState } from './checkpoint.js';

export interface TrainLoopConfig {
  steps: number;
  /** micro-batches per optimiser update */
  accumulation: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  clip: number;
  adamw: Omit<AdamWConfig, 'lr'>;
  seed: number;
  /** write the training state every N updates (0 = only at the end) */
  checkpointEvery: number;
  checkpointPath?: string;
  /** Stop (with a checkpoint) after this update, as an interrupted run would; the schedule still
   *  follows `steps`, so a later call resumes exactly. */
  stopAfter?: number;
  /** Draw each micro-step's activations, gradients and temporaries from one reused BufferArena.
   *  Only for micro-steps that keep no tensor from one call to the next. */
  arena?: boolean;
}

export interface StepInfo {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  seconds: number;
}

export interface TrainHooks {
  /** Builds one micro-batch's loss on the tape. Draw all randomness from `rng`. */
  microStep(tape: Tape, rng: Rng, step: number): { loss: Tensor; tokens: number };
  onStep?(info: StepInfo): void;
  /** Called after checkpoints and at the end; may return numbers to keep (e.g. validation loss). */
  onCheckpoint?(step: number): void;
}

export interface TrainResult {
  losses: number[];
  resumedFrom: number;
  steps: number;
}

export function trainLoop(params: Map<string, Tensor>, cfg: TrainLoopConfig, hooks: TrainHooks): TrainResult {
  if (!(cfg.steps > 0) || !(cfg.accumulation >= 1))
    throw new Error(`train: steps (${cfg.steps}) and accumulation (${cfg.accumulation}) must be positive`);
  const opt = new AdamW(params, { ...cfg.adamw, lr: cfg.lr });
  const dataRng = new Rng(cfg.seed).fork('data');
  let start = 0;
  if (cfg.checkpointPath && existsSync(cfg.checkpointPath)) {
    const progress = loadTrainingState(cfg.checkpointPath, params, opt);
    dataRng.setState(progress.rng.data);
    start = progress.step;
  }
  const schedule = { lr: cfg.lr, minLr: cfg.minLr, warmupSteps: cfg.warmupSteps, totalSteps: cfg.steps };
  const losses: number[] = [];
  const save = (step: number) => {
    if (!cfg.checkpointPath) return;
    saveTrainingState(cfg.checkpointPath, params, opt, { step, rng: { data: dataRng.getState() }, extra: {} });
    hooks.onCheckpoint?.(step);
  };
  const tape = new Tape();
  const arena = cfg.arena ? new BufferArena() : null;
  for (let step = start + 1; step <= cfg.steps; step++) {
    const t0 = performance.now();
    opt.zeroGrad();
    let lossSum = 0,
      tokens = 0;
    for (let micro = 0; micro < cfg.accumulation; micro++) {
      const run = () => {
        const { loss, tokens: n } = hooks.microStep(tape, dataRng, step);
        tape.backward(loss, 1 / cfg.accumulation);
        lossSum += loss.data[0];
        tokens += n;
      };
      if (arena) {
        arena.reset();
        withArena(arena, run);
      } else run();
    }
    const gradNorm = clipGradNorm(params.values(), cfg.clip);
    const lr = cosineLr(schedule, step);
    opt.update(lr);
    const loss = lossSum / cfg.accumulation;
    losses.push(loss);
    hooks.onStep?.({ step, loss, lr, gradNorm, tokens, seconds: (performance.now() - t0) / 1000 });
    if (cfg.stopAfter === step && step !== cfg.steps) {
      save(step);
      return { losses, resumedFrom: start, steps: step };
    }
    if (cfg.checkpointEvery > 0 && step % cfg.checkpointEvery === 0 && step !== cfg.steps) save(step);
  }
  save(cfg.steps);
  return { losses, resumedFrom: start, steps: cfg.steps };
}
