// Code2LoRA-Evo (METHOD.md section 1): a GRU state that follows a repository commit by commit, read
// out by the Static hypernetwork head (the same HyperHead class, so a trained Static head can
// initialise it).
//   h0  = LayerNorm(GELU(Linear(repo embedding at the first commit)))        [R, E] -> [R, S]
//   h_t = GRUCell(LayerNorm(Linear(diff embedding_t)), h_{t-1})               [R, E] -> [R, S]
//   adapter_t = head(LayerNorm(h_t) / sqrt(S))                               [R, S] -> LoRA A/B
// The readout is divided by sqrt(S) so its norm (about 1 at the LayerNorm's initial gain) matches the
// unit-norm repository embeddings a Static head is trained on. S = head.embedDim.
// A checkpoint is a folder: evo.json (spec and provenance), evo.safetensors (the recurrent part),
// head.safetensors (the head, the Static head's format); evo.json records both files' SHA-256.
// Letters: R repositories (rows stepped together), E embedding width (2 x base hidden), S state width.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Tape, Tensor, concatRows, gelu, scale, type DType } from '../../tensor/index.js';
import { GRUCell, LayerNorm, Linear, collectParameters, type Module } from '../../nn/index.js';
import type { LlamaModel } from '../../model/llama/model.js';
import type { LlamaConfig } from '../../model/llama/config.js';
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';
import { floatData, readSafetensors, writeSafetensors, type TensorToWrite } from '../../formats/safetensors.js';
import { writeFileAtomicSync } from '../../util/atomic.js';
import type { Rng } from '../../util/rng.js';
import { LoraAdapter } from '../lora/layer.js';
import { BaseModelEncoder, tokenizerFingerprint, validateWindowConfig, type WindowConfig } from './encoder.js';
import { DiffEncoder, validateDiffEmbeddingConfig, type DiffEmbeddingConfig } from './diff-embedding.js';
import { HyperHead, type HyperOutput } from './head.js';
import { sha256Hex } from './hash.js';
import { embedRepository, type RepoEmbedding, type RepoEmbeddingConfig } from './repo-embedding.js';
import { EmbeddingCache } from './embedding-cache.js';

export const EVO_FORMAT = 'code2lora-evo';
const WEIGHTS_FORMAT = 'code2lora-evo-weights';

/** The recurrent part around a head: projections, norms and the GRU cell. */
export class EvoNet implements Module {
  readonly initProj: Linear;
  readonly initNorm: LayerNorm;
  readonly diffProj: Linear;
  readonly diffNorm: LayerNorm;
  readonly gru: GRUCell;
  readonly outNorm: LayerNorm;

  constructor(
    readonly head: HyperHead,
    params: Map<string, Tensor>,
  ) {
    const S = head.config.embedDim;
    const get = (n: string): Tensor => {
      const t = params.get(n);
      if (!t) throw new Error(`EvoNet: missing tensor ${n}`);
      t.name = n;
      return t;
    };
    this.initProj = new Linear(get('init.proj.weight'), get('init.proj.bias'));
    this.initNorm = new LayerNorm(get('init.norm.weight'), get('init.norm.bias'));
    this.diffProj = new Linear(get('diff.proj.weight'), get('diff.proj.bias'));
    this.diffNorm = new LayerNorm(get('diff.norm.weight'), get('diff.norm.bias'));
    this.gru = new GRUCell(get('gru.weight_ih'), get('gru.weight_hh'), get('gru.bias_ih'), get('gru.bias_hh'));
    this.outNorm = new LayerNorm(get('out.norm.weight'), get('out.norm.bias'));
    const E = this.initProj.inFeatures;
    const checks: [string, boolean][] = [
      ['init.proj is [S,E]', this.initProj.outFeatures === S],
      ['diff.proj is [S,E]', this.diffProj.outFeatures === S && this.diffProj.inFeatures === E],
      ['gru is S -> S', this.gru.inputSize === S && this.gru.hiddenSize === S],
      ['norms are [S]', [this.initNorm, this.diffNorm, this.outNorm].every((n) => n.weight.shape[0] === S)],
    ];
    for (const [what, ok] of checks) if (!ok) throw new Error(`EvoNet: ${what} with S = head.embedDim = ${S}, E = ${E}`);
    for (const n of params.keys()) if (!this.recurrentParameters().has(n)) throw new Error(`EvoNet: unexpected tensor ${n}`);
  }

