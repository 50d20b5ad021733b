// A damaged pattern must be refused at load time, naming the field (the library only warns and then
// encodes every text to zero tokens).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../util/repo-root.js';
import { checkPattern } from './check-json.js';
import { tokenizerFromJson } from './tokenizer.js';

const SHIPPED = path.join(repoRoot(), 'models', 'code2lora-base', 'tokenizer.json');
// biome-ignore lint/suspicious/noExplicitAny: the tests mutate arbitrary fields of the parsed JSON
const shipped = (): Record<string, any> => JSON.parse(fs.readFileSync(SHIPPED, 'utf8'));

describe('tokenizer.json checks', () => {
  it('the shipped tokenizer loads and encodes', () => {
    const t = tokenizerFromJson(shipped(), undefined, 'shipped');
    expect(t.encode('assert x == 1').length).toBeGreaterThan(0);
  });

  it('refuses {"Regx": ...} in the shipped pre-tokenizer, naming the field', () => {
    const j = shipped();
    expect(j.pre_tokenizer.pretokenizers[0].type).toBe('Split');
    j.pre_tokenizer.pretokenizers[0].pattern = { Regx: 'x' };
    expect(() => tokenizerFromJson(j, undefined, 'damaged.json')).toThrow(
      'tokenizer: damaged.json: pre_tokenizer.pretokenizers[0].pattern must have exactly one key, "Regex" or "String", got {"Regx":"x"}',
    );
  });

  it('refuses a missing pattern, a non-string Regex and an extra key', () => {
    const j = shipped();
    delete j.pre_tokenizer.pretokenizers[0].pattern;
    expect(() => tokenizerFromJson(j, undefined, 'f')).toThrow(
      /f: pre_tokenizer\.pretokenizers\[0\]\.pattern must be \{"Regex": "\.\.\."\} or \{"String": "\.\.\."\}, got undefined/,
    );
    expect(() => checkPattern({ Regex: 3 }, 'normalizer.pattern', 'f')).toThrow(
      /normalizer\.pattern \.Regex must be a string, got \{"Regex":3\}/,
    );
    expect(() => checkPattern({ Regex: 'a', String: 'b' }, 'p', 'f')).toThrow(/exactly one key/);
    expect(() => checkPattern({ String: '' }, 'p', 'f')).toThrow(/\.String must not be empty/);
    expect(() => checkPattern({ String: ' ' }, 'p', 'f')).not.toThrow();
  });

  it('checks normalizers and decoders too, and malformed sequences', () => {
    const j = shipped();
    j.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Strin: ' ' }, content: '_' }] };
    expect(() => tokenizerFromJson(j, undefined, 'f')).toThrow(/f: normalizer\.normalizers\[1\]\.pattern must have exactly one key/);
    const k = shipped();
    k.decoder = { type: 'Replace', pattern: null, content: ' ' };
    expect(() => tokenizerFromJson(k, undefined, 'f')).toThrow(/f: decoder\.pattern must be/);
    const s = shipped();
    s.pre_tokenizer = { type: 'Sequence', pretokenizers: { type: 'ByteLevel' } };
    expect(() => tokenizerFromJson(s, undefined, 'f')).toThrow(/f: pre_tokenizer\.pretokenizers must be a list/);
    const t = shipped();
    t.pre_tokenizer = 'ByteLevel';
    expect(() => tokenizerFromJson(t, undefined, 'f')).toThrow(/f: pre_tokenizer must be an object with a "type", got "ByteLevel"/);
  });

  it('refuses a well-formed tokenizer that turns text into no tokens', () => {
    const j = shipped();
    j.normalizer = { type: 'Replace', pattern: { Regex: '[\\s\\S]' }, content: '' };
    expect(() => tokenizerFromJson(j, undefined, 'f')).toThrow(/f: encodes "def f\(x\):.*" to no tokens/);
  });
});
