// BM25 over code chunks. Ranking is wink-bm25-text-search's (an inverted index, Okapi BM25 with
// k1 = 1.2, b = 0.75); what is ours is the tokenizer for code: identifiers split at underscores and
// camel-case humps (kept whole too), lower-cased, Python keywords and one-letter names dropped.
// (okapibm25 was also looked at and rejected: it counts terms with `new RegExp(term)` over raw text,
// so `a.b` or `f(` break it and `add` also matches inside `address`.)
import bm25 from 'wink-bm25-text-search';

const STOP = new Set(
  (
    'and as assert async await break class continue def del elif else except false finally for from global if import ' +
    'in is lambda none nonlocal not or pass raise return self true try while with yield'
  ).split(' '),
);

/** Code tokens for BM25: `assertEqual(parse_url(x))` -> assertequal, equal, parse_url, parse, url. */
export function codeTokens(text: string): string[] {
  const out: string[] = [];
  for (const word of text.match(/[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?/g) ?? []) {
    const whole = word.toLowerCase();
    if (whole.length > 1 && !STOP.has(whole)) out.push(whole);
    const parts = word.split(/_+|(?<=[a-z0-9])(?=[A-Z])/).filter((p) => p.length > 1);
    if (parts.length > 1)
      for (const p of parts) {
        const l = p.toLowerCase();
        if (!STOP.has(l)) out.push(l);
      }
  }
  return out;
}

export interface Bm25Doc {
  file: string;
  text: string;
}
export interface Bm25Hit {
  index: number;
  score: number;
}

/** A BM25 index over fixed documents; search can leave out every document of one file. */
export class Bm25Index {
  private readonly engine: ReturnType<typeof bm25> | null;

  constructor(
    readonly docs: readonly Bm25Doc[],
    params: { k1: number; b: number } = { k1: 1.2, b: 0.75 },
  ) {
    // wink needs at least three documents to compute document frequencies; with fewer there is
    // nothing to rank and search() returns every document that shares a term with the query.
    if (docs.length < 3) {
      this.engine = null;
      return;
    }
    const e = bm25();
    e.defineConfig({ fldWeights: { body: 1 }, bm25Params: { k1: params.k1, b: params.b, k: 1 }, ovFldNames: ['file'] });
    e.definePrepTasks([codeTokens]);
    docs.forEach((d, i) => e.addDoc({ body: d.text, file: d.file }, i));
    e.consolidate();
    this.engine = e;
  }

  /** Up to k documents by descending score (ties: earlier document first); excludeFile's never. */
  search(query: string, k: number, excludeFile?: string): Bm25Hit[] {
    if (k <= 0 || this.docs.length === 0) return [];
    if (!this.engine) {
      const q = new Set(codeTokens(query));
      return this.docs
        .map((d, index) => ({ index, score: codeTokens(d.text).filter((t) => q.has(t)).length, file: d.file }))
        .filter((h) => h.score > 0 && h.file !== excludeFile)
        .slice(0, k)
        .map(({ index, score }) => ({ index, score }));
    }
    const filter = excludeFile === undefined ? undefined : (f: Record<string, string>) => f.file !== excludeFile;
    const hits = this.engine.search(query, this.docs.length, filter).map(([id, score]) => ({ index: Number(id), score }));
    hits.sort((a, b) => b.score - a.score || a.index - b.index);
    return hits.slice(0, k);
  }
}
