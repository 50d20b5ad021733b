import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '@huggingface/tokenizers';
import { encodeWithMerges, makeMergeEncoder } from './merge-encoder.js';
import { writeTokenizerDir } from './tokenizer-json.js';
import { measureTokenizer, trainTokenizerFromFiles } from './train-files.js';
import {
  BYTE_TO_UNICODE,
  EOS_TOKEN,
  PAD_TOKEN,
  SPLIT_PATTERNS,
  WordCounter,
  compileSplitPattern,
  trainBpe,
  validateBpeTrainConfig,
  type BpeModel,
  type BpeTrainConfig,
} from './bpe-train.js';
import { loadTokenizer } from './tokenizer.js';

// A few KB of ordinary Python: classes, indentation, strings, numbers, comments, decorators.
const TRAIN_TEXTS = [
  `import os
import sys
from typing import Dict, List, Optional


class Config:
    """Holds settings for the run."""

    def __init__(self, name: str, size: int = 128) -> None:
        self.name = name
        self.size = size
        self.items: List[int] = []

    def add(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"negative value: {value}")
        self.items.append(value)

    def total(self) -> int:
        result = 0
        for item in self.items:
            result += item
        return result
`,
  `def parse_args(argv: Optional[List[str]] = None) -> Dict[str, str]:
    args: Dict[str, str] = {}
    for arg in argv or sys.argv[1:]:
        if arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            args[key] = value
        else:
            raise SystemExit(f"unexpected argument {arg!r}")
    return args


def main() -> int:
    args = parse_args()
    config = Config(args.get("name", "default"), int(args.get("size", "128")))
    for i in range(10):
        config.add(i * 2)
    print(config.total())
    return 0


if __name__ == "__main__":
    sys.exit(main())
`,
  `# Utilities for reading files.
import json


def read_json(path):
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\\n")


class Cache(dict):
    def __missing__(self, key):
        value = self[key] = read_json(key)
        return value

    @property
    def size(self):
        return len(self)

    @staticmethod
    def empty():
        return Cache()
`,
  `def fib(n):
\tif n < 2:
\t\treturn n
\treturn fib(n - 1) + fib(n - 2)

values = [fib(i) for i in range(20)]
assert values[10] == 55
assert sum(values) == 10945
`,
];

// Strings never seen in training: ASCII code, multi-byte UTF-8, whitespace oddities, specials.
const HELD_OUT = [
  'def square(x):\n    return x * x\n',
  'class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n',
  'x = {"a": [1, 2, 3], \'b\': (4.5e-3, 0x1F)}\n',
  'print("héllo wörld")  # Latin-1 range',
  'name = "日本語のテキスト"  # CJK',
  'emoji = "🎉👩‍💻🏳️‍🌈"  # ZWJ sequences and variation selectors',
  'combining = "e\u0301 a\u0308 n\u0303"  # combining marks',
  'mixed = "Ελληνικά русский עברית العربية"',
  '\t\tindented_with_tabs()\n\t \tmixed()\n',
  'line one\r\nline two\r\n\r\n    indented after crlf\r\n',
  '        \n\n\n            trailing spaces   \n',
  'a' + ' '.repeat(40) + 'b',
  '\u00a0nbsp\u2003em space\u2028line sep\u0085nel\ufeffbom',
  '',
  ' ',
  '\n',
  'if x:\n    pass<|endoftext|>def y():\n    return<|pad|>1',
  'def f(): return 1<|endoftext|><|endoftext|>',
  "it's don't 's 't self.__dict__['x']",
  '0123456789 1234567 3.14159 1_000_000',
];

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'bpe-train-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function train(partial: Partial<BpeTrainConfig> = {}, texts: readonly string[] = TRAIN_TEXTS): BpeModel {
  const cfg = validateBpeTrainConfig({ vocabSize: 450, ...partial });
  const counter = new WordCounter(cfg);
  for (const t of texts) counter.add(t);
  return trainBpe(counter).model;
}

function readDir(dir: string): Tokenizer {
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  return new Tokenizer(json, cfg);
}

/** The obvious O(merges x corpus) trainer: recount every pair before each merge. */
function naiveMerges(cfg: Readonly<BpeTrainConfig>, texts: readonly string[]): [number, number, number][] {
  const counter = new WordCounter(cfg);
  for (const t of texts) counter.add(t);
  const S = cfg.specialTokens.length;
  const vocab = [...cfg.specialTokens, ...BYTE_TO_UNICODE];
  const ids = new Map(vocab.map((t, i) => [t, i]));
  const words = [...counter.counts].map(([w, c]) => ({ syms: [...Buffer.from(w, 'utf8')].map((b) => S + b), c }));
  const merges: [number, number, number][] = [];
  const done = new Set<string>();
  while (vocab.length < cfg.vocabSize) {
    const counts = new Map<string, number>();
    for (const w of words)
      for (let i = 0; i + 1 < w.syms.length; i++) {
        const k = `${w.syms[i]},${w.syms[i + 1]}`;
        counts.set(k, (counts.get(k) ?? 0) + w.c);
      }
    let best: [number, number] | null = null,
      bestC = 0;
    for (const [k, c] of counts) {
      const [a, b] = k.split(',').map(Number) as [number, number];
      if (c > bestC || (c === bestC && best !== null && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestC = c;
      }
    }
    if (best === null || bestC < cfg.minFrequency) break;
    const [a, b] = best;
    const str = vocab[a]! + vocab[b]!;
    let c = ids.get(str);
    if (c === undefined) {
      c = vocab.length;
      vocab.push(str);
      ids.set(str, c);
    }
    if (!done.has(`${a},${b}`)) {
      done.add(`${a},${b}`);
      merges.push([a, b, c]);
    }
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.syms.length; ) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          out.push(c);
          i += 2;
        } else out.push(w.syms[i++]!);
      }
      w.syms = out;
    }
  }
  return merges;
}

