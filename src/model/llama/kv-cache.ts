// Keys and values of past positions for incremental decoding, passed to forward() explicitly.
// Layout per layer: [B, maxT, KV, D], so the attention kernel reads it in place (Tkv = maxT).
import { loadNative } from '../../native/index.js';
import { Tensor, zeros } from '../../tensor/index.js';
import type { LlamaConfig } from './config.js';
import { defaultPositions } from './positions.js';

export class KVCache {
  readonly B: number;
  readonly maxT: number;
  /** positions filled so far (same for every sequence: left padding keeps them aligned) */
  length = 0;
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
  private readonly mask: Uint8Array; // [B, maxT]
  private readonly realCount: Int32Array; // [B] real tokens so far, for positions
  private readonly KV: number;
  private readonly D: number;
  private readonly H: number;

  constructor(config: LlamaConfig, B: number, maxT: number) {
    if (maxT > config.maxPositionEmbeddings) {
      throw new Error(`KVCache: ${maxT} positions exceed max_position_embeddings ${config.maxPositionEmbeddings}`);
    }
    this.B = B;
    this.maxT = maxT;
    this.KV = config.numKvHeads;
    this.D = config.headDim;
    this.H = config.numHeads;
    const n = B * maxT * this.KV * this.D;
    this.keys = Array.from({ length: config.numLayers }, () => new Float32Array(n));
    this.values = Array.from({ length: config.numLayers }, () => new Float32Array(n));
    this.mask = new Uint8Array(B * maxT);
    this.realCount = new Int32Array(B);
  }

  private checkRoom(B: number, T: number): void {
    if (B !== this.B) throw new Error(`KVCache: batch ${B} but the cache holds ${this.B} sequences`);
    if (this.length + T > this.maxT) throw new Error(`KVCache: full (${this.length} + ${T} > ${this.maxT} positions)`);
  }

  /** Positions of the new tokens, continuing each sequence's count of real tokens. */
  positionsFor(mask: Uint8Array, B: number, T: number): Int32Array {
    this.checkRoom(B, T);
    return defaultPositions(mask, B, T, this.realCount);
  }

  /** Records the new tokens' mask; returns the compact key mask [B, length + T]. */
  appendMask(mask: Uint8Array, B: number, T: number): Uint8Array {
    this.checkRoom(B, T);
    const Tk = this.length + T;
    const out = new Uint8Array(B * Tk);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) this.mask[b * this.maxT + this.length + t] = mask[b * T + t];
      out.set(this.mask.subarray(b * this.maxT, b * this.maxT + Tk), b * Tk);
    }
    return out;
  }

  /** Stores k/v of the new tokens for layer l and attends q over every cached position. */
  attend(l: number, q: Tensor, k: Tensor, v: Tensor, keyMask: Uint8Array): Tensor {
    const [B, T] = q.shape;
    const row = this.KV * this.D;
    const kc = this.keys[l],
      vc = this.values[l];
    for (let b = 0; b < B; b++) {
      const dst = (b * this.maxT + this.length) * row;
      kc.set(k.data.subarray(b * T * row, (b + 1) * T * row), dst);
      vc.set(v.data.subarray(b * T * row, (b + 1) * T * row), dst);
    }
    const out = zeros(q.shape, 'f32');
    loadNative().attentionForward(
      out.data,
      null,
      q.data,
      kc,
      vc,
      keyMask,
      B,
      T,
      this.length + T,
      this.maxT,
      this.H,
      this.KV,
      this.D,
      1 / Math.sqrt(this.D),
    );
    return out;
  }

  /** Called once per forward after every layer has stored its keys and values. */
  advance(T: number): void {
    for (let b = 0; b < this.B; b++) {
      for (let t = 0; t < T; t++) this.realCount[b] += this.mask[b * this.maxT + this.length + t];
    }
    this.length += T;
  }
}
