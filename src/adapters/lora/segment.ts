// Several adapters in one batch (segment-wise LoRA, as multi-LoRA servers do): batch sequences
// [b0, b1) carry segment s's adapter, so one forward/backward can mix repositories.
// Dimension letters: B batch sequences, T time, N = B*T token rows, r rank.
// For each projection, segment s covers token rows [b0*T, b1*T) of x [N, in] and y [N, out]:
//   y_s += (alpha_s / r_s) (x_s A_s^T) B_s^T, written into those rows (tensor op segmentLora).
import { Tape, Tensor, needsGrad, segmentLora } from '../../tensor/index.js';
import { kernelsFor, type FloatArray } from '../../native/index.js';
import type { ProjectionAdapter, ProjectionName } from '../../model/llama/model.js';
import type { LoraAdapter, LoraPair } from './layer.js';

export interface LoraSegment {
  /** Number of batch sequences (not tokens) this adapter covers; consecutive segments tile the batch. */
  rows: number;
  /** The segment's adapter; null = these sequences run on the base model alone. */
  adapter: LoraAdapter | null;
}

export class SegmentLoraAdapter implements ProjectionAdapter {
  readonly segments: readonly Readonly<LoraSegment>[];
  /** T: tokens per sequence. */
  readonly T: number;
  /** B: total sequences over all segments. */
  readonly B: number;
  private scratch: FloatArray | null = null;

  constructor(segments: LoraSegment[], T: number) {
    if (segments.length === 0) throw new Error('SegmentLoraAdapter: no segments');
    if (!Number.isSafeInteger(T) || T <= 0) throw new Error(`SegmentLoraAdapter: T must be a positive integer, got ${T}`);
    segments.forEach((s, i) => {
      if (!Number.isSafeInteger(s.rows) || s.rows <= 0) {
        throw new Error(`SegmentLoraAdapter: segment ${i} has rows ${JSON.stringify(s.rows)}, expected a positive integer (sequences)`);
      }
    });
    this.segments = segments.map((s) => Object.freeze({ ...s }));
    this.T = T;
    this.B = segments.reduce((a, s) => a + s.rows, 0);
  }

  apply(tape: Tape | null, layer: number, module: ProjectionName, x: Tensor, y: Tensor): Tensor {
    const inF = x.shape[x.shape.length - 1],
      outF = y.shape[y.shape.length - 1];
    const N = x.size / inF,
      T = this.T;
    if (N !== this.B * T || y.size !== N * outF) {
      throw new Error(
        `SegmentLoraAdapter: ${module} of layer ${layer}: x [${x.shape.join(',')}] and y [${y.shape.join(',')}] ` +
          `do not have B*T = ${this.B}*${T} = ${this.B * T} rows (segments of ${this.segments.map((s) => s.rows).join('+')} sequences)`,
      );
    }
    const pairs = this.segments.map((s) => s.adapter?.pair(layer, module) ?? null);
    if (pairs.every((p) => p === null)) return y;
    const grad = needsGrad(tape, x, y, ...pairs.flatMap((p) => (p ? [p.A, p.B] : [])));
    return grad ? this.applyOnTape(tape!, pairs, x.view([N, inF]), y) : this.applyInPlace(pairs, x, y, inF, outF);
  }

  /** Training: one segmentLora op, each segment's update written into its own rows (no copies). */
  private applyOnTape(tape: Tape, pairs: (LoraPair | null)[], x: Tensor, y: Tensor): Tensor {
    const T = this.T;
    const out = segmentLora(
      tape,
      x,
      y.view([x.shape[0], y.size / x.shape[0]]),
      this.segments.map((s, i) => {
        const p = pairs[i],
          cfg = s.adapter?.config;
        return { rows: s.rows * T, lora: p && cfg ? { A: p.A, B: p.B, scale: cfg.alpha / cfg.rank } : null };
      }),
    ); // [N, out]
    return out.view(y.shape);
  }

  /** Inference: y += scaling (x_s A^T) B^T on each segment's rows, straight into y (no allocations
   *  beyond one reused scratch block). */
  private applyInPlace(pairs: (LoraPair | null)[], x: Tensor, y: Tensor, inF: number, outF: number): Tensor {
    const k = kernelsFor(y.data),
      T = this.T;
    let b0 = 0;
    this.segments.forEach((s, i) => {
      const p = pairs[i];
      if (p) {
        const n = s.rows * T,
          r = p.A.shape[0],
          r0 = b0 * T;
        const xa = this.scratchFor(y.data, n * r);
        k.matmul(xa, x.data.subarray(r0 * inF, (r0 + n) * inF), p.A.data, n, r, inF, false, true, 1, 0);
        const cfg = s.adapter!.config;
        k.matmul(y.data.subarray(r0 * outF, (r0 + n) * outF), xa, p.B.data, n, outF, r, false, true, cfg.alpha / cfg.rank, 1);
      }
      b0 += s.rows;
    });
    return y;
  }

  private scratchFor(like: FloatArray, n: number): FloatArray {
    const ok = this.scratch && this.scratch.constructor === like.constructor && this.scratch.length >= n;
    if (!ok) this.scratch = like instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
    return this.scratch!.subarray(0, n);
  }
}
