// SHA-256 of bytes as lowercase hex: the content key of cache entries and provenance records.
import { createHash } from 'node:crypto';

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
