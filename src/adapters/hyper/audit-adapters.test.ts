// The audit's comparison adapters: the mean adapter is the exact mean of the deltas, diversity
// matches a direct computation, the derangement never maps a repository to itself.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { Tensor, fromArray } from '../../tensor/index.js';
import { validateLlamaConfig } from '../../model/llama/config.js';
import { projectionDims } from '../../model/llama/weights.js';
import { validateLoraConfig } from '../lora/config.js';
import { LoraAdapter } from '../lora/layer.js';
import { adapterDiversity, derangement, meanAdapter } from './audit-adapters.js';

const mc = validateLlamaConfig(
  {
    hiddenSize: 8,
    numLayers: 2,
    numHeads: 2,
    numKvHeads: 1,
    intermediateSize: 12,
    vocabSize: 11,
    maxPositionEmbeddings: 16,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: true,
  },
  't',
);
const lc = validateLoraConfig({ rank: 2, alpha: 4, targetModules: ['q_proj', 'down_proj'], dropout: 0 });

function randomShared(seed: number): LoraAdapter {
  const rng = new Rng(seed);
  const w = new Map<string, { A: Tensor; B: Tensor }>();
  for (const m of lc.targetModules) {
    const [out, inF] = projectionDims(mc, m);
    w.set(`*.${m}`, {
      A: fromArray(
        Array.from({ length: 2 * inF }, () => rng.normal()),
        [2, inF],
      ),
      B: fromArray(
        Array.from({ length: out * 2 }, () => rng.normal()),
        [out, 2],
      ),
    });
  }
  return new LoraAdapter(lc, mc, w);
}

function delta(a: LoraAdapter, key: string): number[] {
  const p = a.weights.get(key)!,
    [out, r] = p.B.shape,
    inF = p.A.shape[1],
    s = a.config.alpha / a.config.rank;
  const d: number[] = [];
  for (let o = 0; o < out; o++)
    for (let i = 0; i < inF; i++) {
      let x = 0;
      for (let k = 0; k < r; k++) x += p.B.data[o * r + k] * p.A.data[k * inF + i];
      d.push(s * x);
    }
  return d;
}

describe('audit adapters', () => {
  const ads = [randomShared(1), randomShared(2), randomShared(3)];

  it('the mean adapter applies the mean of the deltas', () => {
    const mean = meanAdapter(ads, mc);
    expect(mean.config.rank).toBe(6);
    const x = fromArray(
      Array.from({ length: 3 * 8 }, (_, i) => Math.sin(i)),
      [3, 8],
    );
    const [out] = projectionDims(mc, 'q_proj');
    const run = (a: LoraAdapter) => Array.from(a.apply(null, 1, 'q_proj', x, new Tensor(new Float32Array(3 * out), [3, out])).data);
    const got = run(mean);
    const outs = ads.map(run);
    const want = outs[0].map((_, i) => (outs[0][i] + outs[1][i] + outs[2][i]) / 3);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 4));
  });

  it('diversity equals the direct cosine of flattened deltas, raw and mean-centred', () => {
    const flat = ads.map((a) => [...delta(a, '*.q_proj'), ...delta(a, '*.down_proj')]);
    const mean = flat[0].map((_, j) => (flat[0][j] + flat[1][j] + flat[2][j]) / 3);
    const cos = (u: number[], v: number[]) => u.reduce((s, x, i) => s + x * v[i], 0) / Math.hypot(...u) / Math.hypot(...v);
    const pairs = [
      [0, 1],
      [0, 2],
      [1, 2],
    ];
    const raw = pairs.reduce((s, [i, j]) => s + cos(flat[i], flat[j]), 0) / 3;
    const c = flat.map((f) => f.map((x, j) => x - mean[j]));
    const centred = pairs.reduce((s, [i, j]) => s + cos(c[i], c[j]), 0) / 3;
    const d = adapterDiversity(ads, mc);
    expect(d.meanPairwiseCosine).toBeCloseTo(raw, 4);
    expect(d.meanPairwiseCosineCentred).toBeCloseTo(centred, 4);
    const same = adapterDiversity([ads[0], ads[0], ads[0]], mc);
    expect(same.meanPairwiseCosine).toBeCloseTo(1, 5);
    expect(same.meanDeltaShare).toBeCloseTo(1, 5);
  });

  it('the wrong-repository assignment is a derangement', () => {
    const d = derangement(['c', 'a', 'b', 'd']);
    for (const [k, v] of d) expect(v).not.toBe(k);
    expect(new Set(d.values()).size).toBe(4);
    expect(() => derangement(['a'])).toThrow(/at least two/);
  });
});
