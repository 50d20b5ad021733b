// The adapters a server holds: name -> entry, least recently used first, bounded by count and by
// bytes of tensors. Entries are keyed by content (SHA-256 of the tensors): two names with the same
// tensors share one adapter and count once. Replacing a name swaps the entry in one step; a request
// that already holds the old entry keeps it (it holds the object), so it finishes on the adapter it
// started with, and the old tensors are freed when the last holder lets go.
import type { LoraAdapter } from '../adapters/lora/layer.js';
import { adapterBytes, adapterSha256 } from './adapter-hash.js';
import { ApiError } from './errors.js';

export type AdapterSource = { kind: 'peft'; dir: string } | { kind: 'repo'; dir: string };

export interface AdapterEntry {
  readonly name: string;
  /** SHA-256 of the tensors (adapter-hash.ts) */
  readonly hash: string;
  readonly adapter: LoraAdapter;
  readonly bytes: number;
  readonly source: AdapterSource;
  /** Unix seconds */
  readonly created: number;
}

export interface AdapterStoreLimits {
  maxAdapters: number;
  maxBytes: number;
}

/** Adapter names: letters, digits, '.', '_', '-', at most 64, not starting with a punctuation mark
 *  (':' separates the base model from the adapter in a request's `model`). */
export const ADAPTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkAdapterName(name: unknown): string {
  if (typeof name !== 'string' || !ADAPTER_NAME.test(name)) {
    throw new ApiError(400, `name: expected 1-64 letters, digits, '.', '_' or '-' (first a letter or digit), got ${JSON.stringify(name)}`, {
      param: 'name',
    });
  }
  return name;
}

export interface PutResult {
  entry: AdapterEntry;
  /** the entry this name held before, if any */
  previous: AdapterEntry | null;
  /** names evicted to make room (least recently used first) */
  evicted: string[];
}

export class AdapterStore {
  readonly limits: Readonly<AdapterStoreLimits>;
  /** Map order is recency: first = least recently used. */
  private readonly byName = new Map<string, AdapterEntry>();

  constructor(limits: AdapterStoreLimits) {
    this.limits = Object.freeze({ ...limits });
  }

  /** The entry for `name`, marked as just used; undefined when there is none. */
  get(name: string): AdapterEntry | undefined {
    const e = this.byName.get(name);
    if (e) {
      this.byName.delete(name);
      this.byName.set(name, e);
    }
    return e;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** Registers (or atomically replaces) `name`; evicts least recently used names to stay within the limits. */
  put(name: string, adapter: LoraAdapter, source: AdapterSource): PutResult {
    const hash = adapterSha256(adapter);
    const same = [...this.byName.values()].find((e) => e.hash === hash);
    const entry: AdapterEntry = Object.freeze({
      name,
      hash,
      adapter: same?.adapter ?? adapter,
      bytes: adapterBytes(adapter),
      source: Object.freeze({ ...source }),
      created: Math.floor(Date.now() / 1000),
    });
    if (entry.bytes > this.limits.maxBytes) {
      throw new ApiError(
        400,
        `adapter ${name} holds ${entry.bytes} bytes, over this server's --max-adapter-bytes ${this.limits.maxBytes}`,
        {
          code: 'adapter_too_large',
        },
      );
    }
    const previous = this.byName.get(name) ?? null;
    this.byName.delete(name);
    this.byName.set(name, entry);
    const evicted: string[] = [];
    while (this.byName.size > this.limits.maxAdapters || this.bytes() > this.limits.maxBytes) {
      const oldest = this.byName.keys().next().value as string;
      if (oldest === name) break; // cannot happen: the new entry fits alone and is the most recent
      this.byName.delete(oldest);
      evicted.push(oldest);
    }
    return { entry, previous, evicted };
  }

  /** Frees `name`; false when there was none. */
  delete(name: string): boolean {
    return this.byName.delete(name);
  }

  /** Entries, least recently used first. */
  list(): AdapterEntry[] {
    return [...this.byName.values()];
  }

  get size(): number {
    return this.byName.size;
  }

  /** Bytes of tensors held: each distinct content once. */
  bytes(): number {
    const seen = new Map<string, number>();
    for (const e of this.byName.values()) seen.set(e.hash, e.bytes);
    let n = 0;
    for (const b of seen.values()) n += b;
    return n;
  }
}
