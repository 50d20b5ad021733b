import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer, tokenizerFromJson } from './tokenizer.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c2l-tok-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** GPT-2's byte -> printable-char table. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++)
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  const table: string[] = new Array(256);
  bs.forEach((b, i) => {
    table[b] = String.fromCharCode(cs[i]);
  });
  return table;
}

/** A tiny byte-level BPE: the 256 byte symbols (id = byte), three merges, one special token. */
function tinyTokenizerJson(): Record<string, unknown> {
  const b2u = bytesToUnicode();
  const vocab: Record<string, number> = {};
  b2u.forEach((ch, byte) => {
    vocab[ch] = byte;
  });
  const merges: Array<[string, string]> = [
    ['h', 'e'],
    ['he', 'l'],
    [b2u[32], 'w'],
  ];
  merges.forEach(([a, b], i) => {
    vocab[a + b] = 256 + i;
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      { id: 259, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

function writeTok(name: string, json: unknown, config?: unknown): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), typeof json === 'string' ? json : JSON.stringify(json));
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return path.join(dir, 'tokenizer.json');
}

describe('tokenizer wrapper', () => {
  const file = writeTok('tiny', tinyTokenizerJson());
  const tok = loadTokenizer(file);

  it('resolves sizes and special ids', () => {
    expect(tok.vocabSize).toBe(260);
    expect(tok.eosId).toBe(259);
    expect(tok.padId).toBe(259); // no pad token: falls back to eos
    expect(tok.bosId).toBeUndefined();
    expect(tok.source).toBe(file);
    expect(loadTokenizer(path.dirname(file)).vocabSize).toBe(260); // a directory works too
  });

  it('applies merges and does not add special tokens unless asked', () => {
    expect(tok.encode('hello world')).toEqual([257, 108, 111, 258, 111, 114, 108, 100]); // hel l o Ġw o r l d
    expect(tok.encode('')).toEqual([]);
    expect(tok.encode('a<|endoftext|>')).toEqual([97, 259]);
  });

  it('round-trips ASCII exactly (no clean-up of spaces) and multi-byte UTF-8', () => {
    const texts = [
      'def f(x):\n    return x , y . z ! ?\n\n\tpass  ',
      "it 's a test n't , and don 't .",
      'héllo wörld — 日本語 🚀 ∑ é',
      '  leading and trailing  ',
    ];
    for (const t of texts) {
      const ids = tok.encode(t);
      expect(tok.decode(ids), JSON.stringify(t)).toBe(t);
    }
    expect(tok.encode('🚀')).toEqual([0xf0, 0x9f, 0x9a, 0x80]);
    expect(tok.decode(Int32Array.from([104, 105, 259]))).toBe('hi<|endoftext|>');
    expect(tok.decode([104, 105, 259], { skipSpecialTokens: true })).toBe('hi');
    expect(tok.decode([])).toBe('');
  });

  it('errors name the file', () => {
    expect(() => tok.decode([1, 999])).toThrow(
      new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot decode id 999 at position 1`),
    );
    expect(() => tok.decode([1.5])).toThrow(/cannot decode id 1\.5/);
    const bad = writeTok('bad', '{ not json');
    expect(() => loadTokenizer(bad)).toThrow(/bad\/tokenizer\.json is not valid JSON/);
    expect(() => loadTokenizer(path.join(tmp, 'missing.json'))).toThrow(/cannot read tokenizer .*missing\.json/);
    const noModel = writeTok('nomodel', { added_tokens: [] });
    expect(() => loadTokenizer(noModel)).toThrow(/nomodel\/tokenizer\.json: missing "model"/);
    const j = tinyTokenizerJson();
    j.added_tokens = [];
    const noEos = writeTok('noeos', j);
    expect(() => loadTokenizer(noEos)).toThrow(/noeos\/tokenizer\.json: no end-of-sequence token/);
  });

  it('uses tokenizer_config.json special tokens and options', () => {
    const f = writeTok('cfg', tinyTokenizerJson(), {
      eos_token: { content: '<|endoftext|>' },
      pad_token: 'he',
      clean_up_tokenization_spaces: true,
    });
    const t = loadTokenizer(f);
    expect(t.padId).toBe(256);
    expect(t.decode(t.encode('a , b .'))).toBe('a , b .'); // clean-up stays off even when the config asks for it
    const g = writeTok('cfgbad', tinyTokenizerJson(), { eos_token: '</s>' });
    expect(() => loadTokenizer(g)).toThrow(/cfgbad\/tokenizer\.json: eos token "<\/s>" is not in the vocabulary/);
    expect(loadTokenizer(g, { eosToken: 'hel' }).eosId).toBe(257);
    expect(tokenizerFromJson(tinyTokenizerJson(), undefined, 'mem').eosId).toBe(259);
  });
});
