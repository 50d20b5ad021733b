// Hugging Face model directories: config.json + model.safetensors (or sharded shards listed in
// model.safetensors.index.json), plus tokenizer.json when present.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { llamaConfigFromHf, llamaConfigToHf, type HfTorchDtype, type LlamaConfig } from './config.js';
import { checkLlamaTensors, isIgnorableLlamaTensor } from './weights.js';
import { writeFileAtomicSync } from '../../util/atomic.js';
import {
  floatData,
  readSafetensors,
  writeSafetensors,
  type FloatTensor,
  type SafetensorsFloatDtype,
  type TensorMapLike,
} from '../../formats/safetensors.js';

export interface HfDir {
  config: LlamaConfig;
  /** Float tensors by HF name (rotary inv_freq buffers dropped). */
  tensors: Map<string, FloatTensor>;
  /** tokenizer.json in the directory, if there is one. */
  tokenizerPath?: string;
}

export interface WriteHfDirOptions {
  /** tokenizer.json contents (string or parsed object). */
  tokenizerJson?: string | object;
  /** tokenizer_config.json contents (string or parsed object). */
  tokenizerConfigJson?: string | object;
  /** Storage dtype of model.safetensors (default F32). */
  dtype?: SafetensorsFloatDtype;
}

const TORCH_DTYPE: Readonly<Record<SafetensorsFloatDtype, HfTorchDtype>> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`hf dir: cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`hf dir: ${file} is not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

function addShard(into: Map<string, FloatTensor>, file: string, only?: Set<string>): void {
  const { tensors } = readSafetensors(file);
  for (const [name, t] of tensors) {
    if (isIgnorableLlamaTensor(name)) continue;
    if (only && !only.has(name)) {
      throw new Error(`hf dir: ${file} holds tensor "${name}" that the weight_map does not assign to it`);
    }
    if (into.has(name)) throw new Error(`hf dir: tensor "${name}" appears twice (again in ${file})`);
    floatData(t, name, file);
    into.set(name, t as FloatTensor);
  }
}

/** Read tensors listed by model.safetensors.index.json, shard by shard. */
function readSharded(dir: string, indexFile: string, into: Map<string, FloatTensor>): void {
  const index = readJsonFile(indexFile, 'index');
  const wm = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) {
    throw new Error(`hf dir: ${indexFile}: "weight_map" must be an object {tensor: shard file}`);
  }
  const byShard = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard.length === 0) {
      throw new Error(`hf dir: ${indexFile}: weight_map["${name}"] must be a file name, got ${JSON.stringify(shard)}`);
    }
    const norm = path.normalize(shard);
    if (path.isAbsolute(norm) || norm === '..' || norm.startsWith('..' + path.sep)) {
      throw new Error(`hf dir: ${indexFile}: weight_map["${name}"] = ${JSON.stringify(shard)} points outside the directory`);
    }
    let set = byShard.get(norm);
    if (!set) byShard.set(norm, (set = new Set()));
    set.add(name);
  }
  for (const shard of byShard.keys()) {
    const file = path.join(dir, shard);
    if (!fs.existsSync(file)) throw new Error(`hf dir: ${indexFile} lists shard ${shard}, but ${file} does not exist`);
  }
  for (const [shard, names] of byShard) {
    const file = path.join(dir, shard);
    addShard(into, file, names);
    for (const n of names) {
      if (!into.has(n) && !isIgnorableLlamaTensor(n)) {
        throw new Error(`hf dir: ${indexFile} assigns tensor "${n}" to ${shard}, but ${file} does not contain it`);
      }
    }
  }
}

/** A tied config with a stored lm_head that differs from the embedding would silently change the
 *  model (the tied head is the embedding): refuse it, naming the field. */
