// Central finite differences in float64 against the tape's analytic gradients.
import { Tape } from './tape.js';
import { Tensor, zeros } from './tensor.js';
import { linear } from './ops/linear.js';
import { Rng } from '../util/rng.js';

export interface GradCheckResult {
  maxRelError: number;
  worst: string;
  checked: number;
}

/** Reduces any output to a scalar with fixed random weights, so every output element matters. */
function weightedSum(tape: Tape | null, out: Tensor, w: Tensor): Tensor {
  return linear(tape, out.view([1, out.size]), w);
}

/** f builds the op from float64 inputs; up to `samples` coordinates per input are perturbed. */
export function gradCheck(
  f: (tape: Tape | null, inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: { eps?: number; samples?: number; seed?: number } = {},
): GradCheckResult {
  const eps = opts.eps ?? 1e-6;
  const rng = new Rng(opts.seed ?? 7);
  for (const t of inputs) if (t.dtype !== 'f64') throw new Error('gradCheck: inputs must be float64');
  const probe = f(null, inputs);
  const w = zeros([1, probe.size], 'f64');
  for (let i = 0; i < w.size; i++) w.data[i] = rng.normal();
  const lossAt = () => weightedSum(null, f(null, inputs), w).data[0];

  const tape = new Tape();
  for (const t of inputs) t.grad = null;
  const loss = weightedSum(tape, f(tape, inputs), w);
  tape.backward(loss);

  let maxRel = 0,
    worst = '',
    checked = 0;
  inputs.forEach((t, ti) => {
    if (!t.requiresGrad) return;
    const n = t.size;
    const idx = n <= (opts.samples ?? 24) ? [...Array(n).keys()] : Array.from({ length: opts.samples ?? 24 }, () => rng.int(n));
    for (const i of idx) {
      const orig = t.data[i];
      t.data[i] = orig + eps;
      const lp = lossAt();
      t.data[i] = orig - eps;
      const lm = lossAt();
      t.data[i] = orig;
      const num = (lp - lm) / (2 * eps);
      const ana = t.grad ? t.grad[i] : 0;
      // Relative error, with a floor so tiny gradients are judged by absolute error (FD noise ~1e-10).
      const rel = Math.abs(num - ana) / Math.max(1e-3, Math.abs(num) + Math.abs(ana));
      checked++;
      if (rel > maxRel) {
        maxRel = rel;
        worst = `input ${ti}${t.name ? ` (${t.name})` : ''}[${i}]: analytic ${ana}, numeric ${num}`;
      }
    }
  });
  return { maxRelError: maxRel, worst, checked };
}

export function randomTensor(
  shape: number[],
  rng: Rng,
  opts: { scale?: number; requiresGrad?: boolean; name?: string; dtype?: 'f32' | 'f64' } = {},
): Tensor {
  const t = zeros(shape, opts.dtype ?? 'f64', { requiresGrad: opts.requiresGrad ?? true, name: opts.name });
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * (opts.scale ?? 1);
  return t;
}
