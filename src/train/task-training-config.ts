// The fields every trainer on assertion tasks shares (task fine-tuning, the hypernetwork, Code2LoRA-Evo),
// checked in one place: the object's keys against the defaults, and the common numeric settings; and
// the trainLoop settings they all derive from those fields.
import type { TrainLoopConfig } from './loop.js';

/** The settings both FinetuneConfig and HyperTrainConfig carry. */
export interface TaskTrainingFields {
  maxTokens: number;
  tasksPerRepo: number;
  reposPerStep: number;
  steps: number;
  evalEvery: number;
  valBatch: number;
  checkpointEvery: number;
  valTasksPerRepo: number;
  valMaxRepos: number;
  seed: number;
  lr: number;
  minLr: number;
  clip: number;
  weightDecay: number;
  warmupFraction: number;
}

/** The optimiser and checkpoint settings, which EvoTrainConfig carries too. */
export type OptimiserFields = Pick<
  TaskTrainingFields,
  'steps' | 'lr' | 'minLr' | 'warmupFraction' | 'clip' | 'weightDecay' | 'checkpointEvery' | 'seed'
>;

/** Checks keys (unknown and missing ones, against `keys`) and the shared fields; `fail` throws with
 *  the caller's prefix. */
export function checkTaskTrainingFields(c: TaskTrainingFields, keys: readonly string[], fail: (msg: string) => never): void {
  if (typeof c !== 'object' || c === null) fail(`expected an object, got ${JSON.stringify(c)}`);
  for (const k of Object.keys(c)) if (!keys.includes(k)) fail(`unknown key "${k}" (known: ${keys.join(', ')})`);
  for (const k of keys) if ((c as unknown as Record<string, unknown>)[k] === undefined) fail(`missing key "${k}"`);
  for (const k of ['maxTokens', 'tasksPerRepo', 'reposPerStep', 'steps', 'evalEvery', 'valBatch', 'checkpointEvery'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) fail(`${k} must be a positive integer, got ${JSON.stringify(c[k])}`);
  }
  for (const k of ['valTasksPerRepo', 'valMaxRepos', 'seed'] as const)
    if (!Number.isInteger(c[k]) || c[k] < 0) fail(`${k} must be an integer >= 0, got ${JSON.stringify(c[k])}`);
  for (const k of ['lr', 'minLr', 'clip'] as const)
    if (!(typeof c[k] === 'number' && c[k] > 0)) fail(`${k} must be > 0, got ${JSON.stringify(c[k])}`);
  if (!(c.weightDecay >= 0)) fail(`weightDecay must be >= 0, got ${JSON.stringify(c.weightDecay)}`);
  if (!(c.warmupFraction >= 0 && c.warmupFraction < 1)) fail(`warmupFraction must be in [0, 1), got ${JSON.stringify(c.warmupFraction)}`);
}

/** trainLoop's settings from a task trainer's config: warm-up rounded from its share of the steps,
 *  AdamW with betas 0.9/0.999 and eps 1e-8, checkpoints to `checkpointPath` every checkpointEvery. */
export function taskTrainLoopConfig(
  c: OptimiserFields,
  o: { accumulation: number; checkpointPath: string; stopAfter?: number },
): TrainLoopConfig {
  return {
    steps: c.steps,
    accumulation: o.accumulation,
    lr: c.lr,
    minLr: c.minLr,
    warmupSteps: Math.round(c.warmupFraction * c.steps),
    clip: c.clip,
    adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: c.weightDecay },
    seed: c.seed,
    checkpointEvery: c.checkpointEvery,
    checkpointPath: o.checkpointPath,
    stopAfter: o.stopAfter,
  };
}
