// Property test: tokenizer.json is untrusted. The shipped file with one field replaced by an
// arbitrary JSON value either loads into a tokenizer that turns text into tokens, or is refused with
// an Error naming the file. (The damaged-pattern case that the library only warned about was found
// this way; check-json.test.ts pins it.)
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../util/repo-root.js';
import { tokenizerFromJson } from './tokenizer.js';

const SOURCE = 'fuzz/tokenizer.json';
const shipped = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'models', 'code2lora-base', 'tokenizer.json'), 'utf8')) as Record<
  string,
  unknown
>;

/** Paths to every object field of the shipped file except the big vocab/merges tables' entries. */
function fieldPaths(v: unknown, at: string[] = []): string[][] {
  if (typeof v !== 'object' || v === null) return [];
  if (at.at(-1) === 'vocab' || at.at(-1) === 'merges') return [];
  const keys = Array.isArray(v) ? v.map((_, i) => String(i)).slice(0, 3) : Object.keys(v);
  return keys.flatMap((k) => [[...at, k], ...fieldPaths((v as Record<string, unknown>)[k], [...at, k])]);
}
const PATHS = fieldPaths(shipped);

function withField(p: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(shipped);
  let o = copy as Record<string, unknown>;
  for (const k of p.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[p.at(-1) as string] = value;
  return copy;
}

describe('tokenizer.json loading on damaged files', () => {
  it('every field replaced by an arbitrary value: a working tokenizer or a named refusal', () => {
    const silence = console.warn;
    console.warn = () => {}; // the library warns on some damage; the property is what loading does
    try {
      fc.assert(
        fc.property(fc.constantFrom(...PATHS), fc.jsonValue({ maxDepth: 2 }), (p, value) => {
          let tok;
          try {
            tok = tokenizerFromJson(withField(p, value), undefined, SOURCE);
          } catch (err) {
            expect(err).toBeInstanceOf(Error);
            expect((err as Error).message, p.join('.')).toContain(SOURCE);
            return;
          }
          expect(tok.encode('assert x == 1\n').length, p.join('.')).toBeGreaterThan(0);
        }),
        { numRuns: 300 },
      );
    } finally {
      console.warn = silence;
    }
  });
});
