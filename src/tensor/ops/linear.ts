// linear: y[N, out] = alpha * x[N, in] @ W[out, in]^T (Hugging Face weight layout, no bias).
import { kernelsFor } from '../../native/index.js';
import { Tape, needsGrad } from '../tape.js';
import { Tensor, empty, sameDtype } from '../tensor.js';

export function linear(tape: Tape | null, x: Tensor, W: Tensor, alpha = 1): Tensor {
  const inF = x.shape[x.shape.length - 1];
  const N = x.size / inF;
  const [outF, wIn] = W.shape;
  if (W.shape.length !== 2 || wIn !== inF) {
    throw new Error(`linear: x [${x.shape.join(',')}] does not fit weight ${W.name || ''} [${W.shape.join(',')}]`);
  }
  sameDtype('linear', x, W);
  const k = kernelsFor(x.data);
  const y = empty([...x.shape.slice(0, -1), outF], x.dtype);
  k.matmul(y.data, x.data, W.data, N, outF, inF, false, true, alpha, 0);
  if (needsGrad(tape, x, W)) {
    y.requiresGrad = true;
    tape.record(() => {
      if (!y.grad) return;
      // dx[N,in] += alpha * dy[N,out] @ W[out,in] ; dW[out,in] += alpha * dy^T[out,N] @ x[N,in]
      if (x.requiresGrad) k.matmul(x.gradBuffer(), y.grad, W.data, N, inF, outF, false, false, alpha, 1);
      if (W.requiresGrad) k.matmul(W.gradBuffer(), y.grad, x.data, outF, inF, N, true, false, alpha, 1);
    });
  }
  return y;
}

/** Batched matmul over the leading dim: C[b] = A[b] @ B[b] with optional transposes. */
export function matmul(tape: Tape | null, A: Tensor, B: Tensor, transA = false, transB = false): Tensor {
  if (A.shape.length !== 2 || B.shape.length !== 2) {
    throw new Error(`matmul: expects 2-D tensors, got [${A.shape.join(',')}] and [${B.shape.join(',')}]`);
  }
  sameDtype('matmul', A, B);
  const [M, Ka] = transA ? [A.shape[1], A.shape[0]] : [A.shape[0], A.shape[1]];
  const [Kb, N] = transB ? [B.shape[1], B.shape[0]] : [B.shape[0], B.shape[1]];
  if (Ka !== Kb)
    throw new Error(`matmul: inner dims differ, a=[${A.shape.join(',')}]${transA ? 'T' : ''} b=[${B.shape.join(',')}]${transB ? 'T' : ''}`);
  const K = Ka;
  const k = kernelsFor(A.data);
  const C = empty([M, N], A.dtype);
  k.matmul(C.data, A.data, B.data, M, N, K, transA, transB, 1, 0);
  if (needsGrad(tape, A, B)) {
    C.requiresGrad = true;
    tape.record(() => {
      if (!C.grad) return;
      const dC = C.grad;
      if (A.requiresGrad) {
        // op(A) = dC @ op(B)^T ; if transA, dA = (dC @ op(B)^T)^T = op(B) @ dC^T
        if (!transA) k.matmul(A.gradBuffer(), dC, B.data, M, K, N, false, !transB, 1, 1);
        else k.matmul(A.gradBuffer(), B.data, dC, K, M, N, transB, true, 1, 1);
      }
      if (B.requiresGrad) {
        // op(B) grad = op(A)^T @ dC ; if transB, dB = dC^T @ op(A)
        if (!transB) k.matmul(B.gradBuffer(), A.data, dC, K, N, M, !transA, false, 1, 1);
        else k.matmul(B.gradBuffer(), dC, A.data, N, K, M, true, transA, 1, 1);
      }
    });
  }
  return C;
}
