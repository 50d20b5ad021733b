// A batch mixing adapters (and the base model) gives every row the same greedy tokens as serving
// that row alone, and alone matches the reference generator (generateGreedy); sampling with a seed
// does not depend on what else shares the batch; stop strings and per-row lengths hold.
import { describe, expect, it } from 'vitest';
import { validateLlamaConfig } from '../model/llama/config.js';
import { LlamaModel } from '../model/llama/model.js';
import { generateGreedy } from '../model/llama/generate.js';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { validateLoraConfig } from '../adapters/lora/config.js';
import { Tensor } from '../tensor/index.js';
import { Rng } from '../util/rng.js';
import { decodeBatch, type DecodeContext, type DecodeRow } from './batch-decode.js';
import { adapterSha256 } from './adapter-hash.js';

const cfg = validateLlamaConfig(
  {
    hiddenSize: 32,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    intermediateSize: 48,
    vocabSize: 40,
    maxPositionEmbeddings: 64,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
  },
  'batch-decode.test',
);
const model = LlamaModel.init(cfg, new Rng(1));
const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join('');
const ctx: DecodeContext = { model, decode, eosId: 39, padId: 0 };

/** A random adapter with non-zero B (a fresh one would change nothing), scaled to move the argmax. */
function randomAdapter(seed: number, rank: number): LoraAdapter {
  const rng = new Rng(seed);
  const lc = validateLoraConfig({
    rank,
    alpha: 2 * rank,
    targetModules: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'],
    dropout: 0,
  });
  const init = LoraAdapter.init(lc, cfg, rng);
  const w = new Map<string, { A: Tensor; B: Tensor }>();
  for (const [k, p] of init.weights) {
    const mk = (t: Tensor) =>
      new Tensor(
        Float32Array.from({ length: t.size }, () => rng.normal() * 0.5),
        t.shape,
      );
    w.set(k, { A: mk(p.A), B: mk(p.B) });
  }
  return new LoraAdapter(lc, cfg, w);
}

const adapters = [randomAdapter(11, 4), randomAdapter(12, 8), null];
const prompts = [
  [1, 2, 3, 4, 5],
  [7, 8],
  [9, 10, 11, 12, 13, 14, 15],
  [3, 3, 3],
  [20, 21, 22, 23],
];

function row(ids: number[], adapter: LoraAdapter | null, maxTokens: number, extra: Partial<DecodeRow> = {}): DecodeRow {
  return {
    ids,
    adapter,
    adapterKey: adapter ? adapterSha256(adapter) : '',
    maxTokens,
    sampling: { temperature: 0, topP: 1 },
    rng: null,
    stops: [],
    ...extra,
  };
}

describe('decodeBatch', () => {
  it('a mixed-adapter batch gives each row the greedy tokens it gets alone, and alone equals generateGreedy', async () => {
    // rows interleave adapters so the batch must reorder them into segments
    const rows = prompts.map((p, i) => row(p, adapters[i % 3], 6 + i));
    const batched = await decodeBatch(ctx, rows);
    for (let i = 0; i < rows.length; i++) {
      const [alone] = await decodeBatch(ctx, [rows[i]]);
      expect(batched[i]).toEqual(alone);
      const [ref] = generateGreedy(model, [rows[i].ids as number[]], {
        maxNewTokens: rows[i].maxTokens,
        eosId: 39,
        decode,
        adapter: rows[i].adapter,
      });
      expect(alone.text).toBe(ref.text);
      expect(alone.tokens).toBe(ref.ids.length);
      expect(batched[i].tokens).toBeLessThanOrEqual(rows[i].maxTokens);
    }
    // the adapters matter: the same prompt under each of the three gives three different completions
    const same = await decodeBatch(
      ctx,
      adapters.map((a) => row(prompts[0], a, 8)),
    );
    expect(new Set(same.map((o) => o.text)).size).toBe(3);
  });

  it('a seeded sample does not depend on the rest of the batch', async () => {
    const sampled = (seed: number) => row(prompts[1], adapters[0], 10, { sampling: { temperature: 0.9, topP: 0.95 }, rng: new Rng(seed) });
    const [alone] = await decodeBatch(ctx, [sampled(5)]);
    const mixed = await decodeBatch(ctx, [row(prompts[2], adapters[1], 4), sampled(5), row(prompts[0], null, 12)]);
    expect(mixed[1]).toEqual(alone);
    const [other] = await decodeBatch(ctx, [sampled(6)]);
    const [greedy] = await decodeBatch(ctx, [row(prompts[1], adapters[0], 10)]);
    // not greedy in disguise: another seed or temperature 0 changes the text (seeds picked once; deterministic)
    expect(other.text === alone.text && greedy.text === alone.text).toBe(false);
  });

  it('a stop string ends its row (cut from the text), the others run on; streamed pieces add up to the text', async () => {
    const [free] = await decodeBatch(ctx, [row(prompts[0], adapters[0], 12)]);
    const stop = free.text.slice(3, 5);
    const pieces: string[] = [];
    const [cut, other] = await decodeBatch(ctx, [
      row(prompts[0], adapters[0], 12, { stops: [stop], onText: (d) => pieces.push(d) }),
      row(prompts[2], adapters[1], 12),
    ]);
    expect(cut.finish).toBe('stop');
    expect(cut.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
    expect(pieces.join('')).toBe(cut.text);
    expect(other.tokens).toBe(12);
    expect(other.finish).toBe('length');
  });

  it('an aborted row stops at the next token without disturbing the rest', async () => {
    const ac = new AbortController();
    ac.abort('timeout');
    const [a, b] = await decodeBatch(ctx, [row(prompts[0], null, 8, { signal: ac.signal }), row(prompts[1], adapters[0], 8)]);
    const [bAlone] = await decodeBatch(ctx, [row(prompts[1], adapters[0], 8)]);
    expect(a.finish).toBe('aborted');
    expect(b).toEqual(bAlone);
  });
});
