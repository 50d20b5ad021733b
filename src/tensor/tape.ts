// Reverse-mode autograd: ops push a backward closure; backward() runs them newest first.
// The tape is an explicit argument of every op (null = inference, nothing recorded).
import type { Tensor } from './tensor.js';

export class Tape {
  private readonly nodes: Array<() => void> = [];

  /** Called by ops; only when some input needs a gradient. */
  record(backward: () => void): void {
    this.nodes.push(backward);
  }

  get length(): number {
    return this.nodes.length;
  }

  /** Seeds d(loss)/d(loss) = seed (1 by default; 1/accumulation for gradient accumulation) and
   *  runs every recorded backward, then forgets them. */
  backward(loss: Tensor, seed = 1): void {
    if (loss.size !== 1) throw new Error(`backward: loss must be a scalar, got [${loss.shape.join(',')}]`);
    if (!loss.requiresGrad) throw new Error('backward: loss does not depend on any tensor that requires a gradient');
    loss.gradBuffer()[0] += seed;
    for (let i = this.nodes.length - 1; i >= 0; i--) this.nodes[i]();
    this.nodes.length = 0;
  }

  /** Drops recorded work without running it (e.g. after an evaluation pass). */
  clear(): void {
    this.nodes.length = 0;
  }
}

/** True when an op on these inputs must record a backward pass. */
export function needsGrad(tape: Tape | null, ...inputs: Array<Tensor | null | undefined>): tape is Tape {
  return tape !== null && inputs.some((t) => t?.requiresGrad === true);
}
