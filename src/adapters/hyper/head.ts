// Code2LoRA-Static hypernetwork head (METHOD.md section 1): repository embeddings in, LoRA A/B out.
//   trunk:  h = sqrt(H) * l2normalize(GELU(Linear(GELU(Linear(x)))))        x [M, E(+Le)] -> h [M, H]
//   heads:  A_m = s_m^A * tanh(Linear_m^A(h)) -> [M, r*in_m], one row per output, reshaped [r, in_m]
//           B_m = s_m^B * tanh(Linear_m^B(h)) -> [M, out_m*r],                    reshaped [out_m, r]
//   scales: s = clamp(exp(log_s), scaleMin, scaleMax), log_s init initLogScale; B is NOT zero-initialised.
//   input (inputNorm only): x = (emb + shift) * scale per dimension, shift = -mean and scale = 1/std of
//           the training repositories' embeddings, frozen buffers set by setInputStats (not trained).
// Shared variant: M = R rows, one (A, B) per module type for every layer (keys "*.q_proj"). Per-layer
// variant: a learned layer embedding [L, Le] is joined to each repository's embedding, so M = R*L
// rows (row i*L + l is repository i, layer l; keys "l.q_proj"). Every head is one matmul over all M
// rows. The outputs stay on the tape, so the model's loss reaches the head through the LoRA A/B.
// Dimension letters: R repositories, L layers, E embedding width, Le layer-embedding width, H trunk
// width, k factorised width, r rank, M trunk rows.
import {
  Tape,
  addBias,
  mul,
  Tensor,
  clamp,
  concatCols,
  embedding,
  exp,
  fromArray,
  l2NormalizeRows,
  scale,
  scaleBy,
  sliceRows,
  tanh,
  type DType,
} from '../../tensor/index.js';
import { Embedding, Linear, MLP, collectParameters, type Module } from '../../nn/index.js';
import type { LlamaConfig } from '../../model/llama/config.js';
import { projectionDims, type LlamaProjection } from '../../model/llama/weights.js';
import {
  parseSafetensors,
  readSafetensors,
  serializeSafetensors,
  writeSafetensors,
  floatData,
  type SafetensorsFile,
  type TensorToWrite,
} from '../../formats/safetensors.js';
import { validateLoraConfig, type LoraConfig } from '../lora/config.js';
import type { LoraPair } from '../lora/layer.js';
import type { Rng } from '../../util/rng.js';
import { hyperHeadParameterCount, validateHyperHeadConfig, type HyperHeadConfig } from './config.js';

/** One repository's adapter: keyed like LoraAdapter weights ("*.q_proj" or "3.q_proj"). */
export type HyperOutput = Map<string, LoraPair>;

const FORMAT = 'code2lora-hyper-head';

interface ModuleHeads {
  A: Linear;
  B: Linear;
  logA: Tensor;
  logB: Tensor;
}

export class HyperHead implements Module {
  readonly config: HyperHeadConfig;
  readonly modelConfig: LlamaConfig;
  readonly trunk: MLP;
  readonly layerEmbed: Embedding | null;
  readonly bottleneck: Linear | null;
  readonly heads: ReadonlyMap<LlamaProjection, ModuleHeads>;
  /** inputNorm buffers [E] (null without it): x = (emb + shift) * scale before the trunk. */
  readonly inputShift: Tensor | null;
  readonly inputScale: Tensor | null;

