// Mixed-adapter batch: a batch mixing three adapters gives the same logits, loss and every A/B
// gradient as running each segment alone (float64, tight tolerance), on a tiny random Llama.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../util/rng.js';
import { Tape, Tensor, crossEntropy } from '../../tensor/index.js';
import { validateLlamaConfig } from '../../model/llama/config.js';
import { LlamaModel, type TokenBatch } from '../../model/llama/model.js';
import type { LlamaProjection } from '../../model/llama/weights.js';
import { validateLoraConfig } from './config.js';
import { LoraAdapter } from './layer.js';
import { SegmentLoraAdapter } from './segment.js';

const cfg = validateLlamaConfig(
  {
    hiddenSize: 16,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    intermediateSize: 24,
    vocabSize: 11,
    maxPositionEmbeddings: 32,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
  },
  'segment.test',
);

function model(rng: Rng, dtype: 'f32' | 'f64'): LlamaModel {
  const m = LlamaModel.init(cfg, rng);
  if (dtype === 'f32') return m;
  return new LlamaModel(cfg, new Map([...m.params].map(([k, t]) => [k, new Tensor(Float64Array.from(t.data), t.shape)])));
}

/** A LoRA adapter with random non-zero A and B; `shared` keys it "*.module" like the hypernetwork. */
function adapter(rng: Rng, modules: LlamaProjection[], rank: number, dtype: 'f32' | 'f64', shared = false): LoraAdapter {
  const lc = validateLoraConfig({ rank, alpha: 2 * rank + 1, targetModules: modules, dropout: 0 });
  const init = LoraAdapter.init(lc, cfg, rng);
  const w = new Map<string, { A: Tensor; B: Tensor }>();
  for (const [k, p] of init.weights) {
    if (shared && !k.startsWith('0.')) continue;
    const key = shared ? `*.${k.slice(2)}` : k;
    const mk = (t: Tensor, s: number) => {
      const data = dtype === 'f64' ? new Float64Array(t.size) : new Float32Array(t.size);
      for (let i = 0; i < t.size; i++) data[i] = rng.normal() * s;
      return new Tensor(data, t.shape, { requiresGrad: true, name: `${key}.${t.name.endsWith('A') ? 'A' : 'B'}` });
    };
    w.set(key, { A: mk(p.A, 0.3), B: mk(p.B, 0.3) });
  }
  return new LoraAdapter(lc, cfg, w);
}

const ALL: LlamaProjection[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const T = 4;
const rowsPer = [2, 1, 2];

function makeBatch(rng: Rng): { batch: TokenBatch; targets: Int32Array } {
  const B = rowsPer.reduce((a, b) => a + b, 0);
  const ids = new Int32Array(B * T),
    mask = new Uint8Array(B * T).fill(1),
    targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    ids[i] = rng.int(cfg.vocabSize);
    targets[i] = rng.int(cfg.vocabSize);
  }
  mask[1 * T] = 0;
  targets[1 * T] = -1; // left padding in sequence 1
  mask[3 * T] = 0;
  mask[3 * T + 1] = 0;
  targets[3 * T] = -1;
  targets[3 * T + 1] = -1;
  return { batch: { ids, B, T, mask }, targets };
}

/** The sub-batch of sequences [b0, b1). */
function sub(batch: TokenBatch, targets: Int32Array, b0: number, b1: number): { batch: TokenBatch; targets: Int32Array } {
  return {
    batch: { ids: batch.ids.slice(b0 * T, b1 * T), B: b1 - b0, T, mask: batch.mask!.slice(b0 * T, b1 * T) },
    targets: targets.slice(b0 * T, b1 * T),
  };
}

