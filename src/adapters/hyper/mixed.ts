// From head outputs to the model: one LoraAdapter per repository, or one SegmentLoraAdapter for a
// batch whose sequences are grouped by repository (repository i owns rows[i] consecutive sequences).
import type { LlamaConfig } from '../../model/llama/config.js';
import { LoraAdapter } from '../lora/layer.js';
import { SegmentLoraAdapter } from '../lora/segment.js';
import type { HyperHead, HyperOutput } from './head.js';

/** The LoraAdapter of each repository's output (A/B stay on the head's tape). */
export function hyperAdapters(head: HyperHead, outputs: HyperOutput[], modelConfig: LlamaConfig = head.modelConfig): LoraAdapter[] {
  const cfg = head.loraConfig();
  return outputs.map((o) => new LoraAdapter(cfg, modelConfig, o));
}

/** A mixed batch: repository i's adapter on its rows[i] sequences of length T, in order. */
export function hyperSegmentAdapter(head: HyperHead, outputs: HyperOutput[], rows: readonly number[], T: number): SegmentLoraAdapter {
  if (rows.length !== outputs.length) {
    throw new Error(`hyperSegmentAdapter: ${outputs.length} repository outputs but ${rows.length} row counts`);
  }
  const adapters = hyperAdapters(head, outputs);
  return new SegmentLoraAdapter(
    adapters.map((adapter, i) => ({ rows: rows[i], adapter })),
    T,
  );
}
