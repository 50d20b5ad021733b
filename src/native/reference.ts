// Plain TypeScript reference of every kernel in kernels.ts. Slow on purpose: written for clarity so
// tests can trust it, and generic over Float32Array/Float64Array so gradient checks run in float64.
import type { FloatArray, Kernels } from './kernels.js';

function matmul(
  C: FloatArray,
  A: FloatArray,
  B: FloatArray,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  alpha: number,
  beta: number,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let p = 0; p < K; p++) {
        const a = transA ? A[p * M + i] : A[i * K + p];
        const b = transB ? B[j * K + p] : B[p * N + j];
        acc += a * b;
      }
      C[i * N + j] = alpha * acc + (beta === 0 ? 0 : beta * C[i * N + j]);
    }
  }
}

function rmsnormForward(out: FloatArray, rstd: FloatArray, x: FloatArray, weight: FloatArray, rows: number, C: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[r * C + c] * x[r * C + c];
    const s = 1 / Math.sqrt(ss / C + eps);
    rstd[r] = s;
    for (let c = 0; c < C; c++) out[r * C + c] = x[r * C + c] * s * weight[c];
  }
}

function rmsnormBackward(
  dx: FloatArray,
  dweight: FloatArray | null,
  dout: FloatArray,
  x: FloatArray,
  weight: FloatArray,
  rstd: FloatArray,
  rows: number,
  C: number,
): void {
  for (let r = 0; r < rows; r++) {
    const s = rstd[r];
    // y = x * s * w, s = (mean(x^2)+eps)^-1/2 ; dx = s*w*dy - x * s^3/C * sum(dy*w*x)
    let dot = 0;
    for (let c = 0; c < C; c++) dot += dout[r * C + c] * weight[c] * x[r * C + c];
    for (let c = 0; c < C; c++) {
      const i = r * C + c;
      dx[i] += s * weight[c] * dout[i] - (x[i] * s * s * s * dot) / C;
      if (dweight) dweight[c] += dout[i] * x[i] * s;
    }
  }
}

function ropeApply(
  out: FloatArray,
  x: FloatArray,
  cos: FloatArray,
  sin: FloatArray,
  positions: Int32Array,
  BT: number,
  H: number,
  D: number,
  sign: number,
  accumulate: boolean,
): void {
  const half = D / 2;
  for (let t = 0; t < BT; t++) {
    const pos = positions[t];
    for (let h = 0; h < H; h++) {
      const base = (t * H + h) * D;
      for (let i = 0; i < half; i++) {
        const c = cos[pos * half + i];
        const s = sign * sin[pos * half + i];
        const x1 = x[base + i];
        const x2 = x[base + i + half];
        const y1 = x1 * c - x2 * s;
        const y2 = x2 * c + x1 * s;
        if (accumulate) {
          out[base + i] += y1;
          out[base + i + half] += y2;
        } else {
          out[base + i] = y1;
          out[base + i + half] = y2;
        }
      }
    }
  }
}

function attentionForward(
  out: FloatArray,
  probs: FloatArray | null,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  keyMask: Uint8Array | null,
  B: number,
  Tq: number,
  Tk: number,
  Tkv: number,
  H: number,
  KV: number,
  D: number,
  scale: number,
): void {
  const group = H / KV;
  const row = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      for (let i = 0; i < Tq; i++) {
        const qpos = Tk - Tq + i;
        const qo = ((b * Tq + i) * H + h) * D;
        let max = -Infinity;
        for (let j = 0; j < Tk; j++) {
          const visible = j <= qpos && (!keyMask || keyMask[b * Tk + j] === 1);
          if (!visible) {
            row[j] = -Infinity;
            continue;
          }
          const ko = ((b * Tkv + j) * KV + kh) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * k[ko + d];
          row[j] = dot * scale;
          if (row[j] > max) max = row[j];
        }
        let sum = 0;
        for (let j = 0; j < Tk; j++) {
          row[j] = max === -Infinity ? 0 : Math.exp(row[j] - max);
          sum += row[j];
        }
        for (let j = 0; j < Tk; j++) row[j] = sum > 0 ? row[j] / sum : 0;
        if (probs) for (let j = 0; j < Tk; j++) probs[((b * H + h) * Tq + i) * Tk + j] = row[j];
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < Tk; j++) acc += row[j] * v[((b * Tkv + j) * KV + kh) * D + d];
          out[qo + d] = acc;
        }
      }
    }
  }
}

