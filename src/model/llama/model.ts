// Llama-family decoder: RMSNorm, rotary positions, grouped-query causal attention, SwiGLU MLP.
// Weights are held under their Hugging Face names so checkpoints load without renaming.
// Dimension letters: B batch, T time, C hidden, H query heads, KV key/value heads, D head dim,
// I MLP width, V vocabulary, N = B*T rows.
import {
  Tape,
  Tensor,
  add,
  addBias,
  attention,
  crossEntropy,
  embedding,
  linear,
  rmsnorm,
  rope,
  ropeTables,
  swiglu,
  zeros,
  type RopeTables,
} from '../../tensor/index.js';
import type { Rng } from '../../util/rng.js';
import { architectureOf, type LlamaConfig } from './config.js';
import { llamaTensorSpecs, checkLlamaTensors, type LlamaProjection } from './weights.js';
import type { KVCache } from './kv-cache.js';
import { defaultPositions } from './positions.js';

export { LLAMA_PROJECTIONS as PROJECTIONS } from './weights.js';
export type ProjectionName = LlamaProjection;

/** Something that adds to a projection's output (LoRA implements this). The model knows nothing else
 *  about adapters. `x` is the projection input [N, in], `y` the base output [N, out], fresh and owned
 *  by the caller; returns the adapted output: a new tensor on the tape, or `y` itself updated in
 *  place when no gradient is needed (inference), or `y` unchanged for a projection it does not touch. */
export interface ProjectionAdapter {
  apply(tape: Tape | null, layer: number, module: ProjectionName, x: Tensor, y: Tensor): Tensor;
}

/** A batch of left-padded sequences. mask: 1 = real token; positions default to the HF rule
 *  (cumulative count of real tokens minus one, pads at 0). */
export interface TokenBatch {
  ids: Int32Array;
  B: number;
  T: number;
  mask?: Uint8Array;
  positions?: Int32Array;
}

export interface ForwardOptions {
  adapter?: ProjectionAdapter | null;
  /** Inference with a KV cache: ids are the new tokens; keys/values are appended to the cache. */
  cache?: KVCache;
  /** Only compute logits at the last position of each sequence (generation). */
  lastOnly?: boolean;
}

export interface ForwardResult {
  /** [B, T, V], or [B, 1, V] with lastOnly */
  logits: Tensor;
  /** final normed hidden states [B, T, C] (the default repository encoder pools these) */
  hidden: Tensor;
}

export class LlamaModel {
  readonly config: LlamaConfig;
  readonly params: ReadonlyMap<string, Tensor>;
  private readonly rope: RopeTables;

  constructor(config: LlamaConfig, tensors: Map<string, Tensor>) {
    checkLlamaTensors(config, new Map([...tensors].map(([k, t]) => [k, { shape: t.shape }])), 'LlamaModel');
    this.config = config;
    this.params = tensors;
    for (const [name, t] of tensors) t.name = name;
    this.rope = ropeTables(config.headDim, config.maxPositionEmbeddings, config.ropeTheta);
  }

  /** Fresh weights: N(0, 0.02), output projections scaled by 1/sqrt(2 * layers), norms at 1. */
  static init(config: LlamaConfig, rng: Rng): LlamaModel {
    const tensors = new Map<string, Tensor>();
    const residualScale = 1 / Math.sqrt(2 * config.numLayers);
    for (const spec of llamaTensorSpecs(config)) {
      const t = zeros(spec.shape, 'f32');
      if (spec.name.endsWith('norm.weight')) t.data.fill(1);
      else if (!spec.name.endsWith('.bias')) {
        // (biases stay at zero, as Hugging Face initialises them)
        const std = 0.02 * (/(o_proj|down_proj)/.test(spec.name) ? residualScale : 1);
        for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * std;
      }
      tensors.set(spec.name, t);
    }
    return new LlamaModel(config, tensors);
  }

  param(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new Error(`LlamaModel: no tensor named ${name}`);
    return t;
  }

  /** Freeze (false) or unfreeze (true) every base weight. Frozen weights get no gradient at all. */
  setTrainable(trainable: boolean): void {
    for (const t of this.params.values()) t.requiresGrad = trainable;
  }

