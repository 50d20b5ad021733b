// The evolution-track benchmark's configuration (configs/bench-evo.json): evaluation settings, the
// Evo training config (configs/evo.json, by path), the shared LoRA's fine-tuning config (held to the
// same token budget as Evo), the shipped Static hypernetwork that is re-embedded at each commit and
// initialises Evo's head, and the Evo conditioning audit's conditions.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { defaultFinetuneConfig, tokenBudget, validateFinetuneConfig, type FinetuneConfig } from '../../train/finetune-tasks.js';
import { defaultEvoTrainConfig, evoTokenBudget, type EvoTrainConfig } from '../../train/evo-train.js';
import { mergeOverDefaults } from '../../util/config-merge.js';
import { repoRoot } from '../../util/repo-root.js';

export const EVO_AUDIT_CONDITIONS = ['mean', 'wrong', 'frozen'] as const;
export type EvoAuditCondition = (typeof EVO_AUDIT_CONDITIONS)[number];

export interface BenchEvoConfig {
  seed: number;
  eval: {
    batch: number;
    maxNewTokens: number;
    bootstrapSamples: number;
    /** seeded sample of at most N tasks per (repository, commit) (0 = every task; the table uses 0) */
    tasksPerCommit: number;
    /** sequence cap of the target loss (the training cap of every trained row) */
    lossMaxTokens: number;
    /** repositories left out of every row (e.g. one whose first kept commit has no Python file to embed) */
    excludeRepos: string[];
  };
  /** Code2LoRA-Evo's training config (validated against the base when the stage runs) */
  evo: EvoTrainConfig;
  /** the shared LoRA baseline; its token budget must equal Evo's */
  sharedLora: FinetuneConfig;
  /** the shipped Code2LoRA-Static hypernetwork (re-embedded at each commit; Evo's initial head) */
  staticHyper: string;
  /** the Static hypernetwork Evo's head starts from (`evo train --init-head`; "" = a fresh head) */
  evoInitHead: string;
  audit: { conditions: EvoAuditCondition[] };
}

export function defaultBenchEvoConfig(): BenchEvoConfig {
  const evo = defaultEvoTrainConfig();
  const sharedLora = defaultFinetuneConfig('shared-lora');
  // the same token bound as Evo: steps x tasksPerRepo x maxTokens = steps x window x tasksPerCommit x maxTokens
  sharedLora.steps = Math.round(evoTokenBudget(evo) / (sharedLora.reposPerStep * sharedLora.tasksPerRepo * sharedLora.maxTokens));
  return {
    seed: 0,
    eval: { batch: 8, maxNewTokens: 64, bootstrapSamples: 5000, tasksPerCommit: 0, lossMaxTokens: 256, excludeRepos: [] },
    evo,
    sharedLora,
    staticHyper: 'models/code2lora-hyper',
    evoInitHead: 'models/code2lora-hyper',
    audit: { conditions: [...EVO_AUDIT_CONDITIONS] },
  };
}

const TOP = Object.keys(defaultBenchEvoConfig());

/** A path of the config: absolute, or relative to the package root (so results name no machine path). */
export function resolvePackagePath(p: string): string {
  return isAbsolute(p) ? p : join(repoRoot(), p);
}