function attentionBackward(
  dq: FloatArray,
  dk: FloatArray,
  dv: FloatArray,
  dout: FloatArray,
  probs: FloatArray,
  q: FloatArray,
  k: FloatArray,
  v: FloatArray,
  B: number,
  T: number,
  H: number,
  KV: number,
  D: number,
  scale: number,
): void {
  const group = H / KV;
  const dp = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const kh = Math.floor(h / group);
      for (let i = 0; i < T; i++) {
        const qo = ((b * T + i) * H + h) * D;
        const po = ((b * H + h) * T + i) * T;
        // dP = dout . v ; dS = P * (dP - sum(P * dP))
        let pdp = 0;
        for (let j = 0; j < T; j++) {
          const vo = ((b * T + j) * KV + kh) * D;
          let acc = 0;
          for (let d = 0; d < D; d++) acc += dout[qo + d] * v[vo + d];
          dp[j] = acc;
          pdp += probs[po + j] * acc;
        }
        for (let j = 0; j < T; j++) {
          const p = probs[po + j];
          if (p === 0) continue;
          const ko = ((b * T + j) * KV + kh) * D;
          const ds = p * (dp[j] - pdp) * scale;
          for (let d = 0; d < D; d++) {
            dq[qo + d] += ds * k[ko + d];
            dk[ko + d] += ds * q[qo + d];
            dv[ko + d] += p * dout[qo + d];
          }
        }
      }
    }
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function swigluForward(out: FloatArray, gate: FloatArray, up: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

function swigluBackward(dgate: FloatArray, dup: FloatArray, dout: FloatArray, gate: FloatArray, up: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const s = sigmoid(gate[i]);
    const silu = gate[i] * s;
    dup[i] += dout[i] * silu;
    dgate[i] += dout[i] * up[i] * s * (1 + gate[i] * (1 - s));
  }
}

function crossEntropyForward(losses: FloatArray, lse: FloatArray, logits: FloatArray, targets: Int32Array, rows: number, V: number): void {
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, logits[r * V + j]);
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(logits[r * V + j] - max);
    const l = max + Math.log(sum);
    lse[r] = l;
    losses[r] = targets[r] < 0 ? 0 : l - logits[r * V + targets[r]];
  }
}

function crossEntropyBackward(
  dlogits: FloatArray,
  dlosses: FloatArray,
  logits: FloatArray,
  lse: FloatArray,
  targets: Int32Array,
  rows: number,
  V: number,
): void {
  for (let r = 0; r < rows; r++) {
    if (targets[r] < 0) continue;
    const g = dlosses[r];
    for (let j = 0; j < V; j++) {
      const p = Math.exp(logits[r * V + j] - lse[r]);
      dlogits[r * V + j] += g * (p - (j === targets[r] ? 1 : 0));
    }
  }
}

function embeddingForward(out: FloatArray, table: FloatArray, ids: Int32Array, n: number, C: number): void {
  for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) out[i * C + c] = table[ids[i] * C + c];
}

function embeddingBackward(dtable: FloatArray, dout: FloatArray, ids: Int32Array, n: number, C: number): void {
  for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) dtable[ids[i] * C + c] += dout[i * C + c];
}

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse for float64 checks; use a series / continued fraction.
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = x,
      term = x;
    const x2 = x * x;
    for (let n = 1; n < 80; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz) for the tails.
  let f = ax,
    C = ax,
    Dd = 0;
  for (let n = 1; n < 200; n++) {
    const an = n / 2;
    Dd = ax + an * Dd;
    Dd = 1 / Dd;
    C = ax + an / C;
    const delta = C * Dd;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  return x > 0 ? 1 - erfc : erfc - 1;
}

