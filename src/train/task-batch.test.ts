import { describe, expect, it } from 'vitest';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';
import { encodeTaskSequence, taskBatch } from './task-batch.js';

// One id per character (a..z -> 2..27, space -> 28); 0 = EOS, 1 = pad.
const tok = {
  source: 'chars',
  vocabSize: 29,
  eosId: 0,
  padId: 1,
  encode: (s: string) => [...s].map((c) => (c === ' ' ? 28 : c.charCodeAt(0) - 95)),
  decode: () => '',
  tokenToId: () => undefined,
  idToToken: () => undefined,
} as unknown as TextTokenizer;

describe('task sequences', () => {
  it('cuts the prefix from the left, never the target', () => {
    const s = encodeTaskSequence(tok, { prefix: 'abcdef', target: 'xy' }, 6)!;
    expect(s.ids).toEqual([...tok.encode('def'), ...tok.encode('xy'), 0]);
    expect(s.targetStart).toBe(3);
  });
  it('refuses a target that cannot fit', () => {
    expect(encodeTaskSequence(tok, { prefix: 'a', target: 'xyz' }, 4)).toBeNull();
    expect(encodeTaskSequence(tok, { prefix: 'a', target: '' }, 8)).toBeNull();
  });
  it('takes the loss on target tokens and EOS only, with left padding', () => {
    const a = encodeTaskSequence(tok, { prefix: 'ab', target: 'c' }, 16)!; // a b c EOS
    const b = encodeTaskSequence(tok, { prefix: 'abcd', target: 'ef' }, 16)!; // a b c d e f EOS
    const { batch, targets, targetTokens, tokens } = taskBatch([a, b], 1);
    expect(batch.T).toBe(7);
    expect(Array.from(batch.mask!.slice(0, 7))).toEqual([0, 0, 0, 1, 1, 1, 1]);
    // row 0: positions 3..6 hold a b c EOS; position 4 (b) predicts c, 5 (c) predicts EOS
    expect(Array.from(targets.slice(0, 7))).toEqual([-1, -1, -1, -1, tok.encode('c')[0], 0, -1]);
    // row 1: d predicts e, e predicts f, f predicts EOS
    expect(Array.from(targets.slice(7))).toEqual([-1, -1, -1, tok.encode('e')[0], tok.encode('f')[0], 0, -1]);
    expect(targetTokens).toBe(5);
    expect(tokens).toBe(11);
  });
});
