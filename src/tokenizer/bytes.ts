// A tokenizer-free byte codec (ids 0..255 are bytes, 256 is end-of-text), for demos and tests that
// must run before a trained tokenizer exists.
export const BYTE_EOS = 256;
export const BYTE_VOCAB = 257;

export function encodeBytes(text: string): number[] {
  return [...Buffer.from(text, 'utf8')];
}

export function decodeBytes(ids: number[]): string {
  return Buffer.from(ids.filter((i) => i < 256)).toString('utf8');
}
