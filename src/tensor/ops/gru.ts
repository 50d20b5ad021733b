// The GRU cell's pointwise part (PyTorch torch.nn.GRUCell, chunk order r, z, n), fused into one op:
//   r  = sigmoid(gi_r + gh_r)          gi = x W_ih^T + b_ih   [N, 3H]
//   z  = sigmoid(gi_z + gh_z)          gh = h W_hh^T + b_hh   [N, 3H]
//   n  = tanh(gi_n + r * gh_n)
//   h' = (1 - z) * n + z * h                                  [N, H]
// The two matmuls stay ordinary `linear` ops on the tape; this op keeps r, z, n for its backward.
// Letters: N rows (sequences stepped together), H hidden width.
import { Tape, needsGrad } from '../tape.js';
import { Tensor, empty, expectShape, newArray, sameDtype } from '../tensor.js';

function sigmoid(v: number): number {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

/** h' [N, H] from gi [N, 3H], gh [N, 3H] and h [N, H] (see the equations above). */
export function gruGates(tape: Tape | null, gi: Tensor, gh: Tensor, h: Tensor): Tensor {
  if (h.shape.length !== 2) throw new Error(`gruGates: h must be [N,H], got [${h.shape.join(',')}]`);
  const [N, H] = h.shape as [number, number];
  expectShape('gruGates', 'gi', gi, [N, 3 * H]);
  expectShape('gruGates', 'gh', gh, [N, 3 * H]);
  sameDtype('gruGates', gi, gh);
  sameDtype('gruGates', gi, h);
  const out = empty([N, H], h.dtype); // [N, H]
  const r = newArray(h.dtype, N * H),
    z = newArray(h.dtype, N * H),
    n = newArray(h.dtype, N * H); // saved for backward, [N, H] each
  const a = gi.data,
    b = gh.data,
    hp = h.data,
    y = out.data;
  for (let i = 0; i < N; i++) {
    const g = i * 3 * H,
      o = i * H;
    for (let j = 0; j < H; j++) {
      const rj = sigmoid(a[g + j] + b[g + j]);
      const zj = sigmoid(a[g + H + j] + b[g + H + j]);
      const nj = Math.tanh(a[g + 2 * H + j] + rj * b[g + 2 * H + j]);
      r[o + j] = rj;
      z[o + j] = zj;
      n[o + j] = nj;
      y[o + j] = (1 - zj) * nj + zj * hp[o + j];
    }
  }
  if (needsGrad(tape, gi, gh, h)) {
    out.requiresGrad = true;
    tape.record(() => {
      if (!out.grad) return;
      gruGatesBackward(out.grad, { gi, gh, h, r, z, n, N, H });
    });
  }
  return out;
}

interface GruSaved {
  gi: Tensor;
  gh: Tensor;
  h: Tensor;
  r: ArrayLike<number>;
  z: ArrayLike<number>;
  n: ArrayLike<number>;
  N: number;
  H: number;
}

/** Accumulates dgi, dgh, dh from dy = dL/dh' [N, H]. */
function gruGatesBackward(dy: ArrayLike<number>, s: GruSaved): void {
  const { gi, gh, h, r, z, n, N, H } = s;
  const dgi = gi.requiresGrad ? gi.gradBuffer() : null,
    dgh = gh.requiresGrad ? gh.gradBuffer() : null,
    dh = h.requiresGrad ? h.gradBuffer() : null;
  const b = gh.data,
    hp = h.data;
  for (let i = 0; i < N; i++) {
    const g = i * 3 * H,
      o = i * H;
    for (let j = 0; j < H; j++) {
      const d = dy[o + j],
        rj = r[o + j],
        zj = z[o + j],
        nj = n[o + j];
      const dPreN = d * (1 - zj) * (1 - nj * nj); // through n = tanh(.)
      const dPreZ = d * (hp[o + j] - nj) * zj * (1 - zj);
      const dPreR = dPreN * b[g + 2 * H + j] * rj * (1 - rj);
      if (dgi) {
        dgi[g + j] += dPreR;
        dgi[g + H + j] += dPreZ;
        dgi[g + 2 * H + j] += dPreN;
      }
      if (dgh) {
        dgh[g + j] += dPreR;
        dgh[g + H + j] += dPreZ;
        dgh[g + 2 * H + j] += dPreN * rj;
      }
      if (dh) dh[o + j] += d * zj;
    }
  }
}
