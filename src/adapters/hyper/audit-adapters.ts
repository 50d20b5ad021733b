// The adapters the conditioning audit (METHOD.md section 4) compares with each repository's own:
// the exact mean of a set of generated adapters, and how diverse the generated adapters are.
// Letters: R repositories, r rank, in/out projection widths.
import { kernelsFor } from '../../native/index.js';
import { Tensor } from '../../tensor/index.js';
import type { LlamaConfig } from '../../model/llama/config.js';
import { projectionDims } from '../../model/llama/weights.js';
import type { ProjectionName } from '../../model/llama/model.js';
import { validateLoraConfig } from '../lora/config.js';
import { LoraAdapter, type LoraPair } from '../lora/layer.js';

/** The exact mean of R adapters' weight deltas, as one LoRA of rank R*r: A = [A_1; ...; A_R],
 *  B = [B_1 ... B_R] / R, so (alpha/r) B A = mean_i (alpha/r) B_i A_i. Averaging A and B separately
 *  would not be the mean adapter (the product of means is not the mean of products). */
export function meanAdapter(adapters: readonly LoraAdapter[], modelConfig: LlamaConfig): LoraAdapter {
  if (adapters.length === 0) throw new Error('meanAdapter: no adapters');
  const cfg = adapters[0].config;
  for (const a of adapters) {
    if (a.config.rank !== cfg.rank || a.config.alpha !== cfg.alpha || a.weights.size !== adapters[0].weights.size) {
      throw new Error('meanAdapter: adapters differ in rank, alpha or modules');
    }
  }
  const R = adapters.length,
    r = cfg.rank;
  const weights = new Map<string, LoraPair>();
  for (const key of adapters[0].weights.keys()) {
    const module = key.slice(key.indexOf('.') + 1) as ProjectionName;
    const [out, inF] = projectionDims(modelConfig, module);
    const A = new Float32Array(R * r * inF),
      B = new Float32Array(out * R * r);
    adapters.forEach((ad, i) => {
      const p = ad.weights.get(key);
      if (!p) throw new Error(`meanAdapter: adapter ${i} has no ${key}`);
      A.set(p.A.data, i * r * inF); // rows i*r .. i*r+r-1
      for (let o = 0; o < out; o++) for (let j = 0; j < r; j++) B[o * R * r + i * r + j] = p.B.data[o * r + j] / R;
    });
    weights.set(key, { A: new Tensor(A, [R * r, inF]), B: new Tensor(B, [out, R * r]) });
  }
  // scaling alpha'/r' must stay alpha/r
  const meanCfg = validateLoraConfig({ rank: R * r, alpha: cfg.alpha * R, targetModules: [...cfg.targetModules], dropout: 0 });
  return new LoraAdapter(meanCfg, modelConfig, weights);
}

export interface AdapterDiversity {
  /** mean pairwise cosine of the flattened deltas (alpha/r) B A over every module (and layer) */
  meanPairwiseCosine: number;
  /** the same after subtracting the mean delta (what distinguishes repositories) */
  meanPairwiseCosineCentred: number;
  /** norm of the mean delta over the mean norm of the deltas (1 = all identical) */
  meanDeltaShare: number;
  adapters: number;
}

/** Diversity of generated adapters from their Gram matrix, one module at a time (no R x |delta| matrix). */
export function adapterDiversity(adapters: readonly LoraAdapter[], modelConfig: LlamaConfig): AdapterDiversity {
  const R = adapters.length;
  if (R < 2) throw new Error('adapterDiversity: need at least two adapters');
  const G = new Float64Array(R * R);
  for (const key of adapters[0].weights.keys()) {
    const module = key.slice(key.indexOf('.') + 1) as ProjectionName;
    const [out, inF] = projectionDims(modelConfig, module);
    const D = new Float32Array(R * out * inF);
    adapters.forEach((ad, i) => {
      const p = ad.weights.get(key)!;
      const s = ad.config.alpha / ad.config.rank;
      // delta_i [out, in] = s * B [out, r] @ A [r, in]
      kernelsFor(D).matmul(
        D.subarray(i * out * inF, (i + 1) * out * inF),
        p.B.data,
        p.A.data,
        out,
        inF,
        ad.config.rank,
        false,
        false,
        s,
        0,
      );
    });
    const g = new Float32Array(R * R);
    kernelsFor(D).matmul(g, D, D, R, R, out * inF, false, true, 1, 0); // [R, R] += D D^T
    for (let i = 0; i < R * R; i++) G[i] += g[i];
  }
  const rowMean = Array.from({ length: R }, (_, i) => {
    let s = 0;
    for (let j = 0; j < R; j++) s += G[i * R + j];
    return s / R;
  });
  const grand = rowMean.reduce((a, b) => a + b, 0) / R;
  const centred = (i: number, j: number) => G[i * R + j] - rowMean[i] - rowMean[j] + grand;
  let cos = 0,
    cosC = 0,
    pairs = 0;
  for (let i = 0; i < R; i++)
    for (let j = i + 1; j < R; j++) {
      cos += G[i * R + j] / Math.sqrt(G[i * R + i] * G[j * R + j]);
      cosC += centred(i, j) / Math.sqrt(Math.max(centred(i, i) * centred(j, j), 1e-300));
      pairs++;
    }
  const meanNorm = Array.from({ length: R }, (_, i) => Math.sqrt(G[i * R + i])).reduce((a, b) => a + b, 0) / R;
  return {
    meanPairwiseCosine: cos / pairs,
    meanPairwiseCosineCentred: cosC / pairs,
    meanDeltaShare: Math.sqrt(Math.max(grand, 0)) / meanNorm,
    adapters: R,
  };
}

/** A fixed derangement of sorted names: each repository gets the next one's adapter (cyclic). */
export function derangement(names: readonly string[]): Map<string, string> {
  if (names.length < 2) throw new Error('derangement: need at least two repositories');
  const sorted = [...names].sort();
  return new Map(sorted.map((n, i) => [n, sorted[(i + 1) % sorted.length]]));
}
