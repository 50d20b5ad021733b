// The adapter store: least recently used names go first when the count or the byte bound is
// reached, a use refreshes a name, identical tensors share one entry and count once, an adapter
// bigger than the whole budget is refused, and replacing a name leaves a held entry untouched.
import { describe, expect, it } from 'vitest';
import { validateLlamaConfig } from '../model/llama/config.js';
import { validateLoraConfig } from '../adapters/lora/config.js';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { Rng } from '../util/rng.js';
import { adapterBytes } from './adapter-hash.js';
import { AdapterStore } from './adapter-store.js';
import { ApiError } from './errors.js';
import { StopText } from './stop-text.js';

const cfg = validateLlamaConfig(
  {
    hiddenSize: 8,
    numLayers: 1,
    numHeads: 2,
    numKvHeads: 1,
    intermediateSize: 16,
    vocabSize: 10,
    maxPositionEmbeddings: 16,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
  },
  'adapter-store.test',
);
const lc = validateLoraConfig({ rank: 2, alpha: 4, targetModules: ['q_proj'], dropout: 0 });
const make = (seed: number) => LoraAdapter.init(lc, cfg, new Rng(seed));
const src = { kind: 'peft' as const, dir: '/x' };
const one = adapterBytes(make(0));

describe('AdapterStore', () => {
  it('evicts the least recently used name at the count bound; get() refreshes a name', () => {
    const s = new AdapterStore({ maxAdapters: 2, maxBytes: 1e9 });
    s.put('a', make(1), src);
    s.put('b', make(2), src);
    s.get('a');
    expect(s.put('c', make(3), src).evicted).toEqual(['b']);
    expect(s.list().map((e) => e.name)).toEqual(['a', 'c']);
  });

  it('evicts to stay within the byte bound; identical tensors count once; too big alone is refused', () => {
    const s = new AdapterStore({ maxAdapters: 10, maxBytes: 2 * one });
    const a = s.put('a', make(1), src).entry;
    const twin = s.put('twin', make(1), src).entry;
    expect(twin.hash).toBe(a.hash);
    expect(twin.adapter).toBe(a.adapter);
    expect(s.bytes()).toBe(one);
    s.put('b', make(2), src);
    expect(s.bytes()).toBe(2 * one);
    expect(s.put('c', make(3), src).evicted).toEqual(['a', 'twin']);
    const tiny = new AdapterStore({ maxAdapters: 10, maxBytes: one - 1 });
    expect(() => tiny.put('a', make(1), src)).toThrow(ApiError);
    expect(tiny.size).toBe(0);
  });

  it('replacing a name swaps it in one step; the old entry stays whole for whoever holds it', () => {
    const s = new AdapterStore({ maxAdapters: 4, maxBytes: 1e9 });
    const held = s.put('r', make(1), src).entry;
    const r = s.put('r', make(2), src);
    expect(r.previous).toBe(held);
    expect(s.get('r')!.hash).not.toBe(held.hash);
    expect(held.adapter.weights.size).toBe(1);
    expect(s.delete('r')).toBe(true);
    expect(s.delete('r')).toBe(false);
  });
});

describe('StopText', () => {
  it('holds back a tail that could begin a stop string, then cuts at the stop', () => {
    const st = new StopText(['END']);
    expect(st.update('abc E').delta).toBe('abc ');
    expect(st.update('abc EN').delta).toBe('');
    expect(st.update('abc ENX').delta).toBe('ENX');
    const r = st.update('abc ENX yEND tail');
    expect(r).toEqual({ delta: ' y', stopped: true, text: 'abc ENX y' });
  });

  it('holds back an incomplete character and sends the rest at the end', () => {
    const st = new StopText([]);
    expect(st.update('h\uFFFD').delta).toBe('h');
    expect(st.update('hé').delta).toBe('é');
    expect(st.flush('hé!')).toBe('!');
  });
});