describe('SegmentLoraAdapter', () => {
  it('three adapters in one batch = each segment alone: logits, loss and every A/B gradient (float64)', () => {
    const rng = new Rng(21);
    const m = model(rng, 'f64');
    const adapters = [adapter(rng, ALL, 2, 'f64'), adapter(rng, ['q_proj', 'down_proj'], 3, 'f64'), adapter(rng, ALL, 2, 'f64', true)];
    const { batch, targets } = makeBatch(rng);
    const seg = new SegmentLoraAdapter(
      adapters.map((a, i) => ({ rows: rowsPer[i], adapter: a })),
      T,
    );

    const tape = new Tape();
    const { logits } = m.forward(tape, batch, { adapter: seg });
    const mixed = crossEntropy(tape, logits, targets);
    tape.backward(mixed.loss);
    const mixedGrads = adapters.map((a) => a.parameters().map((p) => Float64Array.from(p.grad!)));
    for (const a of adapters) for (const p of a.parameters()) p.grad = null;

    // Alone: the mixed loss is sum_s count_s * loss_s / total, so seed each segment with count_s / total.
    let b0 = 0,
      weighted = 0,
      maxErr = 0;
    adapters.forEach((a, s) => {
      const part = sub(batch, targets, b0, b0 + rowsPer[s]);
      const t2 = new Tape();
      const out = m.forward(t2, part.batch, { adapter: a });
      for (let i = 0; i < out.logits.size; i++) {
        maxErr = Math.max(maxErr, Math.abs(out.logits.data[i] - logits.data[b0 * T * cfg.vocabSize + i]));
      }
      const ce = crossEntropy(t2, out.logits, part.targets);
      weighted += (ce.loss.data[0] * ce.count) / mixed.count;
      t2.backward(ce.loss, ce.count / mixed.count);
      a.parameters().forEach((p, j) => {
        const g = mixedGrads[s][j];
        for (let i = 0; i < g.length; i++) {
          expect(Math.abs(g[i] - p.grad![i]), `${p.name}[${i}]`).toBeLessThan(1e-12 + 1e-10 * Math.abs(g[i]));
        }
      });
      b0 += rowsPer[s];
    });
    expect(maxErr).toBeLessThan(1e-12);
    expect(Math.abs(weighted - mixed.loss.data[0])).toBeLessThan(1e-13);
  });

  it('inference (in place, native float32, segments at row offsets) matches each segment alone; a null segment is the base model', () => {
    const rng = new Rng(22);
    const m = model(rng, 'f32');
    const adapters = [adapter(rng, ALL, 2, 'f32'), null, adapter(rng, ['v_proj', 'up_proj'], 4, 'f32')];
    const { batch } = makeBatch(rng);
    const seg = new SegmentLoraAdapter(
      adapters.map((a, i) => ({ rows: rowsPer[i], adapter: a })),
      T,
    );
    const mixed = m.forward(null, batch, { adapter: seg }).logits;
    let b0 = 0;
    adapters.forEach((a, s) => {
      const part = sub(batch, new Int32Array(batch.B * T), b0, b0 + rowsPer[s]);
      const alone = m.forward(null, part.batch, { adapter: a }).logits;
      for (let i = 0; i < alone.size; i++) {
        expect(Math.abs(alone.data[i] - mixed.data[b0 * T * cfg.vocabSize + i])).toBeLessThan(1e-5);
      }
      b0 += rowsPer[s];
    });
    // the adapters did change something
    const base = m.forward(null, batch).logits;
    let diff = 0;
    for (let i = 0; i < base.size; i++) diff = Math.max(diff, Math.abs(base.data[i] - mixed.data[i]));
    expect(diff).toBeGreaterThan(1e-3);
  });

  it('refuses segments that do not tile the batch, and bad rows', () => {
    const rng = new Rng(23);
    const m = model(rng, 'f32');
    const a = adapter(rng, ALL, 2, 'f32');
    const { batch } = makeBatch(rng);
    const seg = new SegmentLoraAdapter(
      [
        { rows: 2, adapter: a },
        { rows: 2, adapter: a },
      ],
      T,
    );
    expect(() => m.forward(null, batch, { adapter: seg })).toThrow(
      /SegmentLoraAdapter: q_proj of layer 0: .*B\*T = 4\*4 = 16 rows \(segments of 2\+2 sequences\)/,
    );
    expect(() => new SegmentLoraAdapter([{ rows: 0, adapter: a }], T)).toThrow(/segment 0 has rows 0/);
    expect(() => new SegmentLoraAdapter([], T)).toThrow(/no segments/);
  });
});