  /** Builds a head around existing parameters (names as parameters() lists them); shapes are checked. */
  constructor(config: HyperHeadConfig, modelConfig: LlamaConfig, params: Map<string, Tensor>) {
    this.config = validateHyperHeadConfig(config);
    this.modelConfig = modelConfig;
    const expected = expectedShapes(this.config, modelConfig);
    for (const [name, shape] of expected) {
      const t = params.get(name);
      if (!t) throw new Error(`HyperHead: missing tensor ${name} (expected [${shape.join(',')}])`);
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
        throw new Error(
          `HyperHead: tensor ${name} has shape [${t.shape.join(',')}], expected [${shape.join(',')}] ` +
            `(rank ${this.config.rank}, hidden ${this.config.hidden}, embedDim ${this.config.embedDim})`,
        );
      }
      t.name = name;
    }
    for (const name of params.keys()) if (!expected.has(name)) throw new Error(`HyperHead: unexpected tensor ${name}`);
    const dtypes = new Set([...params.values()].map((t) => t.dtype));
    if (dtypes.size !== 1) throw new Error(`HyperHead: mixed parameter dtypes ${[...dtypes].join(',')}`);
    const p = (n: string) => params.get(n)!;
    this.trunk = new MLP(
      [new Linear(p('trunk.fc1.weight'), p('trunk.fc1.bias')), new Linear(p('trunk.fc2.weight'), p('trunk.fc2.bias'))],
      true,
    );
    this.layerEmbed = this.config.perLayer ? new Embedding(p('layer_embed.weight')) : null;
    this.bottleneck = this.config.headRank > 0 ? new Linear(p('bottleneck.weight'), null) : null;
    const heads = new Map<LlamaProjection, ModuleHeads>();
    for (const m of this.config.targetModules) {
      heads.set(m, {
        A: new Linear(p(`heads.${m}.A.weight`), p(`heads.${m}.A.bias`)),
        B: new Linear(p(`heads.${m}.B.weight`), p(`heads.${m}.B.bias`)),
        logA: p(`log_scales.${m}.A`),
        logB: p(`log_scales.${m}.B`),
      });
    }
    this.heads = heads;
    this.inputShift = this.config.inputNorm ? p('input_norm.shift') : null;
    this.inputScale = this.config.inputNorm ? p('input_norm.scale') : null;
    for (const b of [this.inputShift, this.inputScale]) if (b) b.requiresGrad = false;
  }

  /** Fresh head: PyTorch-default (kaiming-uniform) Linears, layer embedding ~ N(0, 1/Le) (about the
   *  unit norm of an L2-normalised repository embedding), every log-scale at initLogScale. */
  static init(config: HyperHeadConfig, modelConfig: LlamaConfig, rng: Rng, opts: { dtype?: DType } = {}): HyperHead {
    const cfg = validateHyperHeadConfig(config);
    const dtype = opts.dtype ?? 'f32';
    const params = new Map<string, Tensor>();
    const inF = cfg.embedDim + (cfg.perLayer ? cfg.layerEmbedDim : 0);
    collectParameters(params, 'trunk', MLP.init([inF, cfg.hidden, cfg.hidden], rng.fork('trunk'), { dtype }));
    if (cfg.perLayer) {
      collectParameters(
        params,
        'layer_embed',
        Embedding.init(modelConfig.numLayers, cfg.layerEmbedDim, rng.fork('layer_embed'), { dtype, std: 1 / Math.sqrt(cfg.layerEmbedDim) }),
      );
    }
    if (cfg.headRank > 0)
      collectParameters(params, 'bottleneck', Linear.init(cfg.hidden, cfg.headRank, rng.fork('bottleneck'), { dtype, bias: false }));
    const headIn = cfg.headRank > 0 ? cfg.headRank : cfg.hidden;
    for (const m of cfg.targetModules) {
      const [out, inM] = projectionDims(modelConfig, m);
      collectParameters(params, `heads.${m}.A`, Linear.init(headIn, cfg.rank * inM, rng.fork(`heads.${m}.A`), { dtype }));
      collectParameters(params, `heads.${m}.B`, Linear.init(headIn, out * cfg.rank, rng.fork(`heads.${m}.B`), { dtype }));
      for (const ab of ['A', 'B']) {
        params.set(`log_scales.${m}.${ab}`, fromArray([cfg.initLogScale], [1], dtype, { requiresGrad: true }));
      }
    }
    if (cfg.inputNorm) {
      // identity until setInputStats: shift 0, scale 1
      params.set('input_norm.shift', fromArray(new Array<number>(cfg.embedDim).fill(0), [cfg.embedDim], dtype));
      params.set('input_norm.scale', fromArray(new Array<number>(cfg.embedDim).fill(1), [cfg.embedDim], dtype));
    }
    return new HyperHead(cfg, modelConfig, params);
  }

  /** The LoRA config the outputs belong to (rank, alpha, target modules; no dropout). */
  loraConfig(): LoraConfig {
    return validateLoraConfig(
      { rank: this.config.rank, alpha: this.config.alpha, targetModules: this.config.targetModules, dropout: 0 },
      'HyperHead.loraConfig',
    );
  }

  get dtype(): DType {
    return this.trunk.layers[0].weight.dtype;
  }

  /** Total number of parameter values. */
  parameterCount(): number {
    let n = 0;
    for (const t of this.parameters().values()) n += t.size;
    return n;
  }

  /** The current output scales s = clamp(exp(log_s), scaleMin, scaleMax), per module and A/B. */
  scales(): Map<string, number> {
    const s = new Map<string, number>();
    for (const [m, h] of this.heads) {
      s.set(`${m}.A`, Math.min(Math.max(Math.exp(h.logA.data[0]), this.config.scaleMin), this.config.scaleMax));
      s.set(`${m}.B`, Math.min(Math.max(Math.exp(h.logB.data[0]), this.config.scaleMin), this.config.scaleMax));
    }
    return s;
  }

  /** Sets the inputNorm buffers from the training repositories' embeddings (each [E]): shift = -mean,
   *  scale = 1 / std per dimension, std floored at 1e-3 of the mean std so a constant dimension is
   *  not blown up. Returns the mean std (for the training record). */
  setInputStats(vectors: readonly ArrayLike<number>[]): { meanStd: number; count: number } {
    if (!this.inputShift || !this.inputScale)
      throw new Error('HyperHead.setInputStats: the head has no inputNorm (config.inputNorm false)');
    const E = this.config.embedDim,
      N = vectors.length;
    if (N < 2) throw new Error(`HyperHead.setInputStats: need at least 2 embeddings for a standard deviation, got ${N}`);
    const mean = new Float64Array(E),
      sq = new Float64Array(E);
    for (const v of vectors) {
      if (v.length !== E) throw new Error(`HyperHead.setInputStats: an embedding has ${v.length} values, expected ${E}`);
      for (let j = 0; j < E; j++) mean[j] += v[j] / N;
    }
    for (const v of vectors) for (let j = 0; j < E; j++) sq[j] += (v[j] - mean[j]) ** 2 / (N - 1);
    const std = Array.from(sq, Math.sqrt);
    const meanStd = std.reduce((a, b) => a + b, 0) / E;
    const floor = Math.max(1e-3 * meanStd, 1e-12);
    for (let j = 0; j < E; j++) {
      this.inputShift.data[j] = -mean[j];
      this.inputScale.data[j] = 1 / Math.max(std[j], floor);
    }
    return { meanStd, count: N };
  }

  /** The trunk's output h [M, H(or k)] for repository embeddings emb [R, E]. */
  private trunkForward(tape: Tape | null, input: Tensor): Tensor {
    const cfg = this.config,
      R = input.shape[0],
      E = cfg.embedDim,
      L = this.modelConfig.numLayers;
    let emb = input; // [R, E]
    if (this.inputShift && this.inputScale) {
      const rows = new Tensor(input.dtype === 'f64' ? new Float64Array(R * E) : new Float32Array(R * E), [R, E]); // [R, E]: scale on every row
      for (let i = 0; i < R; i++) rows.data.set(this.inputScale.data, i * E);
      emb = mul(tape, addBias(tape, input, this.inputShift), rows); // [R, E] standardised
    }
    let x = emb; // [R, E]
    if (this.layerEmbed) {
      const repoIds = new Int32Array(R * L),
        layerIds = new Int32Array(R * L);
      for (let i = 0; i < R; i++)
        for (let l = 0; l < L; l++) {
          repoIds[i * L + l] = i;
          layerIds[i * L + l] = l;
        }
      const rep = embedding(tape, emb, repoIds, [R * L]); // [R*L, E]: each repository repeated L times
      x = concatCols(tape, rep, this.layerEmbed.forward(tape, layerIds)); // [R*L, E+Le]
    }
    let h = this.trunk.forward(tape, x); // [M, H], GELU applied after both Linears
    h = scale(tape, l2NormalizeRows(tape, h), Math.sqrt(cfg.hidden)); // [M, H], each row of norm sqrt(H)
    if (this.bottleneck) h = this.bottleneck.forward(tape, h); // [M, k]
    return h;
  }

  /** One adapter per repository: emb [R, E] -> R maps of A [r, in], B [out, r]. */
  forward(tape: Tape | null, emb: Tensor): HyperOutput[] {
    const cfg = this.config,
      r = cfg.rank,
      L = this.modelConfig.numLayers;
    if (emb.shape.length !== 2 || emb.shape[1] !== cfg.embedDim || emb.shape[0] === 0) {
      throw new Error(`HyperHead.forward: embeddings have shape [${emb.shape.join(',')}], expected [R,${cfg.embedDim}] with R >= 1`);
    }
    if (emb.dtype !== this.dtype) throw new Error(`HyperHead.forward: embeddings are ${emb.dtype}, the head is ${this.dtype}`);
    const R = emb.shape[0];
    const h = this.trunkForward(tape, emb);
    const outs: HyperOutput[] = Array.from({ length: R }, () => new Map());
    for (const [m, hd] of this.heads) {
      const [out, inM] = projectionDims(this.modelConfig, m);
      const sA = clamp(tape, exp(tape, hd.logA), cfg.scaleMin, cfg.scaleMax); // [1]
      const sB = clamp(tape, exp(tape, hd.logB), cfg.scaleMin, cfg.scaleMax); // [1]
      const A = scaleBy(tape, tanh(tape, hd.A.forward(tape, h)), sA); // [M, r*in]
      const B = scaleBy(tape, tanh(tape, hd.B.forward(tape, h)), sB); // [M, out*r]
      for (let i = 0; i < R; i++) {
        const layers = cfg.perLayer ? L : 1;
        for (let l = 0; l < layers; l++) {
          const row = i * layers + l;
          const key = cfg.perLayer ? `${l}.${m}` : `*.${m}`;
          outs[i].set(key, {
            A: sliceRows(tape, A, row, row + 1).view([r, inM]), // [1, r*in] -> [r, in]
            B: sliceRows(tape, B, row, row + 1).view([out, r]), // [1, out*r] -> [out, r]
          });
        }
      }
    }
    return outs;
  }

  parameters(): Map<string, Tensor> {
    const m = new Map<string, Tensor>();
    collectParameters(m, 'trunk', this.trunk);
    if (this.layerEmbed) collectParameters(m, 'layer_embed', this.layerEmbed);
    if (this.bottleneck) collectParameters(m, 'bottleneck', this.bottleneck);
    for (const [mod, hd] of this.heads) {
      collectParameters(m, `heads.${mod}.A`, hd.A);
      collectParameters(m, `heads.${mod}.B`, hd.B);
    }
    for (const [mod, hd] of this.heads) {
      m.set(`log_scales.${mod}.A`, hd.logA);
      m.set(`log_scales.${mod}.B`, hd.logB);
    }
    return m;
  }

  /** Frozen tensors saved with the head but never trained (the inputNorm statistics). */
  buffers(): Map<string, Tensor> {
    const m = new Map<string, Tensor>();
    if (this.inputShift) m.set('input_norm.shift', this.inputShift);
    if (this.inputScale) m.set('input_norm.scale', this.inputScale);
    return m;
  }

  // --- save / load -------------------------------------------------------------------------------

  /** safetensors bytes of the head weights, stored as F32 or F16 (log-scales always F32); the config
   *  and the model dimensions it was built for go in the header metadata. */
  toSafetensors(dtype: 'F32' | 'F16' = 'F32'): Uint8Array {
    return serializeSafetensors(this.tensorsToWrite(dtype), this.metadata(), dtype);
  }

  /** Writes toSafetensors(dtype) atomically (temp file + fsync + rename). */
  save(path: string, dtype: 'F32' | 'F16' = 'F32'): void {
    writeSafetensors(path, this.tensorsToWrite(dtype), { metadata: this.metadata(), dtype });
  }

  private tensorsToWrite(dtype: 'F32' | 'F16'): Map<string, TensorToWrite> {
    if (dtype !== 'F32' && dtype !== 'F16') throw new Error(`HyperHead: storage dtype must be F32 or F16, got ${String(dtype)}`);
    const tensors = new Map<string, TensorToWrite>();
    for (const [name, t] of [...this.parameters(), ...this.buffers()]) {
      const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
      const exact = name.startsWith('log_scales.') || name.startsWith('input_norm.');
      tensors.set(name, { shape: t.shape, data, dtype: exact ? 'F32' : dtype });
    }
    return tensors;
  }

  /** Loads a head from safetensors bytes for this model; `source` names the file in errors.
   *  `lora`, when given, must match the head's rank, alpha and target modules. */
  static fromSafetensors(
    bytes: Uint8Array,
    modelConfig: LlamaConfig,
    source: string,
    opts: { trainable?: boolean; lora?: LoraConfig } = {},
  ): HyperHead {
    return fromFile(parseSafetensors(bytes, source), modelConfig, source, opts);
  }

  static load(path: string, modelConfig: LlamaConfig, opts: { trainable?: boolean; lora?: LoraConfig } = {}): HyperHead {
    return fromFile(readSafetensors(path), modelConfig, path, opts);
  }

  private metadata(): Record<string, string> {
    return { format: FORMAT, config: JSON.stringify(this.config), model: JSON.stringify(modelDims(this.modelConfig)) };
  }
}

