// PEFT adapter directories: adapter_config.json + adapter_model.safetensors, readable by
// `PeftModel.from_pretrained(base, dir)` and written from what PEFT saves.
//
// Tensor names: base_model.model.model.layers.{i}.{self_attn|mlp}.{module}.lora_A.weight  [r, in]
//               base_model.model.model.layers.{i}.{self_attn|mlp}.{module}.lora_B.weight  [out, r]
// (reading also accepts PEFT's adapter-name infix: lora_A.default.weight).
// In memory, weights are keyed "layer.module" ("3.q_proj"); writing also accepts "*.module", one pair
// shared by every layer (as the Code2LoRA head emits), which is written out once per layer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LlamaConfig } from '../../model/llama/config.js';
import { LLAMA_PROJECTIONS, projectionDims, projectionParent, type LlamaProjection } from '../../model/llama/weights.js';
import { floatData, readSafetensors, writeSafetensors, type SafetensorsFloatDtype, type TensorToWrite } from '../../formats/safetensors.js';
import { writeFileAtomicSync } from '../../util/atomic.js';
import { validateLoraConfig, type LoraConfig } from './config.js';

export interface LoraWeights {
  A: Float32Array;
  B: Float32Array;
}

export interface PeftAdapter {
  config: LoraConfig;
  /** "layer.module" -> { A [r, in], B [out, r] } */
  weights: Map<string, LoraWeights>;
  baseModelName: string | null;
}

export interface WritePeftOptions {
  /** Storage dtype of adapter_model.safetensors (default F32). */
  dtype?: SafetensorsFloatDtype;
}

export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';

/** PEFT's name for a LoRA factor (without adapter-name infix). */
export function peftTensorName(layer: number, module: LlamaProjection, factor: 'A' | 'B'): string {
  return `base_model.model.model.layers.${layer}.${projectionParent(module)}.${module}.lora_${factor}.weight`;
}

export function loraKey(layer: number, module: LlamaProjection): string {
  return `${layer}.${module}`;
}

/** The adapter_config.json object PEFT writes for a causal-LM LoRA (keys sorted, as PEFT does). */
export function peftConfigJson(cfg: LoraConfig, baseModelName: string | null): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModelName,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: cfg.alpha,
    lora_dropout: cfg.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: cfg.rank,
    rank_pattern: {},
    revision: null,
    target_modules: [...cfg.targetModules],
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
  };
}

function isEmptyish(v: unknown): boolean {
  return (
    v === undefined ||
    v === null ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0)
  );
}

