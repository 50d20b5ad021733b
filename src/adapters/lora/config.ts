// LoRA configuration: y = W x + (alpha / r) * B (A x), A: [r, in], B: [out, r].
import { LLAMA_PROJECTIONS, type LlamaProjection } from '../../model/llama/weights.js';

export interface LoraConfig {
  /** r: rank of A [r, in] and B [out, r]. */
  readonly rank: number;
  /** Scaling numerator: the update is multiplied by alpha / r. */
  readonly alpha: number;
  /** Which of the seven projections get an adapter (in LLAMA_PROJECTIONS order). */
  readonly targetModules: readonly LlamaProjection[];
  /** Dropout on the adapter input during training; 0 disables it. */
  readonly dropout: number;
}

const FIELDS = ['rank', 'alpha', 'targetModules', 'dropout'];

/** The paper's setting: r = 16, alpha = 32, all seven projections, no dropout. */
export function defaultLoraConfig(): LoraConfig {
  return Object.freeze({ rank: 16, alpha: 32, targetModules: Object.freeze([...LLAMA_PROJECTIONS]), dropout: 0 });
}

/** Check a LoRA config and return a frozen copy with target modules in canonical order. */
export function validateLoraConfig(cfg: LoraConfig, source = 'LoraConfig'): LoraConfig {
  const fail = (field: string, msg: string): never => {
    throw new Error(`lora config ${source}: ${field}: ${msg}`);
  };
  if (typeof cfg !== 'object' || cfg === null) fail('(root)', `expected an object, got ${JSON.stringify(cfg)}`);
  for (const k of Object.keys(cfg)) if (!FIELDS.includes(k)) fail(k, `unknown field (known: ${FIELDS.join(', ')})`);
  if (!Number.isSafeInteger(cfg.rank) || cfg.rank <= 0) fail('rank', `expected a positive integer, got ${JSON.stringify(cfg.rank)}`);
  if (typeof cfg.alpha !== 'number' || !Number.isFinite(cfg.alpha) || cfg.alpha <= 0) {
    fail('alpha', `expected a positive finite number, got ${JSON.stringify(cfg.alpha)}`);
  }
  if (typeof cfg.dropout !== 'number' || !(cfg.dropout >= 0 && cfg.dropout < 1)) {
    fail('dropout', `expected a number in [0, 1), got ${JSON.stringify(cfg.dropout)}`);
  }
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
  const targetModules = Object.freeze(LLAMA_PROJECTIONS.filter((m) => seen.has(m)));
  return Object.freeze({ rank: cfg.rank, alpha: cfg.alpha, targetModules, dropout: cfg.dropout });
}

/** alpha / r: the factor the LoRA update is multiplied by. */
export function loraScaling(cfg: LoraConfig): number {
  return cfg.alpha / cfg.rank;
}