/** The model dimensions a head's shapes depend on. */
function modelDims(m: LlamaConfig): Record<string, number> {
  return {
    hiddenSize: m.hiddenSize,
    numLayers: m.numLayers,
    numHeads: m.numHeads,
    numKvHeads: m.numKvHeads,
    headDim: m.headDim,
    intermediateSize: m.intermediateSize,
  };
}

/** Every tensor name with its shape: parameters() in order, then buffers(). */
export function expectedShapes(cfg: HyperHeadConfig, modelCfg: LlamaConfig): Map<string, number[]> {
  const s = new Map<string, number[]>();
  const inF = cfg.embedDim + (cfg.perLayer ? cfg.layerEmbedDim : 0),
    H = cfg.hidden;
  s.set('trunk.fc1.weight', [H, inF]);
  s.set('trunk.fc1.bias', [H]);
  s.set('trunk.fc2.weight', [H, H]);
  s.set('trunk.fc2.bias', [H]);
  if (cfg.perLayer) s.set('layer_embed.weight', [modelCfg.numLayers, cfg.layerEmbedDim]);
  if (cfg.headRank > 0) s.set('bottleneck.weight', [cfg.headRank, H]);
  const headIn = cfg.headRank > 0 ? cfg.headRank : H;
  for (const m of cfg.targetModules) {
    const [out, inM] = projectionDims(modelCfg, m);
    s.set(`heads.${m}.A.weight`, [cfg.rank * inM, headIn]);
    s.set(`heads.${m}.A.bias`, [cfg.rank * inM]);
    s.set(`heads.${m}.B.weight`, [out * cfg.rank, headIn]);
    s.set(`heads.${m}.B.bias`, [out * cfg.rank]);
  }
  for (const m of cfg.targetModules) {
    s.set(`log_scales.${m}.A`, [1]);
    s.set(`log_scales.${m}.B`, [1]);
  }
  const buffers = cfg.inputNorm ? 2 * cfg.embedDim : 0;
  if (cfg.inputNorm) {
    s.set('input_norm.shift', [cfg.embedDim]);
    s.set('input_norm.scale', [cfg.embedDim]);
  }
  if (hyperHeadParameterCount(cfg, modelCfg) + buffers !== [...s.values()].reduce((a, sh) => a + sh.reduce((x, y) => x * y, 1), 0)) {
    throw new Error('HyperHead: internal error, parameter count and shapes disagree');
  }
  return s;
}

