// The static-track benchmark's configuration (configs/bench-static.json): evaluation settings, the
// per-repository LoRA sample, retrieval, the latency comparison, and one fine-tuning config per
// trained baseline (a path to configs/finetune-*.json, or the config inline).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { defaultFinetuneConfig, validateFinetuneConfig, type FinetuneConfig } from '../../train/finetune-tasks.js';
import { defaultRagConfig, validateRagConfig, type RagConfig } from '../../retrieval/rag.js';
import { defaultHyperTrainConfig, type HyperTrainConfig } from '../../train/hyper-train.js';
import { mergeOverDefaults } from '../../util/config-merge.js';

export interface BenchStaticConfig {
  seed: number;
  eval: {
    batch: number;
    maxNewTokens: number;
    bootstrapSamples: number;
    /** seeded sample of at most N tasks per repository (0 = the full split; the headline table uses 0) */
    tasksPerRepo: number;
  };
  /** per-repository LoRA: how many training repositories (seeded sample); IR rows of every method use
   *  the same sample when `irOnSample` is true */
  perRepo: { repos: number; minTrainTasks: number; irOnSample: boolean };
  rag: Omit<RagConfig, 'variant'>;
  latency: { tasks: number; promptTokens: number; newTokens: number };
  train: Record<'shared-lora' | 'full-ft' | 'per-repo-lora', FinetuneConfig>;
  /** Code2LoRA-Static's training config (checked against the base model when the stage runs) and the
   *  conditioning audit's conditions */
  hyper: HyperTrainConfig;
  /** the variant with the repository's test files embedded (own test file left out) */
  hyperTests: HyperTrainConfig;
  /** hyperTests with the head's input standardised (head.inputNorm true) */
  hyperTestsNorm: HyperTrainConfig;
  /** hyperTestsNorm with the contrastive term (own adapter must beat a swapped one) */
  hyperContrastive: HyperTrainConfig;
  audit: { conditions: string[] };
}

export function defaultBenchStaticConfig(): BenchStaticConfig {
  const { variant: _v, ...rag } = defaultRagConfig();
  return {
    seed: 0,
    eval: { batch: 8, maxNewTokens: 64, bootstrapSamples: 5000, tasksPerRepo: 0 },
    perRepo: { repos: 10, minTrainTasks: 40, irOnSample: true },
    rag,
    latency: { tasks: 24, promptTokens: 64, newTokens: 8 },
    train: {
      'shared-lora': defaultFinetuneConfig('shared-lora'),
      'full-ft': defaultFinetuneConfig('full-ft'),
      'per-repo-lora': defaultFinetuneConfig('per-repo-lora'),
    },
    hyper: defaultHyperTrainConfig(),
    hyperTests: { ...defaultHyperTrainConfig(), repo: { ...defaultHyperTrainConfig().repo, maxTestFiles: 64 } },
    hyperTestsNorm: {
      ...defaultHyperTrainConfig(),
      head: { ...defaultHyperTrainConfig().head, inputNorm: true },
      repo: { ...defaultHyperTrainConfig().repo, maxTestFiles: 64 },
    },
    hyperContrastive: {
      ...defaultHyperTrainConfig(),
      head: { ...defaultHyperTrainConfig().head, inputNorm: true },
      repo: { ...defaultHyperTrainConfig().repo, maxTestFiles: 64 },
      contrastive: 1,
    },
    audit: { conditions: ['mean', 'wrong', 'zero'] },
  };
}

const TOP = Object.keys(defaultBenchStaticConfig());