/** Parse adapter_config.json into a LoraConfig, refusing features that change the computation. */
export function loraConfigFromPeft(json: unknown, source: string): { config: LoraConfig; baseModelName: string | null } {
  const fail = (field: string, msg: string): never => {
    throw new Error(`peft ${source}: ${field}: ${msg}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('(root)', 'must be a JSON object');
  const j = json as Record<string, unknown>;
  if (j.peft_type !== 'LORA') fail('peft_type', `expected "LORA", got ${JSON.stringify(j.peft_type)}`);
  if (j.task_type !== undefined && j.task_type !== null && j.task_type !== 'CAUSAL_LM') {
    fail('task_type', `expected "CAUSAL_LM", got ${JSON.stringify(j.task_type)}`);
  }
  if (j.bias !== undefined && j.bias !== 'none') fail('bias', `only "none" is supported, got ${JSON.stringify(j.bias)}`);
  if (j.fan_in_fan_out === true) fail('fan_in_fan_out', 'transposed (fan_in_fan_out) weights are unsupported');
  if (j.use_rslora === true) fail('use_rslora', 'rank-stabilised scaling (alpha/sqrt(r)) is unsupported');
  if (j.use_dora === true) fail('use_dora', 'DoRA adapters are unsupported');
  for (const k of ['rank_pattern', 'alpha_pattern', 'modules_to_save', 'layers_to_transform', 'layer_replication']) {
    if (!isEmptyish(j[k])) fail(k, `unsupported (got ${JSON.stringify(j[k])})`);
  }
  let targets: string[];
  const tm = j.target_modules;
  if (tm === 'all-linear') targets = [...LLAMA_PROJECTIONS];
  else if (typeof tm === 'string') return fail('target_modules', `regular-expression targets are unsupported, got ${JSON.stringify(tm)}`);
  else if (Array.isArray(tm) && tm.every((m) => typeof m === 'string')) {
    // PEFT matches a target by the module path's suffix, so "self_attn.q_proj" means q_proj.
    targets = (tm as string[]).map((m) => {
      const last = m.slice(m.lastIndexOf('.') + 1);
      if (!(LLAMA_PROJECTIONS as readonly string[]).includes(last)) {
        fail('target_modules', `unknown module ${JSON.stringify(m)} (supported: ${LLAMA_PROJECTIONS.join(', ')})`);
      }
      return last;
    });
    targets = [...new Set(targets)];
  } else return fail('target_modules', `expected a list of module names, got ${JSON.stringify(tm)}`);
  const config = validateLoraConfig(
    {
      rank: j.r as number,
      alpha: j.lora_alpha as number,
      targetModules: targets as LlamaProjection[],
      dropout: (j.lora_dropout ?? 0) as number,
    },
    source,
  );
  const base = j.base_model_name_or_path;
  return { config, baseModelName: typeof base === 'string' ? base : null };
}

const NAME_RE = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_(A|B)(?:\.([A-Za-z0-9_-]+))?\.weight$/;

const MAX_LISTED = 12;
function listed(items: string[]): string {
  return items.length <= MAX_LISTED
    ? items.join(', ')
    : `${items.slice(0, MAX_LISTED).join(', ')}, ... (${items.length - MAX_LISTED} more)`;
}

/**
 * Read a PEFT LoRA adapter directory and check every tensor against the model config. Problems
 * (missing, unexpected, wrong-shape tensors) are reported together, each tensor by name; then any
 * NaN or Inf value is refused, naming the tensor and the first such element.
 */
export function readPeftAdapter(dir: string, modelCfg: LlamaConfig): PeftAdapter {
  const configFile = path.join(dir, PEFT_CONFIG_FILE);
  const weightsFile = path.join(dir, PEFT_WEIGHTS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(configFile, 'utf8');
  } catch (err) {
    throw new Error(`peft: cannot read ${configFile}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`peft: ${configFile} is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const { config, baseModelName } = loraConfigFromPeft(json, configFile);
  if (!fs.existsSync(weightsFile)) {
    const bin = fs.existsSync(path.join(dir, 'adapter_model.bin')) ? ' (adapter_model.bin is not supported; save with safetensors)' : '';
    throw new Error(`peft: ${weightsFile} is missing${bin}`);
  }
  const { tensors } = readSafetensors(weightsFile);
  const r = config.rank;
  const found = new Map<string, { A?: Float32Array; B?: Float32Array }>();
  const unexpected: string[] = [];
  const wrong: string[] = [];
  const nonFinite: string[] = []; // NaN or Inf anywhere would poison every completion through the adapter
  const seen = new Set<string>(); // "layer.module.A" of every adapter tensor present, right shape or not
  for (const [name, t] of tensors) {
    const m = NAME_RE.exec(name);
    const layer = m ? Number(m[1]) : -1;
    const module = m?.[3] as LlamaProjection | undefined;
    if (!m || !module || !config.targetModules.includes(module) || projectionParent(module) !== m[2] || layer >= modelCfg.numLayers) {
      unexpected.push(name);
      continue;
    }
    const factor = m[4] as 'A' | 'B';
    const key = loraKey(layer, module);
    if (seen.has(`${key}.${factor}`)) {
      throw new Error(`peft ${weightsFile}: tensor ${name} duplicates lora_${factor} of layer ${layer} ${module}`);
    }
    seen.add(`${key}.${factor}`);
    const data = floatData(t, name, weightsFile);
    const [out, inF] = projectionDims(modelCfg, module);
    const want = factor === 'A' ? [r, inF] : [out, r];
    if (t.shape.length !== 2 || t.shape[0] !== want[0] || t.shape[1] !== want[1]) {
      wrong.push(`${name} is [${t.shape.join(', ')}], expected [${want.join(', ')}]`);
      continue;
    }
    const at = data.findIndex((v) => !Number.isFinite(v));
    if (at >= 0) nonFinite.push(`${name} has ${data[at]} at [${Math.floor(at / want[1])}, ${at % want[1]}]`);
    let entry = found.get(key);
    if (!entry) found.set(key, (entry = {}));
    entry[factor] = data;
  }
  const missing: string[] = [];
  const weights = new Map<string, LoraWeights>();
  for (let l = 0; l < modelCfg.numLayers; l++) {
    for (const mod of config.targetModules) {
      const key = loraKey(l, mod);
      for (const f of ['A', 'B'] as const) if (!seen.has(`${key}.${f}`)) missing.push(peftTensorName(l, mod, f));
      const e = found.get(key);
      if (e?.A && e.B) weights.set(key, { A: e.A, B: e.B });
    }
  }
  if (missing.length + wrong.length + unexpected.length > 0) {
    const parts: string[] = [];
    if (wrong.length) parts.push(`wrong shape ${wrong.length}: ${listed(wrong)}`);
    if (missing.length) parts.push(`missing ${missing.length}: ${listed(missing)}`);
    if (unexpected.length) parts.push(`unexpected ${unexpected.length}: ${listed(unexpected)}`);
    throw new Error(
      `peft ${weightsFile}: adapter does not match the model (r=${r}, targets ${config.targetModules.join(',')}, ` +
        `${modelCfg.numLayers} layers); ${parts.join('; ')}`,
    );
  }
  if (nonFinite.length > 0) {
    throw new Error(`peft ${weightsFile}: non-finite values (NaN or Inf) in ${nonFinite.length} tensors: ${listed(nonFinite)}`);
  }
  return { config, weights, baseModelName };
}

/**
 * Write a PEFT adapter directory (created if needed). Every (layer, target module) needs a pair,
 * given per layer ("3.q_proj") or shared ("*.q_proj"); lengths are checked against the model config
 * before anything is written.
 */
export function writePeftAdapter(
  dir: string,
  loraCfg: LoraConfig,
  weights: ReadonlyMap<string, LoraWeights>,
  modelCfg: LlamaConfig,
  baseModelName: string | null,
  opts: WritePeftOptions = {},
): void {
  const cfg = validateLoraConfig(loraCfg);
  const r = cfg.rank;
  const known = new Set<string>();
  const tensors = new Map<string, TensorToWrite>();
  const problems: string[] = [];
  for (let l = 0; l < modelCfg.numLayers; l++) {
    for (const mod of cfg.targetModules) {
      const key = loraKey(l, mod);
      const shared = `*.${mod}`;
      const pair = weights.get(key) ?? weights.get(shared);
      known.add(weights.has(key) ? key : shared);
      if (!pair) {
        problems.push(`missing ${key}`);
        continue;
      }
      const [out, inF] = projectionDims(modelCfg, mod);
      if (pair.A.length !== r * inF)
        problems.push(`${weights.has(key) ? key : shared} A has ${pair.A.length} values, expected [${r}, ${inF}] = ${r * inF}`);
      if (pair.B.length !== out * r)
        problems.push(`${weights.has(key) ? key : shared} B has ${pair.B.length} values, expected [${out}, ${r}] = ${out * r}`);
      tensors.set(peftTensorName(l, mod, 'A'), { shape: [r, inF], data: pair.A });
      tensors.set(peftTensorName(l, mod, 'B'), { shape: [out, r], data: pair.B });
    }
  }
  for (const k of weights.keys()) if (!known.has(k)) problems.push(`unexpected key ${k}`);
  if (problems.length) {
    throw new Error(
      `peft ${dir}: cannot write adapter (r=${r}, targets ${cfg.targetModules.join(',')}, ` +
        `${modelCfg.numLayers} layers): ${listed([...new Set(problems)])}`,
    );
  }
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, PEFT_WEIGHTS_FILE), tensors, { metadata: { format: 'pt' }, dtype: opts.dtype ?? 'F32' });
  writeFileAtomicSync(path.join(dir, PEFT_CONFIG_FILE), JSON.stringify(peftConfigJson(cfg, baseModelName), null, 2) + '\n');
}