function fromFile(
  file: SafetensorsFile,
  modelConfig: LlamaConfig,
  source: string,
  opts: { trainable?: boolean; lora?: LoraConfig },
): HyperHead {
  const md = file.metadata;
  if (md.format !== FORMAT) throw new Error(`hyper head ${source}: metadata format is ${JSON.stringify(md.format)}, expected "${FORMAT}"`);
  let raw: unknown;
  try {
    raw = JSON.parse(md.config ?? '');
  } catch {
    throw new Error(`hyper head ${source}: metadata "config" is not valid JSON`);
  }
  const cfg = validateHyperHeadConfig(raw as HyperHeadConfig, `${source} (metadata)`);
  if (md.model) {
    const want = modelDims(modelConfig);
    let got: Record<string, number>;
    try {
      got = JSON.parse(md.model) as Record<string, number>;
    } catch {
      throw new Error(`hyper head ${source}: metadata "model" is not valid JSON`);
    }
    for (const [k, v] of Object.entries(want)) {
      if (got[k] !== v) throw new Error(`hyper head ${source}: made for a model with ${k} ${got[k]}, this model has ${v}`);
    }
  }
  if (opts.lora) {
    const l = opts.lora;
    if (l.rank !== cfg.rank) throw new Error(`hyper head ${source}: rank ${cfg.rank} does not match the LoRA config's rank ${l.rank}`);
    if (l.alpha !== cfg.alpha)
      throw new Error(`hyper head ${source}: alpha ${cfg.alpha} does not match the LoRA config's alpha ${l.alpha}`);
    if (l.targetModules.join(',') !== cfg.targetModules.join(',')) {
      throw new Error(
        `hyper head ${source}: target modules ${cfg.targetModules.join(',')} differ from the LoRA config's ${l.targetModules.join(',')}`,
      );
    }
  }
  const expected = expectedShapes(cfg, modelConfig);
  const params = new Map<string, Tensor>();
  for (const [name, shape] of expected) {
    const t = file.tensors.get(name);
    if (!t) throw new Error(`hyper head ${source}: missing tensor ${name} (expected [${shape.join(',')}])`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(
        `hyper head ${source}: tensor ${name} has shape [${t.shape.join(',')}], expected [${shape.join(',')}] for rank ${cfg.rank}`,
      );
    }
    const trainable = (opts.trainable ?? false) && !name.startsWith('input_norm.');
    params.set(name, new Tensor(floatData(t, name, source), shape, { requiresGrad: trainable, name }));
  }
  for (const name of file.tensors.keys()) if (!expected.has(name)) throw new Error(`hyper head ${source}: unexpected tensor ${name}`);
  return new HyperHead(cfg, modelConfig, params);
}

/** Float64 copy of a head (gradient checks). */
export function hyperHeadToF64(head: HyperHead): HyperHead {
  const params = new Map<string, Tensor>();
  for (const [name, t] of head.parameters()) {
    params.set(name, new Tensor(Float64Array.from(t.data), t.shape, { requiresGrad: true, name }));
  }
  for (const [name, t] of head.buffers()) params.set(name, new Tensor(Float64Array.from(t.data), t.shape, { name }));
  return new HyperHead(head.config, head.modelConfig, params);
}