export function validateBenchEvoConfig(c: BenchEvoConfig, source: string): Readonly<BenchEvoConfig> {
  const fail = (m: string): never => {
    throw new Error(`bench evo-track config ${source}: ${m}`);
  };
  if (typeof c !== 'object' || c === null) fail('expected an object');
  for (const k of Object.keys(c)) if (!TOP.includes(k) && k !== 'comment') fail(`unknown key "${k}" (known: ${TOP.join(', ')})`);
  const d = defaultBenchEvoConfig();
  if (typeof c.eval !== 'object' || c.eval === null) fail('eval must be an object');
  for (const k of Object.keys(c.eval)) if (!(k in d.eval)) fail(`unknown key "eval.${k}" (known: ${Object.keys(d.eval).join(', ')})`);
  const ev = { ...d.eval, ...c.eval };
  const ints: Array<[string, number, number]> = [
    ['seed', c.seed, 0],
    ['eval.batch', ev.batch, 1],
    ['eval.maxNewTokens', ev.maxNewTokens, 1],
    ['eval.bootstrapSamples', ev.bootstrapSamples, 1],
    ['eval.tasksPerCommit', ev.tasksPerCommit, 0],
    ['eval.lossMaxTokens', ev.lossMaxTokens, 8],
  ];
  for (const [k, v, min] of ints) if (!Number.isInteger(v) || v < min) fail(`${k} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  if (!Array.isArray(ev.excludeRepos) || ev.excludeRepos.some((r) => typeof r !== 'string'))
    fail('eval.excludeRepos must be a list of repository names');
  if (typeof c.evo !== 'object' || c.evo === null) fail('evo must be the Evo training config (or a path to it)');
  const sharedLora = validateFinetuneConfig(c.sharedLora, `${source} (sharedLora)`);
  if (sharedLora.mode !== 'shared-lora') fail(`sharedLora has mode "${sharedLora.mode}"`);
  // the Evo config is validated against the base model when its stage runs; the budget needs only numbers
  const evoBudget = evoTokenBudget(c.evo),
    loraBudget = tokenBudget(sharedLora);
  if (evoBudget !== loraBudget)
    fail(
      `the shared LoRA's token budget ${loraBudget} (steps x reposPerStep x tasksPerRepo x maxTokens) differs from Evo's ${evoBudget} (steps x window x tasksPerCommit x maxTokens); they must train on the same budget`,
    );
  for (const k of ['staticHyper', 'evoInitHead'] as const)
    if (typeof c[k] !== 'string' || (k === 'staticHyper' && !c[k])) fail(`${k} must be a folder path`);
  const audit = { ...d.audit, ...(c.audit ?? {}) };
  if (!Array.isArray(audit.conditions) || audit.conditions.length === 0) fail('audit.conditions must be a non-empty list');
  for (const x of audit.conditions)
    if (!(EVO_AUDIT_CONDITIONS as readonly string[]).includes(x))
      fail(`audit.conditions: unknown condition ${JSON.stringify(x)} (known: ${EVO_AUDIT_CONDITIONS.join(', ')})`);
  return Object.freeze({
    seed: c.seed,
    eval: ev,
    evo: c.evo,
    sharedLora,
    staticHyper: c.staticHyper,
    evoInitHead: c.evoInitHead,
    audit,
  });
}

/** Reads configs/bench-evo.json; `evo` and `sharedLora` may be paths relative to it. */
export function loadBenchEvoConfig(file: string): Readonly<BenchEvoConfig> {
  const read = (p: string, what: string): Record<string, unknown> => {
    if (!existsSync(p)) throw new Error(`bench evo-track config ${file}: ${what} names ${p}, which does not exist`);
    try {
      return JSON.parse(readFileSync(p, 'utf8'));
    } catch (e) {
      throw new Error(`${p}: not valid JSON (${(e as Error).message})`);
    }
  };
  if (!existsSync(file)) throw new Error(`bench evo-track config ${file} does not exist`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`bench evo-track config ${file}: not valid JSON (${(e as Error).message})`);
  }
  const resolve = (key: 'evo' | 'sharedLora'): Record<string, unknown> | undefined => {
    const v = raw[key];
    if (typeof v !== 'string') return v as Record<string, unknown> | undefined;
    const { comment: _c, ...rest } = read(isAbsolute(v) ? v : join(dirname(file), v), key);
    return rest;
  };
  // the Evo config reads over its defaults as `evo train --config` does (a file need not restate them)
  const evoFile = resolve('evo');
  const evo =
    typeof evoFile === 'object' && evoFile !== null
      ? mergeOverDefaults(defaultEvoTrainConfig(), evoFile, ['head', 'encoder', 'repo', 'diff'])
      : evoFile;
  const sharedLora = resolve('sharedLora') as Record<string, unknown> | undefined;
  const over = raw.sharedLoraOverrides as Record<string, unknown> | undefined;
  const { comment: _c, sharedLoraOverrides: _o, ...rest } = raw;
  return validateBenchEvoConfig(
    { ...rest, evo, sharedLora: sharedLora && over ? { ...sharedLora, ...over } : sharedLora } as unknown as BenchEvoConfig,
    file,
  );
}
