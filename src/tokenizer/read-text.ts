// Reads a text file as strict UTF-8 for tokenizer training and measurement; anything that is not clean
// text is skipped with a reason (the same rule as the corpus layer).
import * as fs from 'node:fs';

export type ReadSkip = 'unreadable' | 'not-utf8' | 'binary' | 'empty';

/** Reads a text file as strict UTF-8 (BOM dropped); null with a reason when it is not clean text. */
export function readUtf8File(file: string): { text: string } | { skip: ReadSkip; detail: string } {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    return { skip: 'unreadable', detail: `${file}: ${(err as Error).message}` };
  }
  if (buf.length === 0) return { skip: 'empty', detail: file };
  if (buf.includes(0)) return { skip: 'binary', detail: `${file}: contains NUL bytes` };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(buf) };
  } catch {
    return { skip: 'not-utf8', detail: `${file}: invalid UTF-8` };
  }
}
