// The fields every trainer on assertion tasks shares (task fine-tuning, the hypernetwork), checked in
// one place: the object's keys against the defaults, and the common numeric settings.

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
