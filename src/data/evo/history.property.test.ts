// Property test: `git log` output of a repository we do not control. Arbitrary text, or well-formed
// output with bytes changed, parses into commits with hex shas and string paths, or fails with an
// Error naming the repository.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFirstParentLog } from './history.js';

const DIR = '/fuzz/repo';
const sha = (c: string) => c.repeat(40);
const wellFormed = [
  `\x01${sha('b')} ${sha('a')}\x022024-01-02T00:00:00+00:00\n\0`,
  `:100644 100644 ${sha('1')} ${sha('2')} M\0src/x.py\0`,
  `\x01${sha('a')}\x022024-01-01T00:00:00+00:00\n\0`,
  `:000000 100644 ${sha('0')} ${sha('3')} A\0tests/test_x.py\0`,
].join('');

function check(text: string): void {
  let commits;
  try {
    commits = parseFirstParentLog(text, DIR);
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(DIR);
    return;
  }
  for (const c of commits) {
    expect(c.sha).toMatch(/^[0-9a-f]+$/);
    expect(c.parent === null || /^[0-9a-f]+$/.test(c.parent)).toBe(true);
    for (const ch of c.changes) expect(typeof ch.path).toBe('string');
  }
}

describe('git log parsing on untrusted text', () => {
  it('reads well-formed output oldest first', () => {
    const c = parseFirstParentLog(wellFormed, DIR);
    expect(c.map((x) => [x.sha[0], x.parent?.[0] ?? null, x.changes.map((ch) => `${ch.status} ${ch.path}`)])).toEqual([
      ['a', null, ['A tests/test_x.py']],
      ['b', 'a', ['M src/x.py']],
    ]);
  });

  it('arbitrary text, and well-formed output with characters changed or cut', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300, unit: fc.constantFrom('\0', '\x01', '\x02', ':', ' ', '\n', 'a', 'f', '0', 'M', 'x') }),
        check,
      ),
      { numRuns: 300 },
    );
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.nat({ max: wellFormed.length - 1 }), fc.constantFrom('\0', '\x01', '\x02', ':', ' ', 'z', '9')), {
        maxLength: 6,
      }),
      cut: fc.nat({ max: wellFormed.length }),
    });
    fc.assert(
      fc.property(mutation, ({ edits, cut }) => {
        const chars = [...wellFormed];
        for (const [i, ch] of edits) chars[i] = ch;
        const text = chars.join('');
        check(text);
        check(text.slice(0, cut));
      }),
      { numRuns: 300 },
    );
  });
});