function checkTiedHead(cfg: LlamaConfig, tensors: Map<string, FloatTensor>, configFile: string, source: string): void {
  const head = tensors.get('lm_head.weight');
  if (!cfg.tieWordEmbeddings || !head) return;
  const emb = floatData(tensors.get('model.embed_tokens.weight')!, 'model.embed_tokens.weight', source);
  const h = floatData(head, 'lm_head.weight', source);
  for (let i = 0; i < h.length; i++) {
    if (h[i] !== emb[i]) {
      throw new Error(
        `hf dir: ${configFile}: tie_word_embeddings is true, but ${source} holds an lm_head.weight that differs from ` +
          `model.embed_tokens.weight (first at element ${i}); set tie_word_embeddings to false to use it`,
      );
    }
  }
  tensors.delete('lm_head.weight');
}

/**
 * Read a Hugging Face Llama-family model directory. Tensors are checked against config.json; every
 * error names the file it concerns.
 */
export function readHfDir(dir: string): HfDir {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`hf dir: ${dir} is not a directory`);
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(configFile)) throw new Error(`hf dir: ${configFile} is missing`);
  const config = llamaConfigFromHf(readJsonFile(configFile, 'config'), configFile);
  const single = path.join(dir, 'model.safetensors');
  const indexFile = path.join(dir, 'model.safetensors.index.json');
  const tensors = new Map<string, FloatTensor>();
  let source: string;
  if (fs.existsSync(single)) {
    addShard(tensors, single);
    source = single;
  } else if (fs.existsSync(indexFile)) {
    readSharded(dir, indexFile, tensors);
    source = indexFile;
  } else {
    const bin = fs.existsSync(path.join(dir, 'pytorch_model.bin'))
      ? ' (pytorch_model.bin is not supported; convert it to safetensors)'
      : '';
    throw new Error(`hf dir: ${dir} has neither model.safetensors nor model.safetensors.index.json${bin}`);
  }
  checkLlamaTensors(config, tensors, source);
  checkTiedHead(config, tensors, configFile, source);
  const tok = path.join(dir, 'tokenizer.json');
  const out: HfDir = { config, tensors };
  if (fs.existsSync(tok)) out.tokenizerPath = tok;
  return out;
}

function jsonText(v: string | object): string {
  return typeof v === 'string' ? v : JSON.stringify(v, null, 2) + '\n';
}

/**
 * Write config.json, generation_config.json (when bos/eos are known), model.safetensors and the
 * optional tokenizer files, each atomically; creates `dir`. Tensors are checked against the config
 * first, so a bad call writes nothing.
 */
export function writeHfDir(
  dir: string,
  cfg: LlamaConfig,
  tensors: TensorMapLike<{ readonly shape: readonly number[]; readonly data: Float32Array }>,
  opts: WriteHfDirOptions = {},
): void {
  const dtype = opts.dtype ?? 'F32';
  if (!(dtype in TORCH_DTYPE)) throw new Error(`hf dir: cannot write dtype ${String(dtype)}`);
  const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  checkLlamaTensors(cfg, map, dir);
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, 'model.safetensors'), map, { metadata: { format: 'pt' }, dtype });
  writeFileAtomicSync(path.join(dir, 'config.json'), JSON.stringify(llamaConfigToHf(cfg, TORCH_DTYPE[dtype]), null, 2) + '\n');
  if (cfg.bosTokenId !== undefined || cfg.eosTokenId !== undefined) {
    const gen: Record<string, unknown> = { _from_model_config: true };
    if (cfg.bosTokenId !== undefined) gen.bos_token_id = cfg.bosTokenId;
    if (cfg.eosTokenId !== undefined) gen.eos_token_id = cfg.eosTokenId;
    writeFileAtomicSync(path.join(dir, 'generation_config.json'), JSON.stringify(gen, null, 2) + '\n');
  }
  if (opts.tokenizerJson !== undefined) writeFileAtomicSync(path.join(dir, 'tokenizer.json'), jsonText(opts.tokenizerJson));
  if (opts.tokenizerConfigJson !== undefined) {
    writeFileAtomicSync(path.join(dir, 'tokenizer_config.json'), jsonText(opts.tokenizerConfigJson));
  }
}