  forward(tape: Tape | null, batch: TokenBatch, opts: ForwardOptions = {}): ForwardResult {
    const cfg = this.config;
    const { B, T } = batch;
    const C = cfg.hiddenSize,
      H = cfg.numHeads,
      KV = cfg.numKvHeads,
      D = cfg.headDim;
    if (batch.ids.length !== B * T) throw new Error(`forward: ${batch.ids.length} ids for B*T=${B * T}`);
    const cache = opts.cache;
    if (cache && tape) throw new Error('forward: a KV cache is for inference only (pass tape = null)');
    const mask = batch.mask ?? new Uint8Array(B * T).fill(1);
    const positions = batch.positions ?? (cache ? cache.positionsFor(mask, B, T) : defaultPositions(mask, B, T));
    const adapter = opts.adapter ?? null;
    const arch = architectureOf(cfg);

    let x = embedding(tape, this.param('model.embed_tokens.weight'), batch.ids, [B, T]); // [B,T,C]
    const keyMask = cache ? cache.appendMask(mask, B, T) : mask;
    for (let l = 0; l < cfg.numLayers; l++) {
      const p = `model.layers.${l}.`;
      const proj = (name: ProjectionName, input: Tensor, weight: string, bias = false): Tensor => {
        let y = linear(tape, input, this.param(p + weight));
        // qwen2: the bias belongs to the base projection; the adapter adds on top (as PEFT's LoRA does).
        if (bias) y = addBias(tape, y, this.param(p + weight.replace(/weight$/, 'bias')));
        return adapter ? adapter.apply(tape, l, name, input, y) : y;
      };
      // qwen3: RMSNorm over each head's D values of q and k [B,T,heads,D], before the rotary step.
      const headNorm = (t: Tensor, which: 'q' | 'k'): Tensor =>
        arch === 'qwen3' ? rmsnorm(tape, t, this.param(`${p}self_attn.${which}_norm.weight`), cfg.rmsNormEps) : t;
      const qkvBias = arch === 'qwen2';
      // attention block
      const h = rmsnorm(tape, x, this.param(p + 'input_layernorm.weight'), cfg.rmsNormEps);
      const q = rope(tape, headNorm(proj('q_proj', h, 'self_attn.q_proj.weight', qkvBias).view([B, T, H, D]), 'q'), this.rope, positions);
      const k = rope(tape, headNorm(proj('k_proj', h, 'self_attn.k_proj.weight', qkvBias).view([B, T, KV, D]), 'k'), this.rope, positions);
      const v = proj('v_proj', h, 'self_attn.v_proj.weight', qkvBias).view([B, T, KV, D]);
      let att: Tensor;
      if (cache) {
        att = cache.attend(l, q, k, v, keyMask);
      } else {
        att = attention(tape, q, k, v, keyMask);
      }
      const o = proj('o_proj', att.view([B, T, H * D]), 'self_attn.o_proj.weight');
      x = add(tape, x, o);
      // MLP block
      const h2 = rmsnorm(tape, x, this.param(p + 'post_attention_layernorm.weight'), cfg.rmsNormEps);
      const g = proj('gate_proj', h2, 'mlp.gate_proj.weight');
      const u = proj('up_proj', h2, 'mlp.up_proj.weight');
      const m = proj('down_proj', swiglu(tape, g, u), 'mlp.down_proj.weight');
      x = add(tape, x, m);
    }
    if (cache) cache.advance(T);
    const hidden = rmsnorm(tape, x, this.param('model.norm.weight'), cfg.rmsNormEps); // [B,T,C]
    const head = cfg.tieWordEmbeddings ? this.param('model.embed_tokens.weight') : this.param('lm_head.weight');
    const last = opts.lastOnly ? lastPositions(hidden, B, T, C) : hidden;
    const logits = linear(tape, last, head); // [B,T|1,V]
    return { logits, hidden };
  }

  /** Mean target-token cross-entropy; targets[b*T+t] is the token expected AFTER position t, -1 = masked. */
  loss(tape: Tape | null, batch: TokenBatch, targets: Int32Array, adapter?: ProjectionAdapter | null) {
    const { logits } = this.forward(tape, batch, { adapter });
    return crossEntropy(tape, logits, targets);
  }
}

function lastPositions(hidden: Tensor, B: number, T: number, C: number): Tensor {
  // inference only: copy row T-1 of each sequence
  if (hidden.requiresGrad) throw new Error('lastOnly is for inference');
  const out = zeros([B, 1, C], hidden.dtype);
  for (let b = 0; b < B; b++) out.data.set(hidden.data.subarray((b * T + T - 1) * C, (b * T + T) * C), b * C);
  return out;
}
