// `code2lora adapt` as a library: load the base model and the hypernetwork trained for it (refused,
// naming both hashes, when it was trained for another base), embed a repository through the per-file
// cache, emit its LoRA adapter, and write it as a standard PEFT directory (every layer's tensors:
// the head's one pair per module type is written once per layer) with code2lora-provenance.json
// beside it, the whole directory replaced atomically.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadLlama } from '../../model/llama/io.js';
import type { LlamaModel } from '../../model/llama/model.js';
import { resolveModelDir } from '../../model/default-model.js';
import { loadTokenizer, type TextTokenizer } from '../../tokenizer/tokenizer.js';
import { replaceDirAtomicSync } from '../../util/atomic-dir.js';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../lora/peft.js';
import type { LoraAdapter } from '../lora/layer.js';
import { resolveHyperDir } from './default-hyper.js';
import { sha256Hex } from './hash.js';
import { Hypernetwork, modelFileSha256 } from './hypernet.js';
import { buildProvenance, PROVENANCE_FILE, repositoryIdentity, writeProvenance, type AdapterProvenance } from './provenance.js';
import type { RepoEmbedding } from './repo-embedding.js';
import { listEncoderFiles } from './repo-files.js';

/** A loaded base model with its tokenizer and the hypernetwork trained for it. */
export interface HyperStack {
  modelDir: string;
  model: LlamaModel;
  tokenizer: TextTokenizer;
  /** SHA-256 of the base model's model.safetensors */
  baseSha256: string;
  hyperDir: string;
  hyper: Hypernetwork;
  /** SHA-256 of head.safetensors */
  headSha256: string;
}

/** Loads the base (--model or the shipped one) and the hypernetwork (--hyper or the shipped one). */
export function loadHyperStack(o: { modelDir?: string; hyperDir?: string } = {}): HyperStack {
  const modelDir = resolveModelDir(o.modelDir);
  const hyperDir = resolveHyperDir(o.hyperDir);
  const { model } = loadLlama(modelDir);
  const tokPath = path.join(modelDir, 'tokenizer.json');
  if (!fs.existsSync(tokPath)) throw new Error(`${modelDir} has no tokenizer.json`);
  const tokenizer = loadTokenizer(tokPath);
  const baseSha256 = modelFileSha256(modelDir);
  const hyper = Hypernetwork.load(hyperDir, model, tokenizer, baseSha256);
  const headSha256 = sha256Hex(fs.readFileSync(path.join(hyperDir, 'head.safetensors')));
  return { modelDir, model, tokenizer, baseSha256, hyperDir, hyper, headSha256 };
}

export interface AdaptResult {
  adapter: LoraAdapter;
  embedding: RepoEmbedding;
  provenance: AdapterProvenance;
  /** embedding + head forward, seconds */
  seconds: number;
}

/** Throws, naming the hypernetwork, when the emitted adapter holds a NaN or an infinity: a damaged
 *  head must never yield a silently wrong adapter. */
function checkFinite(adapter: LoraAdapter, hyperDir: string): void {
  for (const [key, { A, B }] of adapter.weights) {
    for (const [f, t] of [
      ['A', A],
      ['B', B],
    ] as const) {
      for (let i = 0; i < t.data.length; i++) {
        if (!Number.isFinite(t.data[i])) {
          throw new Error(
            `hypernetwork ${hyperDir}: emitted a non-finite value (${t.data[i]}) in ${key} ${f}; ` +
              `head.safetensors is damaged or was trained into divergence`,
          );
        }
      }
    }
  }
}

/** The adapter for one repository (embedding through `cacheDir` when given, null = no cache). */
export async function adaptRepository(
  stack: HyperStack,
  repoDir: string,
  cacheDir: string | null,
  onFile?: (done: number, total: number) => void,
): Promise<AdaptResult> {
  const t0 = performance.now();
  const { adapter, embedding } = await stack.hyper.adapt(repoDir, cacheDir, onFile);
  checkFinite(adapter, stack.hyperDir);
  const seconds = (performance.now() - t0) / 1000;
  // The files the encoder used: its list, less what it skipped (the skip reasons are in the report).
  const skipped = new Set(embedding.skipped.map((s) => s.file));
  const listed = listEncoderFiles(repoDir, stack.hyper.spec.encoder.repo.maxFiles, stack.hyper.spec.encoder.repo.maxTestFiles ?? 0);
  const used = listed.files.filter((f) => !skipped.has(f));
  const provenance = buildProvenance({
    hyperDir: stack.hyperDir,
    headSha256: stack.headSha256,
    training: stack.hyper.spec.training ?? null,
    modelDir: stack.modelDir,
    baseSha256: stack.baseSha256,
    repository: await repositoryIdentity(repoDir, used),
    embedding,
    lora: adapter.config,
    seconds,
  });
  return { adapter, embedding, provenance, seconds };
}

const ADAPTER_FILES = new Set([PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, PROVENANCE_FILE]);

/** Writes the PEFT directory + provenance, replacing `outDir` atomically. An existing `outDir` that
 *  holds anything but an adapter's files is refused (it would be deleted). */
export function writeAdapterDir(outDir: string, stack: HyperStack, r: AdaptResult): void {
  if (fs.existsSync(outDir)) {
    if (!fs.statSync(outDir).isDirectory()) throw new Error(`--out ${outDir} exists and is not a folder`);
    const other = fs.readdirSync(outDir).filter((f) => !ADAPTER_FILES.has(f));
    if (other.length) {
      throw new Error(
        `--out ${outDir} already holds files that are not an adapter's (${other.slice(0, 5).join(', ')}); ` +
          'choose another --out or remove them',
      );
    }
  }
  replaceDirAtomicSync(path.resolve(outDir), (tmp) => {
    r.adapter.savePeft(tmp, stack.model.config, path.basename(stack.modelDir));
    writeProvenance(tmp, r.provenance);
  });
}