describe('bpe-train', () => {
  const model = train();
  const dir = tmpDir();
  writeTokenizerDir(dir, model);
  const lib = readDir(dir);
  const ref = makeMergeEncoder(model);

  it('lays out ids: specials, 256 bytes, then merges', () => {
    expect(model.vocab[0]).toBe(EOS_TOKEN);
    expect(model.vocab[1]).toBe(PAD_TOKEN);
    expect(model.vocab.slice(2, 258)).toEqual(BYTE_TO_UNICODE);
    expect(model.vocab.length).toBe(450);
    expect(new Set(model.vocab).size).toBe(model.vocab.length);
    for (const [a, b, c] of model.merges) expect(model.vocab[c]).toBe(model.vocab[a]! + model.vocab[b]!);
  });

  it('learns the same merges as a brute-force recounting trainer', () => {
    for (const partial of [{ vocabSize: 600 }, { vocabSize: 400, pattern: SPLIT_PATTERNS.llama3 }, { vocabSize: 500, minFrequency: 1 }]) {
      const cfg = validateBpeTrainConfig(partial);
      const m = train(partial);
      expect(m.merges.map((x) => [...x])).toEqual(naiveMerges(cfg, TRAIN_TEXTS));
    }
    // Overlapping and repeated pairs, where local count updates are easiest to get wrong.
    const odd = ['aaaa aaa aa ababab abab aab abba baab', '        x', '\n\n\n\n  \n\n', '====-=-=-===='];
    const partial = { vocabSize: 300, minFrequency: 1 };
    expect(train(partial, odd).merges.map((x) => [...x])).toEqual(naiveMerges(validateBpeTrainConfig(partial), odd));
  });

  it('writes a tokenizer.json that @huggingface/tokenizers and loadTokenizer accept', () => {
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
    expect(json.model.type).toBe('BPE');
    expect(json.model.byte_fallback).toBe(false);
    expect(json.normalizer).toBeNull();
    expect(json.pre_tokenizer.pretokenizers.map((p: { type: string }) => p.type)).toEqual(['Split', 'ByteLevel']);
    expect(json.pre_tokenizer.pretokenizers[0].behavior).toBe('Isolated');
    expect(json.decoder.type).toBe('ByteLevel');
    expect(json.model.merges.length).toBe(model.merges.length);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
    expect(cfg.clean_up_tokenization_spaces).toBe(false);
    const tok = loadTokenizer(dir);
    expect(tok.vocabSize).toBe(450);
    expect(tok.eosId).toBe(0);
    expect(tok.padId).toBe(1);
    expect(tok.bosId).toBeUndefined();
  });

  it('encodes held-out text exactly as the trainer-side reference encoder', () => {
    for (const s of [...HELD_OUT, ...TRAIN_TEXTS]) {
      expect(lib.encode(s, { add_special_tokens: false }).ids, JSON.stringify(s)).toEqual(ref(s));
    }
    expect(encodeWithMerges(model, HELD_OUT[0]!)).toEqual(ref(HELD_OUT[0]!));
  });

  it('splits text exactly as the library pre-tokenizer does', () => {
    const pre = lib.pre_tokenizer!;
    const re = compileSplitPattern(model.config.pattern);
    for (const s of HELD_OUT.filter((x) => !x.includes('<|'))) {
      const ours = [...s.matchAll(re)].map((m) => [...Buffer.from(m[0], 'utf8')].map((b) => BYTE_TO_UNICODE[b]).join(''));
      expect(pre.pre_tokenize_text(s), JSON.stringify(s)).toEqual(ours);
    }
  });

  it('round-trips every held-out string exactly (decode(encode(s)) === s)', () => {
    const tok = loadTokenizer(dir);
    for (const s of HELD_OUT) {
      expect(tok.decode(tok.encode(s)), JSON.stringify(s)).toBe(s);
      if (s !== '')
        expect(
          lib.decode(lib.encode(s, { add_special_tokens: false }).ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }),
        ).toBe(s);
    }
  });

  it('maps special tokens to their ids and never splits them', () => {
    const tok = loadTokenizer(dir);
    expect(tok.encode(EOS_TOKEN)).toEqual([0]);
    expect(tok.encode(PAD_TOKEN)).toEqual([1]);
    const ids = tok.encode('x = 1<|endoftext|>y = 2');
    expect(ids.filter((i) => i === 0)).toHaveLength(1);
    expect(tok.decode(ids)).toBe('x = 1<|endoftext|>y = 2');
    expect(tok.decode([0, 1])).toBe('<|endoftext|><|pad|>');
  });

  it('keeps indentation runs as pre-tokens, so a newline plus indent becomes one token', () => {
    const re = compileSplitPattern(SPLIT_PATTERNS.code);
    const pieces = (s: string) => [...s.matchAll(re)].map((m) => m[0]);
    expect(pieces('x:\n        return self.y')).toEqual(['x', ':', '\n       ', ' return', ' self', '.y']);
    expect(pieces("'self'")).toEqual(["'self", "'"]); // no English contractions
    const nl8 = '\n' + ' '.repeat(7);
    const id = lib.token_to_id([...Buffer.from(nl8)].map((b) => BYTE_TO_UNICODE[b]).join(''));
    expect(id).toBeDefined();
    expect(ref('        result += item\n'.replace(/^/, '\n'))).toContain(id);
  });

  it('is deterministic: same input gives identical bytes, whatever the order of texts or files', () => {
    const again = tmpDir();
    writeTokenizerDir(again, train({}, [...TRAIN_TEXTS].reverse()));
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
      expect(fs.readFileSync(path.join(again, f))).toEqual(fs.readFileSync(path.join(dir, f)));
    }
    const src = tmpDir();
    const files = TRAIN_TEXTS.map((t, i) => {
      const f = path.join(src, `m${i}.py`);
      fs.writeFileSync(f, t);
      return f;
    });
    const a = tmpDir(),
      b = tmpDir();
    trainTokenizerFromFiles(files, { config: { vocabSize: 450 }, outDir: a });
    trainTokenizerFromFiles([...files].reverse(), { config: { vocabSize: 450 }, outDir: b });
    expect(fs.readFileSync(path.join(a, 'tokenizer.json'))).toEqual(fs.readFileSync(path.join(b, 'tokenizer.json')));
    expect(fs.readFileSync(path.join(a, 'tokenizer.json'))).toEqual(fs.readFileSync(path.join(dir, 'tokenizer.json')));
  });

  it('skips files that are not UTF-8; byte ids that form invalid UTF-8 decode to U+FFFD', () => {
    const src = tmpDir();
    const good = path.join(src, 'good.py'),
      bad = path.join(src, 'bad.py'),
      nul = path.join(src, 'nul.py');
    fs.writeFileSync(good, TRAIN_TEXTS.join('\n'));
    fs.writeFileSync(bad, Buffer.from([0x78, 0x20, 0x3d, 0x20, 0xff, 0xfe, 0x0a])); // x = \xff\xfe
    fs.writeFileSync(nul, Buffer.from('x = 1\0\n'));
    const { report } = trainTokenizerFromFiles([good, bad, nul], { config: { vocabSize: 300 } });
    expect(report.files).toBe(1);
    expect(report.skipped['not-utf8']).toBe(1);
    expect(report.skipped.binary).toBe(1);
    const tok = loadTokenizer(dir);
    expect(tok.decode([2 + 0xe2, 2 + 0x41])).toBe('\ufffdA'); // a lone UTF-8 lead byte, then "A"
  });

  it('measures characters and bytes per token', () => {
    const src = tmpDir();
    const f = path.join(src, 'h.py');
    fs.writeFileSync(f, HELD_OUT.join('\n'));
    const tok = loadTokenizer(dir);
    const r = measureTokenizer((s) => tok.encode(s), [f]);
    const text = HELD_OUT.join('\n');
    expect(r.chars).toBe([...text].length);
    expect(r.bytes).toBe(Buffer.byteLength(text));
    expect(r.tokens).toBe(tok.encode(text).length);
    expect(r.charsPerToken).toBeCloseTo(r.chars / r.tokens, 12);
    expect(r.charsPerToken).toBeGreaterThan(1);
  });

  it('rejects bad configs with a message naming the problem', () => {
    expect(() => validateBpeTrainConfig({ vocabSize: 100 })).toThrow(/vocabSize must be an integer in \[258/);
    expect(() => validateBpeTrainConfig({ vocabSize: 1000, specialTokens: ['<a>', '<a>'] })).toThrow(/duplicate special/);
    expect(() => validateBpeTrainConfig({ pattern: '(' })).toThrow(/cannot compile split pattern/);
    expect(() => validateBpeTrainConfig({ vocab: 10 } as unknown as Partial<BpeTrainConfig>)).toThrow(/unknown config key "vocab"/);
    expect(() => trainTokenizerFromFiles([], {})).toThrow(/no readable UTF-8 files/);
  });

  it('stops early when no pair is frequent enough', () => {
    const counter = new WordCounter(validateBpeTrainConfig({ vocabSize: 5000 }));
    counter.add('abc abd');
    const { model: m, stats } = trainBpe(counter);
    expect(stats.stoppedBy).toBe('min-frequency');
    expect(m.vocab.length).toBe(258 + 1); // only "ab" occurs twice
  });
});
