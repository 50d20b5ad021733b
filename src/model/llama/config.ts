// Llama-family model configuration, and conversion from/to Hugging Face `config.json`.
// Three architectures share the decoder: llama (also mistral's config), qwen2 (biases on the q/k/v
// projections) and qwen3 (per-head RMSNorm on q and k before the rotary step, no biases).
//
// Dimension letters used across src/model/llama: C = hiddenSize, L = numLayers, H = numHeads,
// KV = numKvHeads, D = headDim, I = intermediateSize, V = vocabSize.

/** Decoder variants of the family; see the file comment. */
export type LlamaArchitecture = 'llama' | 'qwen2' | 'qwen3';
export const LLAMA_ARCHITECTURES: readonly LlamaArchitecture[] = ['llama', 'qwen2', 'qwen3'];

export interface LlamaConfig {
  /** Decoder variant; absent means 'llama' (validated configs omit it for llama, so existing
   *  serialised configs and their hashes stay unchanged). Read it with `architectureOf`. */
  readonly architecture?: LlamaArchitecture;
  /** C: width of the residual stream. */
  readonly hiddenSize: number;
  /** L: number of decoder layers. */
  readonly numLayers: number;
  /** H: query heads. */
  readonly numHeads: number;
  /** KV: key/value heads (grouped-query attention); H must be a multiple of KV. */
  readonly numKvHeads: number;
  /** D: per-head dimension (even, for rotary pairs). Usually C / H, but HF allows any value. */
  readonly headDim: number;
  /** I: SwiGLU hidden width. */
  readonly intermediateSize: number;
  /** V: vocabulary size (rows of the embedding and lm_head). */
  readonly vocabSize: number;
  /** Longest sequence the rotary tables are built for. */
  readonly maxPositionEmbeddings: number;
  readonly ropeTheta: number;
  readonly rmsNormEps: number;
  /** lm_head shares the embedding matrix. */
  readonly tieWordEmbeddings: boolean;
  readonly bosTokenId?: number;
  /** End-of-sequence id. HF configs with a list of ids keep the first one here. */
  readonly eosTokenId?: number;
}

/** Fields accepted by validateLlamaConfig: headDim may be left out (then C / H). */
export type LlamaConfigInput = Omit<LlamaConfig, 'headDim'> & { headDim?: number };

const FIELDS: ReadonlyArray<keyof LlamaConfig> = [
  'architecture',
  'hiddenSize',
  'numLayers',
  'numHeads',
  'numKvHeads',
  'headDim',
  'intermediateSize',
  'vocabSize',
  'maxPositionEmbeddings',
  'ropeTheta',
  'rmsNormEps',
  'tieWordEmbeddings',
  'bosTokenId',
  'eosTokenId',
];

/** A small model of the family, sized to pretrain on a laptop CPU. */
export function defaultLlamaConfig(): LlamaConfig {
  return Object.freeze({
    hiddenSize: 256,
    numLayers: 4,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 64,
    intermediateSize: 768,
    vocabSize: 8192,
    maxPositionEmbeddings: 1024,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: true,
  });
}

/** The config's decoder variant ('llama' when the field is absent). */
export function architectureOf(cfg: Pick<LlamaConfig, 'architecture'>): LlamaArchitecture {
  return cfg.architecture ?? 'llama';
}

function fail(source: string, field: string, msg: string): never {
  throw new Error(`llama config ${source}: ${field}: ${msg}`);
}

