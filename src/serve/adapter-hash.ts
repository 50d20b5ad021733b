// An adapter's identity is its content: SHA-256 over its LoRA config and every tensor (keys sorted,
// shapes and float bytes), so two names for the same tensors share one entry, and a changed adapter
// never passes for the old one in any cache.
import { createHash } from 'node:crypto';
import type { LoraAdapter } from '../adapters/lora/layer.js';

export function adapterSha256(a: LoraAdapter): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ rank: a.config.rank, alpha: a.config.alpha, targetModules: a.config.targetModules }));
  for (const key of [...a.weights.keys()].sort()) {
    const p = a.weights.get(key)!;
    for (const t of [p.A, p.B]) {
      h.update(`\n${key}:${t.data.constructor.name}:[${t.shape.join(',')}]\n`);
      h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  }
  return h.digest('hex');
}

/** Bytes of the adapter's tensors. */
export function adapterBytes(a: LoraAdapter): number {
  let n = 0;
  for (const p of a.weights.values()) n += p.A.data.byteLength + p.B.data.byteLength;
  return n;
}