function geluForward(out: FloatArray, x: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = 0.5 * x[i] * (1 + erf(x[i] / Math.SQRT2));
}

function geluBackward(dx: FloatArray, dout: FloatArray, x: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const cdf = 0.5 * (1 + erf(x[i] / Math.SQRT2));
    const pdf = Math.exp(-0.5 * x[i] * x[i]) / Math.sqrt(2 * Math.PI);
    dx[i] += dout[i] * (cdf + x[i] * pdf);
  }
}

function layernormForward(
  out: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  x: FloatArray,
  weight: FloatArray | null,
  bias: FloatArray | null,
  rows: number,
  C: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x[r * C + c];
    m /= C;
    let varSum = 0;
    for (let c = 0; c < C; c++) varSum += (x[r * C + c] - m) ** 2;
    const s = 1 / Math.sqrt(varSum / C + eps);
    mean[r] = m;
    rstd[r] = s;
    for (let c = 0; c < C; c++) {
      const xhat = (x[r * C + c] - m) * s;
      out[r * C + c] = xhat * (weight ? weight[c] : 1) + (bias ? bias[c] : 0);
    }
  }
}

function layernormBackward(
  dx: FloatArray,
  dweight: FloatArray | null,
  dbias: FloatArray | null,
  dout: FloatArray,
  x: FloatArray,
  weight: FloatArray | null,
  mean: FloatArray,
  rstd: FloatArray,
  rows: number,
  C: number,
): void {
  for (let r = 0; r < rows; r++) {
    const m = mean[r],
      s = rstd[r];
    let sumG = 0,
      sumGX = 0;
    for (let c = 0; c < C; c++) {
      const g = dout[r * C + c] * (weight ? weight[c] : 1);
      const xhat = (x[r * C + c] - m) * s;
      sumG += g;
      sumGX += g * xhat;
    }
    for (let c = 0; c < C; c++) {
      const i = r * C + c;
      const xhat = (x[i] - m) * s;
      const g = dout[i] * (weight ? weight[c] : 1);
      dx[i] += s * (g - sumG / C - (xhat * sumGX) / C);
      if (dweight) dweight[c] += dout[i] * xhat;
      if (dbias) dbias[c] += dout[i];
    }
  }
}

function adamw(
  param: FloatArray,
  grad: FloatArray,
  m: FloatArray,
  v: FloatArray,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
): void {
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  for (let i = 0; i < n; i++) {
    m[i] = beta1 * m[i] + (1 - beta1) * grad[i];
    v[i] = beta2 * v[i] + (1 - beta2) * grad[i] * grad[i];
    const mhat = m[i] / bc1;
    const vhat = v[i] / bc2;
    param[i] -= lr * (mhat / (Math.sqrt(vhat) + eps) + weightDecay * param[i]);
  }
}

export const referenceKernels: Kernels = Object.freeze({
  matmul,
  rmsnormForward,
  rmsnormBackward,
  ropeForward: (out, x, cos, sin, positions, BT, H, D) => ropeApply(out, x, cos, sin, positions, BT, H, D, 1, false),
  ropeBackward: (dx, dout, cos, sin, positions, BT, H, D) => ropeApply(dx, dout, cos, sin, positions, BT, H, D, -1, true),
  attentionForward,
  attentionBackward,
  swigluForward,
  swigluBackward,
  crossEntropyForward,
  crossEntropyBackward,
  embeddingForward,
  embeddingBackward,
  add: (out, a, b, n) => {
    for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
  },
  axpy: (y, x, alpha, n) => {
    for (let i = 0; i < n; i++) y[i] += alpha * x[i];
  },
  sumSquares: (x, n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    return s;
  },
  geluForward,
  geluBackward,
  layernormForward,
  layernormBackward,
  adamw,
} satisfies Kernels);
