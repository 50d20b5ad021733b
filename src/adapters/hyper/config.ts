// Hypernetwork head configuration (Code2LoRA-Static, METHOD.md section 1).
// Dimension letters: E repository-embedding width, H trunk width, r LoRA rank, L model layers,
// Le layer-embedding width, k factorised-output width.
import { LLAMA_PROJECTIONS, projectionDims, type LlamaProjection } from '../../model/llama/weights.js';
import type { LlamaConfig } from '../../model/llama/config.js';

export interface HyperHeadConfig {
  /** E: width of the repository embedding fed to the head. */
  readonly embedDim: number;
  /** H: trunk width (Linear(E -> H), GELU, Linear(H -> H), GELU, L2-normalise, times sqrt(H)). */
  readonly hidden: number;
  /** r: rank of the emitted A [r, in] and B [out, r]. */
  readonly rank: number;
  /** LoRA scaling numerator: the update is (alpha / r) (x A^T) B^T. */
  readonly alpha: number;
  /** Module types that get an adapter (canonical LLAMA_PROJECTIONS order after validation). */
  readonly targetModules: readonly LlamaProjection[];
  /** false: one (A, B) per module type shared by every layer (keys "*.q_proj"); true: a learned
   *  layer embedding [L, Le] joins the trunk input, one (A, B) per layer and module ("3.q_proj"). */
  readonly perLayer: boolean;
  /** Le: layer-embedding width (used only when perLayer). */
  readonly layerEmbedDim: number;
  /** Initial log of every output scale s = clamp(exp(log_s), scaleMin, scaleMax). */
  readonly initLogScale: number;
  readonly scaleMin: number;
  readonly scaleMax: number;
  /** k: 0 = one full Linear(H -> r*(in+out)) pair per module type (METHOD.md); k > 0 = a shared
   *  Linear(H -> k) (no bias) before the per-module output layers, which then read k values: a rank-k
   *  factorisation of the output layers that cuts their size by about H / k. */
  readonly headRank: number;
  /** Seed the caller turns into the Rng passed to HyperHead.init (the head itself reads no global state). */
  readonly seed: number;
  /** Standardise each embedding dimension before the trunk, x' = (x - mean) / std, with the mean and
   *  std of the training repositories' embeddings stored in the head (frozen buffers, not trained).
   *  Not in METHOD.md: the repository embeddings share a large common direction (pairwise cosine
   *  about 0.75), so without it the repository-specific part is a small perturbation of the trunk's
   *  input. Optional in files (absent = false), so heads saved before it existed still load. */
  readonly inputNorm: boolean;
}

const FIELDS: readonly (keyof HyperHeadConfig)[] = [
  'embedDim',
  'hidden',
  'rank',
  'alpha',
  'targetModules',
  'perLayer',
  'layerEmbedDim',
  'initLogScale',
  'scaleMin',
  'scaleMax',
  'headRank',
  'seed',
  'inputNorm',
];

/** Fields a config may omit (filled from defaultHyperHeadConfig()), added after heads were shipped. */
const OPTIONAL: readonly (keyof HyperHeadConfig)[] = ['inputNorm'];

/** METHOD.md's head, sized for the shipped base (hidden 256): the default repository encoder gives
 *  concat(mean, max) of 256-wide states, E = 512. r = 8 with alpha / r = 2 as in the paper (r = 16,
 *  alpha = 32); r = 16 doubles the output layers. */
export function defaultHyperHeadConfig(): HyperHeadConfig {
  return Object.freeze({
    embedDim: 512,
    hidden: 256,
    rank: 8,
    alpha: 16,
    targetModules: Object.freeze([...LLAMA_PROJECTIONS]),
    perLayer: false,
    layerEmbedDim: 32,
    initLogScale: -3.5,
    scaleMin: 1e-5,
    scaleMax: 0.3,
    headRank: 0,
    seed: 0,
    inputNorm: false,
  });
}

/** Check a head config and return a frozen copy (targetModules in canonical order). `source` names
 *  where it came from (a file, flags) for errors. Unknown keys are refused. */