export function validateBenchStaticConfig(c: BenchStaticConfig, source: string): Readonly<BenchStaticConfig> {
  const fail = (m: string): never => {
    throw new Error(`bench config ${source}: ${m}`);
  };
  for (const k of Object.keys(c)) if (!TOP.includes(k)) fail(`unknown key "${k}" (known: ${TOP.join(', ')})`);
  const d = defaultBenchStaticConfig();
  const sub = <T extends object>(name: string, v: T, def: T): T => {
    if (typeof v !== 'object' || v === null) fail(`${name} must be an object`);
    for (const k of Object.keys(v)) if (!(k in def)) fail(`unknown key "${name}.${k}" (known: ${Object.keys(def).join(', ')})`);
    return { ...def, ...v };
  };
  const ev = sub('eval', c.eval, d.eval),
    pr = sub('perRepo', c.perRepo, d.perRepo),
    lat = sub('latency', c.latency, d.latency);
  const ints: Array<[string, number, number]> = [
    ['seed', c.seed, 0],
    ['eval.batch', ev.batch, 1],
    ['eval.maxNewTokens', ev.maxNewTokens, 1],
    ['eval.bootstrapSamples', ev.bootstrapSamples, 1],
    ['eval.tasksPerRepo', ev.tasksPerRepo, 0],
    ['perRepo.repos', pr.repos, 1],
    ['perRepo.minTrainTasks', pr.minTrainTasks, 1],
    ['latency.tasks', lat.tasks, 1],
    ['latency.promptTokens', lat.promptTokens, 1],
    ['latency.newTokens', lat.newTokens, 1],
  ];
  for (const [k, v, min] of ints) if (!Number.isInteger(v) || v < min) fail(`${k} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  const rag = validateRagConfig({ ...d.rag, ...c.rag, variant: 'bm25' }, `${source} (rag)`);
  const { variant: _v, ...ragRest } = rag;
  if (typeof c.train !== 'object' || c.train === null) fail('train must map each trained baseline to its fine-tuning config');
  for (const k of Object.keys(c.train)) if (!(k in d.train)) fail(`unknown key "train.${k}" (known: ${Object.keys(d.train).join(', ')})`);
  const train = {} as BenchStaticConfig['train'];
  for (const k of Object.keys(d.train) as Array<keyof BenchStaticConfig['train']>) {
    const t = c.train[k];
    if (!t) fail(`train.${k} is missing`);
    const v = validateFinetuneConfig(t, `${source} (train.${k})`);
    if (v.mode !== k) fail(`train.${k} has mode "${v.mode}"`);
    train[k] = v;
  }
  const dh = defaultHyperTrainConfig();
  const merge = (h: Partial<HyperTrainConfig>, base: HyperTrainConfig): HyperTrainConfig =>
    mergeOverDefaults(base, h, ['head', 'encoder', 'repo']);
  const hyper = merge((c.hyper ?? {}) as Partial<HyperTrainConfig>, dh);
  const hyperTests = merge((c.hyperTests ?? {}) as Partial<HyperTrainConfig>, d.hyperTests);
  if (!(hyperTests.repo.maxTestFiles > 0)) fail('hyperTests.repo.maxTestFiles must be > 0 (the variant embeds test files)');
  const hyperTestsNorm = merge((c.hyperTestsNorm ?? {}) as Partial<HyperTrainConfig>, d.hyperTestsNorm);
  if (!(hyperTestsNorm.repo.maxTestFiles > 0)) fail('hyperTestsNorm.repo.maxTestFiles must be > 0 (the variant embeds test files)');
  if (!hyperTestsNorm.head.inputNorm) fail('hyperTestsNorm.head.inputNorm must be true (the variant standardises the input)');
  const hyperContrastive = merge((c.hyperContrastive ?? {}) as Partial<HyperTrainConfig>, d.hyperContrastive);
  if (!(hyperContrastive.contrastive > 0)) fail('hyperContrastive.contrastive must be > 0 (the variant adds the contrastive term)');
  const audit = sub('audit', c.audit ?? d.audit, d.audit);
  if (!Array.isArray(audit.conditions)) fail('audit.conditions must be a list of condition names');
  return Object.freeze({
    seed: c.seed,
    eval: ev,
    perRepo: pr,
    rag: ragRest,
    latency: lat,
    train,
    hyper,
    hyperTests,
    hyperTestsNorm,
    hyperContrastive,
    audit,
  });
}

/** Reads configs/bench-static.json; `train` entries that are strings are paths relative to it. */
export function loadBenchStaticConfig(file: string): Readonly<BenchStaticConfig> {
  if (!existsSync(file)) throw new Error(`bench config ${file} does not exist`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`bench config ${file}: not valid JSON (${(e as Error).message})`);
  }
  const train = (raw.train ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(train)) {
    if (typeof v !== 'string') continue;
    const p = isAbsolute(v) ? v : join(dirname(file), v);
    if (!existsSync(p)) throw new Error(`bench config ${file}: train.${k} names ${p}, which does not exist`);
    try {
      train[k] = JSON.parse(readFileSync(p, 'utf8'));
    } catch (e) {
      throw new Error(`${p}: not valid JSON (${(e as Error).message})`);
    }
  }
  const resolve = (key: 'hyper' | 'hyperTests' | 'hyperTestsNorm' | 'hyperContrastive'): unknown => {
    const v = raw[key];
    if (typeof v !== 'string') return v;
    const p = isAbsolute(v) ? v : join(dirname(file), v);
    if (!existsSync(p)) throw new Error(`bench config ${file}: ${key} names ${p}, which does not exist`);
    try {
      return JSON.parse(readFileSync(p, 'utf8'));
    } catch (e) {
      throw new Error(`${p}: not valid JSON (${(e as Error).message})`);
    }
  };
  return validateBenchStaticConfig(
    {
      ...raw,
      train,
      hyper: resolve('hyper'),
      hyperTests: resolve('hyperTests'),
      hyperTestsNorm: resolve('hyperTestsNorm'),
      hyperContrastive: resolve('hyperContrastive'),
    } as unknown as BenchStaticConfig,
    file,
  );
}
