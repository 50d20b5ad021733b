// LoRA as a ProjectionAdapter: y + (alpha / r) * (x A^T) B^T, never materialising W + BA.
// A: [r, in], B: [out, r]. Weights are keyed "layer.module" (per layer) or "*.module" (one pair shared
// by every layer, as the Code2LoRA head emits). They are either trainable parameters or tensors
// produced by another graph (the hypernetwork), whose gradients then flow back through the tape.
import { Tape, Tensor, needsGrad, segmentLora, zeros } from '../../tensor/index.js';
import { kernelsFor } from '../../native/index.js';
import type { LlamaConfig } from '../../model/llama/config.js';
import { projectionDims } from '../../model/llama/weights.js';
import type { ProjectionAdapter, ProjectionName } from '../../model/llama/model.js';
import type { Rng } from '../../util/rng.js';
import type { LoraConfig } from './config.js';
import { readPeftAdapter, writePeftAdapter, type LoraWeights } from './peft.js';

export interface LoraPair {
  A: Tensor;
  B: Tensor;
}

export class LoraAdapter implements ProjectionAdapter {
  readonly config: LoraConfig;
  readonly weights: ReadonlyMap<string, LoraPair>;
  private readonly scaling: number;

  constructor(config: LoraConfig, modelConfig: LlamaConfig, weights: Map<string, LoraPair>) {
    if (config.dropout !== 0) throw new Error(`LoRA: dropout ${config.dropout} is not supported (use 0)`);
    this.config = config;
    this.scaling = config.alpha / config.rank;
    for (const [key, { A, B }] of weights) {
      const module = key.slice(key.indexOf('.') + 1) as ProjectionName;
      if (!config.targetModules.includes(module))
        throw new Error(`LoRA: ${key} is not a target module (${config.targetModules.join(',')})`);
      const [out, inF] = projectionDims(modelConfig, module);
      if (A.shape.length !== 2 || A.shape[0] !== config.rank || A.shape[1] !== inF) {
        throw new Error(`LoRA: ${key} A has shape [${A.shape.join(',')}], expected [${config.rank},${inF}]`);
      }
      if (B.shape.length !== 2 || B.shape[0] !== out || B.shape[1] !== config.rank) {
        throw new Error(`LoRA: ${key} B has shape [${B.shape.join(',')}], expected [${out},${config.rank}]`);
      }
    }
    this.weights = weights;
  }

  /** PEFT-style init: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming-uniform with a = sqrt(5)), B = 0, so a
   *  fresh adapter changes nothing. One pair per (layer, module), trainable. */
  static init(config: LoraConfig, modelConfig: LlamaConfig, rng: Rng): LoraAdapter {
    const weights = new Map<string, LoraPair>();
    for (let l = 0; l < modelConfig.numLayers; l++) {
      for (const m of config.targetModules) {
        const [out, inF] = projectionDims(modelConfig, m);
        const A = zeros([config.rank, inF], 'f32', { requiresGrad: true, name: `${l}.${m}.lora_A` });
        const bound = 1 / Math.sqrt(inF);
        for (let i = 0; i < A.size; i++) A.data[i] = (rng.next() * 2 - 1) * bound;
        const B = zeros([out, config.rank], 'f32', { requiresGrad: true, name: `${l}.${m}.lora_B` });
        weights.set(`${l}.${m}`, { A, B });
      }
    }
    return new LoraAdapter(config, modelConfig, weights);
  }

  pair(layer: number, module: ProjectionName): LoraPair | undefined {
    return this.weights.get(`${layer}.${module}`) ?? this.weights.get(`*.${module}`);
  }

  apply(tape: Tape | null, layer: number, module: ProjectionName, x: Tensor, y: Tensor): Tensor {
    const p = this.pair(layer, module);
    if (!p) return y;
    const r = this.config.rank;
    if (!needsGrad(tape, x, p.A, p.B, y)) {
      // Inference: xa = x A^T into a reused scratch row block, then y += scaling * xa B^T straight
      // into the base output: two kernel calls, no allocations.
      const inF = p.A.shape[1],
        N = x.size / inF;
      const k = kernelsFor(y.data);
      const xa = this.scratchFor(y.data, N * r);
      k.matmul(xa, x.data, p.A.data, N, r, inF, false, true, 1, 0);
      k.matmul(y.data, xa, p.B.data, N, p.B.shape[0], r, false, true, this.scaling, 1);
      return y;
    }
    // Training: one segmentLora op over all rows, y + scaling (x A^T) B^T written in place
    const inF = p.A.shape[1],
      N = x.size / inF;
    const out = segmentLora(tape, x.view([N, inF]), y.view([N, y.size / N]), [{ rows: N, lora: { A: p.A, B: p.B, scale: this.scaling } }]); // [N, out]
    return out.view(y.shape);
  }

  /** Saves as a PEFT adapter directory (adapter_config.json + adapter_model.safetensors). */
  savePeft(dir: string, modelConfig: LlamaConfig, baseModelName: string | null): void {
    const w = new Map<string, LoraWeights>();
    for (const [key, p] of this.weights) w.set(key, { A: p.A.data as Float32Array, B: p.B.data as Float32Array });
    writePeftAdapter(dir, this.config, w, modelConfig, baseModelName);
  }

  /** Loads a PEFT adapter directory for this model config; shapes are checked tensor by tensor. */
  static loadPeft(dir: string, modelConfig: LlamaConfig, opts: { trainable?: boolean } = {}): LoraAdapter {
    const peft = readPeftAdapter(dir, modelConfig);
    const weights = new Map<string, LoraPair>();
    for (const [key, { A, B }] of peft.weights) {
      const [out, inF] = projectionDims(modelConfig, key.slice(key.indexOf('.') + 1) as ProjectionName);
      weights.set(key, {
        A: new Tensor(A, [peft.config.rank, inF], { requiresGrad: opts.trainable ?? false, name: `${key}.lora_A` }),
        B: new Tensor(B, [out, peft.config.rank], { requiresGrad: opts.trainable ?? false, name: `${key}.lora_B` }),
      });
    }
    return new LoraAdapter(peft.config, modelConfig, weights);
  }

  private scratch: Float32Array | Float64Array | null = null;

  /** A buffer of n values of y's float type, reused across inference calls. */
  private scratchFor(like: Float32Array | Float64Array, n: number): Float32Array | Float64Array {
    const ok = this.scratch && this.scratch.constructor === like.constructor && this.scratch.length >= n;
    if (!ok) this.scratch = like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
    return this.scratch!.subarray(0, n);
  }

  parameters(): Tensor[] {
    return [...this.weights.values()].flatMap((p) => [p.A, p.B]);
  }
}