export function validateHyperHeadConfig(cfg: HyperHeadConfig, source = 'HyperHeadConfig'): HyperHeadConfig {
  const fail = (field: string, msg: string): never => {
    throw new Error(`hyper head config ${source}: ${field}: ${msg}`);
  };
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg)) fail('(root)', `expected an object, got ${JSON.stringify(cfg)}`);
  for (const k of Object.keys(cfg)) {
    if (!(FIELDS as readonly string[]).includes(k)) fail(k, `unknown field (known: ${FIELDS.join(', ')})`);
  }
  for (const k of FIELDS) if (cfg[k] === undefined && !OPTIONAL.includes(k)) fail(k, 'missing (required)');
  const inputNorm = cfg.inputNorm ?? false;
  if (typeof inputNorm !== 'boolean') fail('inputNorm', `expected a boolean, got ${JSON.stringify(cfg.inputNorm)}`);
  const posInt = (f: keyof HyperHeadConfig): number => {
    const v = cfg[f];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) fail(f, `expected a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const finite = (f: keyof HyperHeadConfig): number => {
    const v = cfg[f];
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(f, `expected a finite number, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const embedDim = posInt('embedDim'),
    hidden = posInt('hidden'),
    rank = posInt('rank'),
    layerEmbedDim = posInt('layerEmbedDim');
  const alpha = finite('alpha');
  if (alpha <= 0) fail('alpha', `expected a positive number, got ${alpha}`);
  const initLogScale = finite('initLogScale'),
    scaleMin = finite('scaleMin'),
    scaleMax = finite('scaleMax');
  if (!(scaleMin > 0 && scaleMin < scaleMax))
    fail('scaleMin', `expected 0 < scaleMin < scaleMax, got scaleMin ${scaleMin}, scaleMax ${scaleMax}`);
  const headRank = finite('headRank');
  if (!Number.isSafeInteger(headRank) || headRank < 0)
    fail('headRank', `expected a non-negative integer (0 = unfactorised), got ${headRank}`);
  const seed = finite('seed');
  if (!Number.isSafeInteger(seed) || seed < 0) fail('seed', `expected a non-negative integer, got ${seed}`);
  if (typeof cfg.perLayer !== 'boolean') fail('perLayer', `expected a boolean, got ${JSON.stringify(cfg.perLayer)}`);
  if (!Array.isArray(cfg.targetModules) || cfg.targetModules.length === 0) {
    fail('targetModules', `expected a non-empty list drawn from ${LLAMA_PROJECTIONS.join(', ')}, got ${JSON.stringify(cfg.targetModules)}`);
  }
  const seen = new Set<string>();
  for (const m of cfg.targetModules) {
    if (!(LLAMA_PROJECTIONS as readonly string[]).includes(m)) {
      fail('targetModules', `unknown module ${JSON.stringify(m)} (known: ${LLAMA_PROJECTIONS.join(', ')})`);
    }
    if (seen.has(m)) fail('targetModules', `module ${m} listed twice`);
    seen.add(m);
  }
  return Object.freeze({
    embedDim,
    hidden,
    rank,
    alpha,
    targetModules: Object.freeze(LLAMA_PROJECTIONS.filter((m) => seen.has(m))),
    perLayer: cfg.perLayer,
    layerEmbedDim,
    initLogScale,
    scaleMin,
    scaleMax,
    headRank,
    seed,
    inputNorm,
  });
}

/** Values the head emits per row: sum over target modules of r * (in + out). */
export function hyperHeadOutputWidth(cfg: HyperHeadConfig, modelCfg: LlamaConfig): number {
  let n = 0;
  for (const m of cfg.targetModules) {
    const [out, inF] = projectionDims(modelCfg, m);
    n += cfg.rank * (inF + out);
  }
  return n;
}

/** Parameter count of a head with this config, without building it.
 *  On the shipped base (hidden 256, 6 layers, MLP 704, 8/4 heads of 32) with E = 512, r = 8 the output
 *  width is 37,376 per row and the output layers dominate (head.test.ts checks these numbers):
 *    H = 128: 4,903,694 parameters (19.6 MB f32, 9.8 MB f16)
 *    H = 256: 9,802,766 (39.2 MB f32, 19.6 MB f16); per-layer adds 8,384
 *    H = 256, headRank 64: 2,642,958 (10.6 MB f32); headRank 32: 1,438,734 (5.8 MB f32)
 *  One forward + backward for R = 4 repositories took 30-45 ms (H = 128), 55-90 ms (H = 256), 35-45 ms
 *  (headRank 64), 150-250 ms (per-layer, 24 trunk rows) on the 2-core dev machine under load. */
export function hyperHeadParameterCount(cfg: HyperHeadConfig, modelCfg: LlamaConfig): number {
  const E = cfg.embedDim + (cfg.perLayer ? cfg.layerEmbedDim : 0),
    H = cfg.hidden,
    k = cfg.headRank;
  let n = E * H + H + (H * H + H); // trunk fc1, fc2
  if (cfg.perLayer) n += modelCfg.numLayers * cfg.layerEmbedDim;
  const headIn = k > 0 ? k : H;
  if (k > 0) n += H * k; // bottleneck (no bias)
  const W = hyperHeadOutputWidth(cfg, modelCfg);
  n += headIn * W + W; // output layers (weights + biases)
  n += 2 * cfg.targetModules.length; // log-scales
  return n;
}