  /** Fresh recurrent part (PyTorch-default inits) around `head`; E is the embedding width. */
  static init(head: HyperHead, E: number, rng: Rng, opts: { dtype?: DType } = {}): EvoNet {
    const S = head.config.embedDim,
      dtype = opts.dtype ?? head.dtype;
    const p = new Map<string, Tensor>();
    collectParameters(p, 'init.proj', Linear.init(E, S, rng.fork('init.proj'), { dtype }));
    collectParameters(p, 'init.norm', LayerNorm.init(S, { dtype }));
    collectParameters(p, 'diff.proj', Linear.init(E, S, rng.fork('diff.proj'), { dtype }));
    collectParameters(p, 'diff.norm', LayerNorm.init(S, { dtype }));
    collectParameters(p, 'gru', GRUCell.init(S, S, rng.fork('gru'), { dtype }));
    collectParameters(p, 'out.norm', LayerNorm.init(S, { dtype }));
    return new EvoNet(head, p);
  }

  get stateDim(): number {
    return this.head.config.embedDim;
  }
  get embedDim(): number {
    return this.initProj.inFeatures;
  }

  /** h0 [R, S] from repository embeddings [R, E]. */
  initState(tape: Tape | null, repoEmb: Tensor): Tensor {
    return this.initNorm.forward(tape, gelu(tape, this.initProj.forward(tape, repoEmb)));
  }

  /** One commit: h [R, S], diff embeddings [R, E] -> h' [R, S]. */
  step(tape: Tape | null, h: Tensor, diffEmb: Tensor): Tensor {
    return this.gru.forward(tape, this.diffNorm.forward(tape, this.diffProj.forward(tape, diffEmb)), h);
  }

  /** Adapters for states: each of hs is [R_i, S]; one HyperOutput per row, in order (one head call). */
  readout(tape: Tape | null, hs: readonly Tensor[]): HyperOutput[] {
    const h = hs.length === 1 ? hs[0] : concatRows(tape, hs); // [sum R_i, S]
    return this.head.forward(tape, scale(tape, this.outNorm.forward(tape, h), 1 / Math.sqrt(this.stateDim)));
  }

  /** The LoraAdapter for one state vector [S] (no tape: inference). */
  adapterFor(state: Float32Array, modelConfig: LlamaConfig = this.head.modelConfig): LoraAdapter {
    const [out] = this.readout(null, [new Tensor(Float32Array.from(state), [1, state.length])]);
    return new LoraAdapter(this.head.loraConfig(), modelConfig, out);
  }

  /** Parameters of the recurrent part only ("init.proj.weight", "gru.weight_hh", ...). */
  recurrentParameters(): Map<string, Tensor> {
    const m = new Map<string, Tensor>();
    collectParameters(m, 'init.proj', this.initProj);
    collectParameters(m, 'init.norm', this.initNorm);
    collectParameters(m, 'diff.proj', this.diffProj);
    collectParameters(m, 'diff.norm', this.diffNorm);
    collectParameters(m, 'gru', this.gru);
    collectParameters(m, 'out.norm', this.outNorm);
    return m;
  }

  /** Every trained tensor: the recurrent part, then the head's under "head.". */
  parameters(): Map<string, Tensor> {
    const m = this.recurrentParameters();
    collectParameters(m, 'head', this.head);
    return m;
  }
}

