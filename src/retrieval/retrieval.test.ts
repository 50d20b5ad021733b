// BM25 ranking on a hand-made corpus, code tokens, chunking, the own-file exclusion and the budget.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Bm25Index, codeTokens } from './bm25.js';
import { codeChunks, defaultChunkConfig, testChunks } from './chunks.js';
import { RagRetriever, defaultRagConfig } from './rag.js';
import { makeTinyBench } from '../../test/fixtures/tiny-bench.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-rag-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('BM25', () => {
  it('splits identifiers for code search and drops keywords', () => {
    expect(codeTokens('self.assertEqual(parse_url(x), 3)')).toEqual(['assertequal', 'equal', 'parse_url', 'parse', 'url']); // 'assert' is a keyword, '3' one character;
  });

  it('ranks a hand-made corpus as BM25 says', () => {
    const docs = [
      { file: 'a.py', text: 'def parse_url(u):\n    return urlsplit(u)' },
      { file: 'b.py', text: 'def load_config(path):\n    return read(path)' },
      { file: 'c.py', text: 'def parse_url_strict(u):\n    parse_url(u)\n    check(parse_url(u))' },
      { file: 'd.py', text: 'def unrelated():\n    return 42' },
    ];
    const idx = new Bm25Index(docs);
    const hits = idx.search('parse_url', 4);
    // c has the term three times (as parse_url and split), a once: c first, a second; b and d never
    expect(hits.map((h) => docs[h.index].file)).toEqual(['c.py', 'a.py']);
    expect(hits[0].score).toBeGreaterThan(hits[1].score);
    // a rare term outweighs a common one: "config" occurs only in b
    expect(docs[idx.search('config parse', 1)[0].index].file).toBe('b.py');
    // the excluded file never comes back
    expect(idx.search('parse_url', 4, 'c.py').map((h) => docs[h.index].file)).toEqual(['a.py']);
    expect(idx.search('nothing_matches_this', 4)).toEqual([]);
  });

  it('works (by shared terms) on fewer than three documents, and on none', () => {
    const idx = new Bm25Index([
      { file: 'a.py', text: 'def f(): pass' },
      { file: 'b.py', text: 'def g(): return f()' },
    ]);
    expect(idx.search('g', 5).map((h) => h.index)).toEqual([]); // one-letter names are not terms
    expect(new Bm25Index([]).search('anything', 3)).toEqual([]);
  });
});

describe('chunks', () => {
  it('keeps only assertion-bearing test functions, whole', () => {
    const text =
      'import x\n\nclass T:\n    def setUp(self):\n        self.a = 1\n\n    def test_a(self):\n        v = f()\n        self.assertEqual(v, 1)\n\ndef test_b():\n    assert g() == 2\n';
    const c = testChunks('tests/test_x.py', text, defaultChunkConfig());
    expect(c.map((x) => [x.startLine, x.endLine])).toEqual([
      [7, 9],
      [11, 12],
    ]);
    expect(c[0].text).toContain('self.assertEqual(v, 1)');
  });
  it('cuts production code into overlapping line windows', () => {
    const text = Array.from({ length: 50 }, (_, i) => `x${i} = ${i}`).join('\n');
    const c = codeChunks('m.py', text, { ...defaultChunkConfig(), codeLines: 20, codeOverlap: 5 });
    expect(c.map((x) => [x.startLine, x.endLine])).toEqual([
      [1, 20],
      [16, 35],
      [31, 50],
    ]);
  });
});

describe('RAG prompts', () => {
  const bench = makeTinyBench(join(root, 'bench'));
  const task = bench.tasks['ir-test'].find((t) => t.repo === 'alpha' && t.file === 'tests/test_math.py')!;

  it("never retrieves from the target's own file; sibling assertions come from the other test file", () => {
    const r = new RagRetriever(defaultRagConfig('bm25-siblings'), bench.corpusDir, bench.tok);
    const hits = r.retrieve(task, 50);
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((h) => h.chunk.file === 'tests/test_more.py')).toBe(true);
    const code = new RagRetriever(defaultRagConfig('bm25-code'), bench.corpusDir, bench.tok).retrieve(task, 50);
    expect(code.every((h) => h.chunk.file === 'alpha/core.py')).toBe(true);
  });

  it('fits retrieved text and prompt in the budget, retrieval at most its share, prompt end intact', () => {
    const r = new RagRetriever({ ...defaultRagConfig('bm25'), retrievalShare: 0.5 }, bench.corpusDir, bench.tok);
    const p = r.prompt(task, 100);
    expect(p.ids.length).toBeLessThanOrEqual(100);
    expect(p.retrievedTokens).toBeGreaterThan(0);
    expect(p.retrievedTokens).toBeLessThanOrEqual(50);
    const own = bench.tok.encode(task.prefix);
    expect(p.ids.slice(p.retrievedTokens)).toEqual(own.slice(Math.max(0, own.length - (100 - p.retrievedTokens))));
    expect(p.chunks.every((c) => c.file !== task.file)).toBe(true);
  });

  it('an empty repository gives plain prompts; a repository missing from the corpus is named', () => {
    mkdirSync(join(root, 'corpus2', 'projects', 'empty'), { recursive: true });
    writeFileSync(join(root, 'corpus2', 'manifest.json'), JSON.stringify({ projects: [{ name: 'empty', dir: 'projects/empty' }] }));
    const r = new RagRetriever(defaultRagConfig('bm25'), join(root, 'corpus2'), bench.tok);
    const p = r.prompt({ repo: 'empty', file: 'tests/test_a.py', prefix: 'assert f() == ' }, 64);
    expect(p.retrievedTokens).toBe(0);
    expect(p.ids).toEqual(bench.tok.encode('assert f() == '));
    expect(r.emptyRepos.has('empty')).toBe(true);
    expect(() => r.prompt({ repo: 'ghost', file: 't.py', prefix: 'x' }, 64)).toThrow(/ghost is not in .*manifest\.json/);
  });
});