function checkPositiveInt(v: unknown, source: string, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    fail(source, field, `expected a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function checkPositiveFinite(v: unknown, source: string, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    fail(source, field, `expected a positive finite number, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Check a config for consistent shapes and return a frozen copy (headDim filled in when absent).
 * `source` names where the config came from (a file path, "--model-* flags", ...) for errors.
 */
export function validateLlamaConfig(cfg: LlamaConfigInput, source: string): LlamaConfig {
  return validateWithNames(cfg, source, (f) => f);
}

/** Validation, naming fields through `key` (camelCase for our configs, HF keys for config.json). */
function validateWithNames(cfg: LlamaConfigInput, source: string, key: (f: keyof LlamaConfig) => string): LlamaConfig {
  const positiveInt = (v: unknown, f: keyof LlamaConfig): number => checkPositiveInt(v, source, key(f));
  const positiveFinite = (v: unknown, f: keyof LlamaConfig): number => checkPositiveFinite(v, source, key(f));
  if (typeof cfg !== 'object' || cfg === null) fail(source, '(root)', `expected an object, got ${JSON.stringify(cfg)}`);
  for (const k of Object.keys(cfg)) {
    if (!(FIELDS as readonly string[]).includes(k)) fail(source, k, `unknown field (known: ${FIELDS.join(', ')})`);
  }
  const hiddenSize = positiveInt(cfg.hiddenSize, 'hiddenSize');
  const numLayers = positiveInt(cfg.numLayers, 'numLayers');
  const numHeads = positiveInt(cfg.numHeads, 'numHeads');
  const numKvHeads = positiveInt(cfg.numKvHeads, 'numKvHeads');
  const intermediateSize = positiveInt(cfg.intermediateSize, 'intermediateSize');
  const vocabSize = positiveInt(cfg.vocabSize, 'vocabSize');
  const maxPositionEmbeddings = positiveInt(cfg.maxPositionEmbeddings, 'maxPositionEmbeddings');
  const ropeTheta = positiveFinite(cfg.ropeTheta, 'ropeTheta');
  const rmsNormEps = positiveFinite(cfg.rmsNormEps, 'rmsNormEps');
  if (rmsNormEps >= 1) fail(source, key('rmsNormEps'), `expected a small positive number (< 1), got ${rmsNormEps}`);
  if (typeof cfg.tieWordEmbeddings !== 'boolean') {
    fail(source, key('tieWordEmbeddings'), `expected a boolean, got ${JSON.stringify(cfg.tieWordEmbeddings)}`);
  }
  if (numHeads % numKvHeads !== 0) {
    fail(source, key('numKvHeads'), `${key('numHeads')} (${numHeads}) must be a multiple of ${key('numKvHeads')} (${numKvHeads})`);
  }
  let headDim: number;
  if (cfg.headDim === undefined) {
    if (hiddenSize % numHeads !== 0) {
      fail(
        source,
        key('headDim'),
        `not given, and ${key('hiddenSize')} (${hiddenSize}) is not divisible by ${key('numHeads')} (${numHeads})`,
      );
    }
    headDim = hiddenSize / numHeads;
  } else {
    headDim = positiveInt(cfg.headDim, 'headDim');
  }
  if (headDim % 2 !== 0) fail(source, key('headDim'), `must be even for rotary embeddings, got ${headDim}`);
  const arch = cfg.architecture ?? 'llama';
  if (!LLAMA_ARCHITECTURES.includes(arch)) {
    fail(source, key('architecture'), `expected one of ${LLAMA_ARCHITECTURES.join(', ')}, got ${JSON.stringify(arch)}`);
  }
  const out: { -readonly [K in keyof LlamaConfig]: LlamaConfig[K] } = {
    ...(arch === 'llama' ? {} : { architecture: arch }),
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize,
    vocabSize,
    maxPositionEmbeddings,
    ropeTheta,
    rmsNormEps,
    tieWordEmbeddings: cfg.tieWordEmbeddings,
  };
  for (const f of ['bosTokenId', 'eosTokenId'] as const) {
    const v = cfg[f];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v >= vocabSize) {
      fail(source, key(f), `expected an integer in [0, ${vocabSize}) (${key('vocabSize')}), got ${JSON.stringify(v)}`);
    }
    out[f] = v;
  }
  return Object.freeze(out);
}

// ---------------------------------------------------------------------------------------------
// Hugging Face config.json

/** HF model_type -> our decoder variant. */
const MODEL_TYPES: Readonly<Record<string, LlamaArchitecture>> = { llama: 'llama', mistral: 'llama', qwen2: 'qwen2', qwen3: 'qwen3' };
const ACCEPTED_MODEL_TYPES = Object.keys(MODEL_TYPES);

function hfField(json: Record<string, unknown>, key: string, source: string, dflt?: unknown): unknown {
  const v = json[key];
  if (v === undefined || v === null) {
    if (dflt === undefined) fail(source, key, 'missing (required)');
    return dflt;
  }
  return v;
}

function tokenId(v: unknown, source: string, key: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    v = v[0];
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(source, key, `expected a non-negative integer (or a list of them), got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Qwen configs carry sliding-window fields that are inert unless use_sliding_window is true (and
 *  transformers >= 4.53 lists per-layer kinds in layer_types): refuse anything but full attention. */
function refuseSlidingWindow(j: Record<string, unknown>, source: string): void {
  if (j.use_sliding_window === true) {
    fail(source, 'use_sliding_window', `sliding-window attention is unsupported (sliding_window = ${JSON.stringify(j.sliding_window)})`);
  }
  const lt = j.layer_types;
  if (lt !== undefined && lt !== null) {
    if (!Array.isArray(lt)) fail(source, 'layer_types', `expected a list, got ${JSON.stringify(lt)}`);
    const i = lt.findIndex((t) => t !== 'full_attention');
    if (i >= 0) fail(source, `layer_types[${i}]`, `only "full_attention" is supported, got ${JSON.stringify(lt[i])}`);
  }
}

/**
 * Read a Hugging Face `config.json` object. Accepts model_type llama, mistral (as llama), qwen2
 * (q/k/v biases) and qwen3 (q/k RMSNorm). Features that would change the computation (rope scaling,
 * sliding windows, other activations, biases an architecture does not have) are refused, naming the field.
 */
export function llamaConfigFromHf(json: unknown, source: string): LlamaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    fail(source, '(root)', 'config.json must hold a JSON object');
  }
  const j = json as Record<string, unknown>;
  const modelType = j.model_type;
  if (typeof modelType !== 'string' || !Object.hasOwn(MODEL_TYPES, modelType)) {
    fail(source, 'model_type', `expected one of ${ACCEPTED_MODEL_TYPES.join(', ')}, got ${JSON.stringify(modelType)}`);
  }
  const arch = MODEL_TYPES[modelType];
  const act = j.hidden_act ?? 'silu';
  if (act !== 'silu') fail(source, 'hidden_act', `only "silu" (SwiGLU) is supported, got ${JSON.stringify(act)}`);
  // qwen2 always has q/k/v biases (its config has no switch); llama and qwen3 may switch on biases on
  // all four attention projections, which this implementation does not have.
  if (arch !== 'qwen2' && j.attention_bias === true) fail(source, 'attention_bias', 'attention biases are unsupported');
  if (j.mlp_bias === true) fail(source, 'mlp_bias', 'MLP biases are unsupported');
  if (j.rope_scaling !== undefined && j.rope_scaling !== null) {
    fail(source, 'rope_scaling', `rotary scaling is unsupported, got ${JSON.stringify(j.rope_scaling)}`);
  }
  if (arch !== 'llama') refuseSlidingWindow(j, source);
  let ropeTheta = j.rope_theta;
  // transformers v5 moves rope settings into rope_parameters.
  const rp = j.rope_parameters;
  if (rp !== undefined && rp !== null) {
    if (typeof rp !== 'object' || Array.isArray(rp)) fail(source, 'rope_parameters', 'expected an object');
    const r = rp as Record<string, unknown>;
    if (r.rope_type !== undefined && r.rope_type !== 'default') {
      fail(source, 'rope_parameters.rope_type', `only "default" is supported, got ${JSON.stringify(r.rope_type)}`);
    }
    if (r.rope_theta !== undefined) ropeTheta = r.rope_theta;
  }
  const numHeads = hfField(j, 'num_attention_heads', source);
  const defaultMaxPos = modelType === 'mistral' ? 4096 * 32 : arch === 'llama' ? 2048 : 32768;
  let maxPos = hfField(j, 'max_position_embeddings', source, defaultMaxPos);
  // Mistral's sliding window equals full attention for sequences up to the window: cap the length.
  const sw = j.sliding_window;
  if (modelType === 'mistral' && sw !== undefined && sw !== null) {
    const w = checkPositiveInt(sw, source, 'sliding_window');
    if (typeof maxPos === 'number' && w < maxPos) maxPos = w;
  }
  const input: LlamaConfigInput = {
    architecture: arch,
    hiddenSize: hfField(j, 'hidden_size', source) as number,
    numLayers: hfField(j, 'num_hidden_layers', source) as number,
    numHeads: numHeads as number,
    numKvHeads: hfField(j, 'num_key_value_heads', source, numHeads) as number,
    headDim: (j.head_dim ?? undefined) as number | undefined,
    intermediateSize: hfField(j, 'intermediate_size', source) as number,
    vocabSize: hfField(j, 'vocab_size', source) as number,
    maxPositionEmbeddings: maxPos as number,
    ropeTheta: (ropeTheta ?? 10000) as number,
    rmsNormEps: hfField(j, 'rms_norm_eps', source, 1e-6) as number,
    tieWordEmbeddings: hfField(j, 'tie_word_embeddings', source, false) as boolean,
    bosTokenId: tokenId(j.bos_token_id, source, 'bos_token_id'),
    eosTokenId: tokenId(j.eos_token_id, source, 'eos_token_id'),
  };
  if (input.headDim === undefined) delete input.headDim;
  if (input.bosTokenId === undefined) delete (input as { bosTokenId?: number }).bosTokenId;
  if (input.eosTokenId === undefined) delete (input as { eosTokenId?: number }).eosTokenId;
  // Validation errors use HF key names so they point at the file's contents.
  return validateWithNames(input, source, (f) => HF_KEY[f]);
}

const HF_KEY: Readonly<Record<keyof LlamaConfig, string>> = {
  architecture: 'model_type',
  hiddenSize: 'hidden_size',
  numLayers: 'num_hidden_layers',
  numHeads: 'num_attention_heads',
  numKvHeads: 'num_key_value_heads',
  headDim: 'head_dim',
  intermediateSize: 'intermediate_size',
  vocabSize: 'vocab_size',
  maxPositionEmbeddings: 'max_position_embeddings',
  ropeTheta: 'rope_theta',
  rmsNormEps: 'rms_norm_eps',
  tieWordEmbeddings: 'tie_word_embeddings',
  bosTokenId: 'bos_token_id',
  eosTokenId: 'eos_token_id',
};

export type HfTorchDtype = 'float32' | 'float16' | 'bfloat16';

const HF_CLASS: Readonly<Record<LlamaArchitecture, string>> = {
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
};

/** A Hugging Face `config.json` object for LlamaForCausalLM (Qwen2ForCausalLM, Qwen3ForCausalLM). */
export function llamaConfigToHf(cfg: LlamaConfig, torchDtype: HfTorchDtype = 'float32'): Record<string, unknown> {
  const arch = architectureOf(cfg);
  const out: Record<string, unknown> = {
    architectures: [HF_CLASS[arch]],
    model_type: arch,
    attention_bias: false,
    attention_dropout: 0.0,
    hidden_act: 'silu',
    hidden_size: cfg.hiddenSize,
    head_dim: cfg.headDim,
    initializer_range: 0.02,
    intermediate_size: cfg.intermediateSize,
    max_position_embeddings: cfg.maxPositionEmbeddings,
    mlp_bias: false,
    num_attention_heads: cfg.numHeads,
    num_hidden_layers: cfg.numLayers,
    num_key_value_heads: cfg.numKvHeads,
    pretraining_tp: 1,
    rms_norm_eps: cfg.rmsNormEps,
    rope_scaling: null,
    rope_theta: cfg.ropeTheta,
    tie_word_embeddings: cfg.tieWordEmbeddings,
    torch_dtype: torchDtype,
    use_cache: true,
    vocab_size: cfg.vocabSize,
  };
  if (arch === 'qwen2') delete out.attention_bias; // not a Qwen2Config field: the biases are always there
  if (arch !== 'llama') {
    out.use_sliding_window = false;
    out.sliding_window = null;
  }
  if (cfg.bosTokenId !== undefined) out.bos_token_id = cfg.bosTokenId;
  if (cfg.eosTokenId !== undefined) out.eos_token_id = cfg.eosTokenId;
  return out;
}
