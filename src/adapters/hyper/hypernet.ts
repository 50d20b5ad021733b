// A trained Code2LoRA-Static hypernetwork on disk: the head weights, how repositories are encoded,
// and the base model it was trained for. `hyper.json` + `head.safetensors` in one directory.
// Loading checks the base model by SHA-256 of its weights file and refuses another, naming both:
// a head trained for one base emits adapters that would silently do the wrong thing on another.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tensor } from '../../tensor/index.js';
import type { LlamaModel } from '../../model/llama/model.js';
import type { TextTokenizer } from '../../tokenizer/tokenizer.js';
import { writeFileAtomicSync } from '../../util/atomic.js';
import { LoraAdapter } from '../lora/layer.js';
import { BaseModelEncoder, tokenizerFingerprint, validateWindowConfig, type WindowConfig } from './encoder.js';
import { EmbeddingCache } from './embedding-cache.js';
import { HyperHead } from './head.js';
import {
  embedRepository,
  embedRepositoryFiles,
  poolRepository,
  type FileVectors,
  type RepoEmbedding,
  type RepoEmbeddingConfig,
} from './repo-embedding.js';
import { sha256Hex } from './hash.js';

export const HYPER_FORMAT = 'code2lora-hypernetwork';

export interface HyperSpec {
  format: typeof HYPER_FORMAT;
  version: 1;
  /** SHA-256 of the base model's model.safetensors */
  baseModelSha256: string;
  tokenizer: string;
  encoder: { kind: 'base-mean-pool'; window: WindowConfig; repo: RepoEmbeddingConfig };
  /** storage dtype of head.safetensors */
  dtype: 'F32' | 'F16';
  /** SHA-256 of head.safetensors, written by save(): load() refuses a head whose bytes changed */
  headSha256?: string;
  /** anything about training worth keeping beside the weights */
  training?: Record<string, unknown>;
}

/** SHA-256 of a model directory's weights file (what "the same base model" means). */
export function modelFileSha256(modelDir: string): string {
  const f = path.join(modelDir, 'model.safetensors');
  if (!fs.existsSync(f)) throw new Error(`${modelDir}: no model.safetensors (sharded bases are not supported by the hypernetwork yet)`);
  return sha256Hex(fs.readFileSync(f));
}

export class Hypernetwork {
  readonly encoder: BaseModelEncoder;
  constructor(
    readonly head: HyperHead,
    readonly spec: HyperSpec,
    readonly model: LlamaModel,
    readonly tokenizer: TextTokenizer,
  ) {
    this.encoder = new BaseModelEncoder(model, tokenizer, spec.encoder.window, spec.baseModelSha256);
  }

  /** Saves head + spec atomically (the head first, so a spec never points at a missing head). */
  save(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    const headFile = path.join(dir, 'head.safetensors');
    this.head.save(headFile, this.spec.dtype);
    const spec = { ...this.spec, headSha256: sha256Hex(fs.readFileSync(headFile)) };
    writeFileAtomicSync(path.join(dir, 'hyper.json'), JSON.stringify(spec, null, 2) + '\n');
  }

  static load(dir: string, model: LlamaModel, tokenizer: TextTokenizer, baseModelSha256: string): Hypernetwork {
    const specFile = path.join(dir, 'hyper.json');
    if (!fs.existsSync(specFile)) throw new Error(`${dir} is not a hypernetwork directory (no hyper.json)`);
    let spec: HyperSpec;
    try {
      spec = JSON.parse(fs.readFileSync(specFile, 'utf8')) as HyperSpec;
    } catch (err) {
      throw new Error(`${specFile}: not valid JSON (${(err as Error).message})`);
    }
    if (spec.format !== HYPER_FORMAT) throw new Error(`${specFile}: format is ${JSON.stringify(spec.format)}, expected "${HYPER_FORMAT}"`);
    if (spec.baseModelSha256 !== baseModelSha256) {
      throw new Error(
        `${dir} was trained for base model sha256 ${spec.baseModelSha256}, but the loaded base model is sha256 ${baseModelSha256}; train a hypernetwork for this base (code2lora hyper train)`,
      );
    }
    const fp = tokenizerFingerprint(tokenizer);
    if (spec.tokenizer !== fp)
      throw new Error(`${specFile}: trained with tokenizer ${spec.tokenizer}, the base model's tokenizer is ${fp}`);
    validateWindowConfig(spec.encoder.window, model.config.maxPositionEmbeddings);
    const headFile = path.join(dir, 'head.safetensors');
    if (spec.headSha256 !== undefined && fs.existsSync(headFile)) {
      const got = sha256Hex(fs.readFileSync(headFile));
      if (got !== spec.headSha256)
        throw new Error(
          `${headFile}: SHA-256 ${got} differs from the ${spec.headSha256} recorded in hyper.json (damaged or replaced head)`,
        );
    }
    const head = HyperHead.load(headFile, model.config);
    return new Hypernetwork(head, spec, model, tokenizer);
  }

  embeddingCache(cacheDir: string | null): EmbeddingCache | null {
    return cacheDir ? new EmbeddingCache(cacheDir, this.encoder.id) : null;
  }

  embed(repoDir: string, cacheDir: string | null, onFile?: (done: number, total: number) => void): RepoEmbedding {
    return embedRepository(repoDir, this.encoder, this.embeddingCache(cacheDir), this.spec.encoder.repo, onFile);
  }

  /** Every file's vector (with its path), for pooling with a file left out (leave-own-file-out). */
  fileVectors(repoDir: string, cacheDir: string | null, onFile?: (done: number, total: number) => void): FileVectors {
    const fv = embedRepositoryFiles(repoDir, this.encoder, this.embeddingCache(cacheDir), this.spec.encoder.repo, onFile);
    if (fv.vectors.length === 0) throw new Error(`cannot embed repository ${repoDir}: no usable Python file`);
    return fv;
  }

  /** True when adapters leave the task's own test file out of the repository embedding. */
  get perTestFile(): boolean {
    return (this.spec.encoder.repo.maxTestFiles ?? 0) > 0;
  }

  /** Which adapter a task gets: its repository's, or with test files embedded its (repository, own
   *  test file) pair's, since that file is left out of the pool. */
  adapterKey(t: { repo: string; file: string }): string {
    return this.perTestFile ? `${t.repo}\u0000${t.file}` : t.repo;
  }

  /** The adapter for a task in `testFile` of a repository, from its file vectors: the task's own
   *  test file is left out of the pool when the encoder reads test files. */
  adapterForFile(fv: FileVectors, testFile: string | undefined): LoraAdapter {
    return this.adapterFromEmbedding(poolRepository(fv, this.perTestFile ? testFile : undefined));
  }

  /** The adapter for a repository embedding (no tape: inference). */
  adapterFromEmbedding(vector: Float32Array): LoraAdapter {
    const [out] = this.head.forward(null, new Tensor(Float32Array.from(vector), [1, vector.length]));
    return new LoraAdapter(this.head.loraConfig(), this.model.config, out);
  }

  adapt(
    repoDir: string,
    cacheDir: string | null,
    onFile?: (done: number, total: number) => void,
  ): { adapter: LoraAdapter; embedding: RepoEmbedding } {
    const embedding = this.embed(repoDir, cacheDir, onFile);
    return { adapter: this.adapterFromEmbedding(embedding.vector), embedding };
  }
}