/** SHA-256 of an adapter's tensors (sorted keys, shapes and float32 bytes): its content identity. */
export function adapterSha256(out: HyperOutput | ReadonlyMap<string, { A: Tensor; B: Tensor }>): string {
  const h = createHash('sha256');
  for (const key of [...out.keys()].sort()) {
    const { A, B } = out.get(key)!;
    for (const [n, t] of [
      ['A', A],
      ['B', B],
    ] as const) {
      const f = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
      h.update(`${key}.${n}[${t.shape.join(',')}]`);
      h.update(new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
    }
  }
  return h.digest('hex');
}

export interface EvoSpec {
  format: typeof EVO_FORMAT;
  version: 1;
  /** SHA-256 of the base model's model.safetensors */
  baseModelSha256: string;
  tokenizer: string;
  encoder: { kind: 'base-mean-pool'; window: WindowConfig; repo: RepoEmbeddingConfig };
  diff: DiffEmbeddingConfig;
  /** storage dtype of head.safetensors (evo.safetensors is always F32) */
  dtype: 'F32' | 'F16';
  /** written by save(): load() refuses files whose bytes changed */
  weightsSha256?: string;
  headSha256?: string;
  training?: Record<string, unknown>;
}

/** A checkpoint's identity: SHA-256 over its two weight files' digests (what a state file records). */
export function evoCheckpointSha256(spec: Pick<EvoSpec, 'weightsSha256' | 'headSha256'>): string {
  if (!spec.weightsSha256 || !spec.headSha256) throw new Error('evo checkpoint: weight digests missing (not saved yet)');
  return sha256Hex(`${spec.weightsSha256}\n${spec.headSha256}\n`);
}

/** An Evo checkpoint loaded for a base model: the net, its encoders and its spec. */
export class EvoNetwork {
  readonly encoder: BaseModelEncoder;
  constructor(
    readonly net: EvoNet,
    readonly spec: EvoSpec,
    readonly model: LlamaModel,
    readonly tokenizer: TextTokenizer,
  ) {
    this.encoder = new BaseModelEncoder(model, tokenizer, spec.encoder.window, spec.baseModelSha256);
    if (net.embedDim !== 2 * model.config.hiddenSize)
      throw new Error(`EvoNetwork: the net reads ${net.embedDim}-wide embeddings, the encoder gives ${2 * model.config.hiddenSize}`);
  }

  /** Saves head.safetensors, evo.safetensors, then evo.json with both digests (so a spec never
   *  points at a missing or different file). */
  save(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    const headFile = path.join(dir, 'head.safetensors'),
      weightsFile = path.join(dir, 'evo.safetensors');
    this.net.head.save(headFile, this.spec.dtype);
    const tensors = new Map<string, TensorToWrite>();
    for (const [name, t] of this.net.recurrentParameters())
      tensors.set(name, { shape: t.shape, data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data) });
    writeSafetensors(weightsFile, tensors, { metadata: { format: WEIGHTS_FORMAT }, dtype: 'F32' });
    const spec: EvoSpec = {
      ...this.spec,
      headSha256: sha256Hex(fs.readFileSync(headFile)),
      weightsSha256: sha256Hex(fs.readFileSync(weightsFile)),
    };
    writeFileAtomicSync(path.join(dir, 'evo.json'), `${JSON.stringify(spec, null, 2)}\n`);
  }

  /** Loads a checkpoint for this base model; refuses another base, another tokenizer, changed files. */
  static load(
    dir: string,
    model: LlamaModel,
    tokenizer: TextTokenizer,
    baseModelSha256: string,
    opts: { trainable?: boolean } = {},
  ): EvoNetwork {
    const specFile = path.join(dir, 'evo.json');
    if (!fs.existsSync(specFile)) throw new Error(`${dir} is not an Evo checkpoint (no evo.json)`);
    let spec: EvoSpec;
    try {
      spec = JSON.parse(fs.readFileSync(specFile, 'utf8')) as EvoSpec;
    } catch (err) {
      throw new Error(`${specFile}: not valid JSON (${(err as Error).message})`);
    }
    if (spec.format !== EVO_FORMAT) throw new Error(`${specFile}: format is ${JSON.stringify(spec.format)}, expected "${EVO_FORMAT}"`);
    if (spec.baseModelSha256 !== baseModelSha256)
      throw new Error(
        `${dir} was trained for base model sha256 ${spec.baseModelSha256}, but the loaded base model is sha256 ${baseModelSha256}`,
      );
    const fp = tokenizerFingerprint(tokenizer);
    if (spec.tokenizer !== fp)
      throw new Error(`${specFile}: trained with tokenizer ${spec.tokenizer}, the base model's tokenizer is ${fp}`);
    validateWindowConfig(spec.encoder.window, model.config.maxPositionEmbeddings);
    validateDiffEmbeddingConfig(spec.diff, `${specFile} (diff)`);
    const headFile = path.join(dir, 'head.safetensors'),
      weightsFile = path.join(dir, 'evo.safetensors');
    for (const [file, want] of [
      [headFile, spec.headSha256],
      [weightsFile, spec.weightsSha256],
    ] as const) {
      if (!fs.existsSync(file)) throw new Error(`${dir}: ${path.basename(file)} is missing`);
      const got = sha256Hex(fs.readFileSync(file));
      if (want !== undefined && got !== want)
        throw new Error(`${file}: SHA-256 ${got} differs from the ${want} recorded in evo.json (damaged or replaced)`);
    }
    const trainable = opts.trainable ?? false;
    const head = HyperHead.load(headFile, model.config, { trainable });
    const file = readSafetensors(weightsFile);
    if (file.metadata.format !== WEIGHTS_FORMAT) throw new Error(`${weightsFile}: not an Evo weights file`);
    const params = new Map<string, Tensor>();
    for (const [name, t] of file.tensors)
      params.set(name, new Tensor(floatData(t, name, weightsFile), t.shape, { requiresGrad: trainable, name }));
    return new EvoNetwork(new EvoNet(head, params), spec, model, tokenizer);
  }

  get checkpointSha256(): string {
    return evoCheckpointSha256(this.spec);
  }

  diffEncoder(cacheDir: string | null): DiffEncoder {
    return new DiffEncoder(this.encoder, this.spec.diff, cacheDir ? path.join(cacheDir, 'diffs') : null);
  }

  embedRepository(repoDir: string, cacheDir: string | null, onFile?: (done: number, total: number) => void): RepoEmbedding {
    const cache = cacheDir ? new EmbeddingCache(cacheDir, this.encoder.id) : null;
    return embedRepository(repoDir, this.encoder, cache, this.spec.encoder.repo, onFile);
  }

  /** h0 [S] for a repository embedding [E]. */
  initialState(repoEmbedding: Float32Array): Float32Array {
    const h = this.net.initState(null, new Tensor(Float32Array.from(repoEmbedding), [1, repoEmbedding.length]));
    return Float32Array.from(h.data);
  }

  /** One GRU step on a diff embedding [E]: the next state [S]. */
  stepState(state: Float32Array, diffEmbedding: Float32Array): Float32Array {
    const S = this.net.stateDim,
      E = this.net.embedDim;
    if (state.length !== S) throw new Error(`evo step: state has ${state.length} values, the checkpoint's state width is ${S}`);
    if (diffEmbedding.length !== E) throw new Error(`evo step: diff embedding has ${diffEmbedding.length} values, expected ${E}`);
    const h = this.net.step(null, new Tensor(Float32Array.from(state), [1, S]), new Tensor(Float32Array.from(diffEmbedding), [1, E]));
    return Float32Array.from(h.data);
  }

  /** The adapter for a state and its content hash. */
  adapter(state: Float32Array): { adapter: LoraAdapter; sha256: string } {
    const adapter = this.net.adapterFor(state, this.model.config);
    for (const { A, B } of adapter.weights.values())
      for (const t of [A, B]) for (const v of t.data) if (!Number.isFinite(v)) throw new Error('evo: the head emitted a non-finite value');
    return { adapter, sha256: adapterSha256(adapter.weights) };
  }
}
