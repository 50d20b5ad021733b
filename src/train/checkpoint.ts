// Training state on disk: parameters, AdamW moments, step and RNG states in one safetensors file,
// written atomically, so a killed run resumes bit-exactly from its last checkpoint.
import { existsSync } from 'node:fs';
import { readSafetensors, writeSafetensors, floatData, type TensorToWrite } from '../formats/safetensors.js';
import type { AdamW } from '../nn/optim/adamw.js';
import type { Tensor } from '../tensor/index.js';

export interface TrainingProgress {
  /** optimiser updates done */
  step: number;
  /** named RNG states (e.g. data order), see Rng.getState */
  rng: Record<string, number[]>;
  /** anything else the caller needs to resume (epoch cursor, best validation loss, ...) */
  extra: Record<string, unknown>;
}

export function saveTrainingState(path: string, params: ReadonlyMap<string, Tensor>, opt: AdamW | null, progress: TrainingProgress): void {
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, p] of params) {
    tensors.set(`param/${name}`, { shape: p.shape, data: p.data as Float32Array });
    if (opt) {
      tensors.set(`adam_m/${name}`, { shape: p.shape, data: opt.m.get(name) as Float32Array });
      tensors.set(`adam_v/${name}`, { shape: p.shape, data: opt.v.get(name) as Float32Array });
    }
  }
  writeSafetensors(path, tensors, {
    metadata: { kind: 'code2lora-training-state', progress: JSON.stringify({ ...progress, optStep: opt?.step ?? 0 }) },
  });
}

/** Restores params (and moments) in place; every tensor must be present with the same shape. */
export function loadTrainingState(path: string, params: ReadonlyMap<string, Tensor>, opt: AdamW | null): TrainingProgress {
  if (!existsSync(path)) throw new Error(`training state ${path} does not exist`);
  const file = readSafetensors(path);
  if (file.metadata.kind !== 'code2lora-training-state') throw new Error(`${path} is not a code2lora training state`);
  const restore = (key: string, dst: Float32Array | Float64Array, shape: readonly number[]) => {
    const t = file.tensors.get(key);
    if (!t) throw new Error(`training state ${path}: missing tensor ${key}`);
    if (t.shape.join() !== shape.join())
      throw new Error(`training state ${path}: ${key} has shape [${t.shape.join(',')}], expected [${shape.join(',')}]`);
    dst.set(floatData(t, key, path));
  };
  for (const [name, p] of params) {
    restore(`param/${name}`, p.data, p.shape);
    if (opt) {
      restore(`adam_m/${name}`, opt.m.get(name)!, p.shape);
      restore(`adam_v/${name}`, opt.v.get(name)!, p.shape);
    }
  }
  let parsed: TrainingProgress & { optStep: number };
  try {
    parsed = JSON.parse(file.metadata.progress ?? '');
  } catch {
    throw new Error(`training state ${path}: progress metadata is not valid JSON`);
  }
  if (opt) opt.step = parsed.optStep;
  return { step: parsed.step, rng: parsed.rng, extra: parsed.extra };
}
