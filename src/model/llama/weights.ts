// Hugging Face tensor names and shapes of a Llama-family checkpoint, and a checker that reports every
// missing, unexpected or wrong-shape tensor in one error.
// Dimension letters: C hidden, L layers, H heads, KV key/value heads, D head dim, I MLP width, V vocab.
import { architectureOf, type LlamaConfig } from './config.js';

/** The seven linear projections of a decoder layer, in HF order. */
export const LLAMA_PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LlamaProjection = (typeof LLAMA_PROJECTIONS)[number];

export interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Parent module of a projection inside a layer: attention projections live under self_attn. */
export function projectionParent(module: LlamaProjection): 'self_attn' | 'mlp' {
  return module === 'gate_proj' || module === 'up_proj' || module === 'down_proj' ? 'mlp' : 'self_attn';
}

/** HF name of a projection's weight without the ".weight": `model.layers.{i}.self_attn.q_proj`. */
export function projectionPath(layer: number, module: LlamaProjection): string {
  return `model.layers.${layer}.${projectionParent(module)}.${module}`;
}

/** [out, in] of a projection's weight matrix (PyTorch Linear layout). */
export function projectionDims(cfg: LlamaConfig, module: LlamaProjection): [out: number, inF: number] {
  const C = cfg.hiddenSize;
  const q = cfg.numHeads * cfg.headDim; // H*D
  const kv = cfg.numKvHeads * cfg.headDim; // KV*D
  const I = cfg.intermediateSize;
  switch (module) {
    case 'q_proj':
      return [q, C];
    case 'k_proj':
    case 'v_proj':
      return [kv, C];
    case 'o_proj':
      return [C, q];
    case 'gate_proj':
    case 'up_proj':
      return [I, C];
    case 'down_proj':
      return [C, I];
  }
}

/** The per-architecture attention tensors of layer i: qwen2's q/k/v biases, qwen3's q/k norms [D]. */
export function attentionExtras(cfg: LlamaConfig, i: number): TensorSpec[] {
  switch (architectureOf(cfg)) {
    case 'llama':
      return [];
    case 'qwen2':
      return (['q_proj', 'k_proj', 'v_proj'] as const).map((m) => ({
        name: `${projectionPath(i, m)}.bias`,
        shape: [projectionDims(cfg, m)[0]],
      }));
    case 'qwen3':
      return [
        { name: `model.layers.${i}.self_attn.q_norm.weight`, shape: [cfg.headDim] },
        { name: `model.layers.${i}.self_attn.k_norm.weight`, shape: [cfg.headDim] },
      ];
  }
}

/** Every tensor of the model with its shape, in HF order. lm_head is listed only when untied. */
export function llamaTensorSpecs(cfg: LlamaConfig): TensorSpec[] {
  const C = cfg.hiddenSize;
  const V = cfg.vocabSize;
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [V, C] }];
  for (let i = 0; i < cfg.numLayers; i++) {
    specs.push({ name: `model.layers.${i}.input_layernorm.weight`, shape: [C] });
    for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as const) {
      specs.push({ name: `${projectionPath(i, m)}.weight`, shape: projectionDims(cfg, m) });
    }
    specs.push(...attentionExtras(cfg, i));
    specs.push({ name: `model.layers.${i}.post_attention_layernorm.weight`, shape: [C] });
    for (const m of ['gate_proj', 'up_proj', 'down_proj'] as const) {
      specs.push({ name: `${projectionPath(i, m)}.weight`, shape: projectionDims(cfg, m) });
    }
  }
  specs.push({ name: 'model.norm.weight', shape: [C] });
  if (!cfg.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [V, C] });
  return specs;
}

/** Buffers some checkpoints carry that are recomputed from the config, never weights. */
export function isIgnorableLlamaTensor(name: string): boolean {
  return /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/.test(name);
}

const MAX_LISTED = 12;
function listed(items: string[]): string {
  return items.length <= MAX_LISTED
    ? items.join(', ')
    : `${items.slice(0, MAX_LISTED).join(', ')}, ... (${items.length - MAX_LISTED} more)`;
}

/**
 * Check a set of tensors against the config; throw one error listing every missing, unexpected and
 * wrong-shape tensor. A tied model may carry lm_head.weight (it must then have shape [V, C]) or omit
 * it; an untied model must have it. rotary inv_freq buffers are tolerated.
 */
export function checkLlamaTensors(
  cfg: LlamaConfig,
  tensors: ReadonlyMap<string, { readonly shape: readonly number[] }>,
  source: string,
): void {
  const expected = new Map(llamaTensorSpecs(cfg).map((s) => [s.name, s.shape]));
  if (cfg.tieWordEmbeddings && tensors.has('lm_head.weight')) expected.set('lm_head.weight', [cfg.vocabSize, cfg.hiddenSize]);
  const missing: string[] = [];
  const wrong: string[] = [];
  const unexpected: string[] = [];
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) missing.push(name);
    else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      wrong.push(`${name} is [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
  }
  for (const name of tensors.keys()) {
    if (!expected.has(name) && !isIgnorableLlamaTensor(name)) unexpected.push(name);
  }
  if (missing.length + wrong.length + unexpected.length === 0) return;
  const parts: string[] = [];
  if (missing.length) parts.push(`missing ${missing.length}: ${listed(missing)}`);
  if (wrong.length) parts.push(`wrong shape ${wrong.length}: ${listed(wrong)}`);
  if (unexpected.length) parts.push(`unexpected ${unexpected.length}: ${listed(unexpected)}`);
  throw new Error(
    `llama weights ${source}: tensors do not match the config ` +
      `(C=${cfg.hiddenSize} L=${cfg.numLayers} H=${cfg.numHeads} KV=${cfg.numKvHeads} D=${cfg.headDim} ` +
      `I=${cfg.intermediateSize} V=${cfg.vocabSize} tied=${cfg.tieWordEmbeddings} arch=${architectureOf(cfg)}); ${parts.join('; ')}`,
  );
}
