// BufferArena: step-scoped buffers are reused after reset, zeroed when asked, and never handed to
// parameters or to anything made outside withArena.
import { describe, expect, it } from 'vitest';
import { BufferArena, Tape, crossEntropy, empty, linear, scratchArray, withArena, zeros } from './index.js';

describe('BufferArena', () => {
  it('hands the same buffers out again after reset, zeroed when asked', () => {
    const arena = new BufferArena();
    const a = arena.take('f32', 8, false);
    a.fill(3);
    const b = arena.take('f32', 8, true);
    expect(b).not.toBe(a); // two live buffers of one size are distinct
    arena.reset();
    const a2 = arena.take('f32', 8, true);
    expect(a2).toBe(a);
    expect([...a2]).toEqual(new Array(8).fill(0));
    expect(arena.take('f32', 8, false)).toBe(b);
    expect(arena.take('f64', 8, false)).toBeInstanceOf(Float64Array);
    expect(arena.bytes).toBe(8 * 4 * 2 + 8 * 8);
  });

  it('reuses buffers across steps of varying shape and drops size classes no longer used', () => {
    const arena = new BufferArena();
    let largest = 0;
    for (let step = 0; step < 200; step++) {
      arena.reset();
      const n = 1000 + ((step * 7919) % 3000); // padded lengths that change every step
      const bufs = [arena.take('f32', n, true), arena.take('f32', n, false), arena.take('f32', 2 * n, true)];
      expect(bufs.map((b) => b.length)).toEqual([n, n, 2 * n]);
      expect(new Set(bufs.map((b) => b.buffer)).size).toBe(3); // live buffers never share memory
      expect(bufs[0].every((x) => x === 0)).toBe(true);
      bufs[0].fill(1);
      largest = Math.max(largest, arena.bytes);
    }
    // one step needs at most 4 * 4 * 4000 * 1.125 bytes; classes of the last two steps are kept
    expect(largest).toBeLessThanOrEqual(3 * 4 * 4 * 4000 * 1.125);
  });

  it('draws activations and their gradients from the active arena, parameters stay on the heap', () => {
    const arena = new BufferArena();
    const step = (pooled: boolean) => {
      const W = zeros([3, 4], 'f32', { requiresGrad: true });
      W.data.set([0.5, -1, 0.25, 2, 1, 0, -0.5, 0.75, -2, 1.5, 0.5, -0.25]);
      const x = zeros([2, 4]);
      x.data.set([1, 2, -1, 0.5, 0, -1, 3, 1]);
      const tape = new Tape();
      const run = () => {
        const y = linear(tape, x, W);
        const { loss } = crossEntropy(tape, y, new Int32Array([2, 0]));
        tape.backward(loss);
        return y;
      };
      return { W, y: pooled ? withArena(arena, run) : run() };
    };
    const heap = step(false),
      pooled = step(true);
    expect(arena.owns(pooled.y.data)).toBe(true);
    expect(arena.owns(pooled.y.grad!)).toBe(true);
    expect(arena.owns(pooled.W.grad!)).toBe(false); // made inside withArena, but W's data is the heap's
    expect([...pooled.W.grad!]).toEqual([...heap.W.grad!]);
    expect(arena.owns(heap.y.data)).toBe(false);
    expect(arena.owns(empty([2]).data)).toBe(false); // outside withArena: heap
    expect(arena.owns(scratchArray('f32', 2))).toBe(false);
    expect(withArena(arena, () => arena.owns(scratchArray('f32', 2)))).toBe(true);
  });
});
