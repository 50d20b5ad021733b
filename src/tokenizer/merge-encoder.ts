// Reference encoder (trainer side): applies learnt merges directly, for checking @huggingface/tokenizers
// against them.
import { compileSplitPattern, forEachPreToken, makeSpecialRe, splitSpecials, type BpeModel } from './bpe-train.js';

/** An encoder built once from a model; encode(text) gives the ids @huggingface/tokenizers should give. */
export function makeMergeEncoder(model: BpeModel): (text: string) => number[] {
  const cfg = model.config;
  const S = cfg.specialTokens.length;
  const V = model.vocab.length;
  const rank = new Map<number, number>(); // pair key -> rank
  const result = new Map<number, number>(); // pair key -> merged id
  model.merges.forEach(([a, b, c], i) => {
    const k = a * V + b;
    if (!rank.has(k)) {
      rank.set(k, i);
      result.set(k, c);
    }
  });
  const re = compileSplitPattern(cfg.pattern);
  const specialRe = makeSpecialRe(cfg.specialTokens);
  const cache = new Map<string, number[]>();

  const encodeWord = (piece: string): number[] => {
    const hit = cache.get(piece);
    if (hit) return hit;
    const buf = Buffer.from(piece, 'utf8');
    let ids = Array.from(buf, (x) => S + x);
    for (;;) {
      let best = Infinity,
        bestKey = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = rank.get(ids[i]! * V + ids[i + 1]!);
        if (r !== undefined && r < best) {
          best = r;
          bestKey = ids[i]! * V + ids[i + 1]!;
        }
      }
      if (bestKey < 0) break;
      const a = Math.floor(bestKey / V),
        b = bestKey - a * V,
        c = result.get(bestKey)!;
      const next: number[] = [];
      for (let i = 0; i < ids.length; ) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          next.push(c);
          i += 2;
        } else next.push(ids[i++]!);
      }
      ids = next;
    }
    if (cache.size < 100_000) cache.set(piece, ids);
    return ids;
  };

  return (text: string): number[] => {
    const out: number[] = [];
    splitSpecials(
      text,
      cfg.specialTokens,
      specialRe,
      (t) =>
        forEachPreToken(t, re, (p) => {
          for (const id of encodeWord(p)) out.push(id);
        }),
      (id) => out.push(id),
    );
    return out;
  };
}

/** One-shot reference encode (builds the encoder each call; use makeMergeEncoder for many texts). */
export function encodeWithMerges(model: BpeModel, text: string): number[] {
  return makeMergeEncoder(model)(text);
}
