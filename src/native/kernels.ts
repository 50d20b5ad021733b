// The kernel contract shared by the native addon (float32, fast) and the TypeScript reference
// (float32 or float64, slow, used by tests as ground truth).
//
// Conventions, for every kernel:
// - arguments are (outputs, inputs, dims, attributes), as in llm.c;
// - arrays are row-major and contiguous; a typed-array subarray is fine (its offset is honoured);
// - forward kernels overwrite their outputs; backward kernels ACCUMULATE (+=) into gradient buffers,
//   so a tensor used twice simply receives both contributions;
// - integer index arrays are Int32Array; a target of -1 means "ignored";
// - masks are Uint8Array with 1 = real token, 0 = padding.

export type FloatArray = Float32Array | Float64Array;

export interface Kernels {
  /** C[M,N] = alpha * op(A) @ op(B) + beta * C. op(A) is [M,K]: A is stored [K,M] when transA.
   *  op(B) is [K,N]: B is stored [N,K] when transB. */
  matmul(
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
  ): void;

  /** RMSNorm over rows of width C: out = x / rms(x) * weight; rstd[row] = 1/sqrt(mean(x^2)+eps). */
  rmsnormForward(out: FloatArray, rstd: FloatArray, x: FloatArray, weight: FloatArray, rows: number, C: number, eps: number): void;
  rmsnormBackward(
    dx: FloatArray,
    dweight: FloatArray | null,
    dout: FloatArray,
    x: FloatArray,
    weight: FloatArray,
    rstd: FloatArray,
    rows: number,
    C: number,
  ): void;

  /** Rotary embedding, Hugging Face "rotate_half" convention: within each head of width D the pairs
   *  are (i, i + D/2). x and out are [B, T, H, D]; cos/sin are [maxPos, D/2]; positions is [B*T]. */
  ropeForward(
    out: FloatArray,
    x: FloatArray,
    cos: FloatArray,
    sin: FloatArray,
    positions: Int32Array,
    BT: number,
    H: number,
    D: number,
  ): void;
  ropeBackward(
    dx: FloatArray,
    dout: FloatArray,
    cos: FloatArray,
    sin: FloatArray,
    positions: Int32Array,
    BT: number,
    H: number,
    D: number,
  ): void;

  /** Causal grouped-query attention.
   *  q, out: [B, Tq, H, D]; k, v: [B, Tkv, KV, D] of which the first Tk rows per batch are used
   *  (Tkv >= Tk lets a KV cache be passed without copying). Query i sits at absolute position
   *  Tk - Tq + i and sees keys j <= that position whose keyMask[b*Tk + j] is 1 (keyMask: [B, Tk],
   *  null = all valid). A query that sees no key outputs zeros. probs: [B, H, Tq, Tk] softmax
   *  weights saved for backward, or null (inference). Head h uses key/value head h / (H / KV). */
  attentionForward(
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
  ): void;
  /** Backward of attentionForward with Tq = Tk = Tkv = T. */
  attentionBackward(
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
  ): void;

  /** SwiGLU: out = silu(gate) * up, elementwise over n values. */
  swigluForward(out: FloatArray, gate: FloatArray, up: FloatArray, n: number): void;
  swigluBackward(dgate: FloatArray, dup: FloatArray, dout: FloatArray, gate: FloatArray, up: FloatArray, n: number): void;

  /** Softmax cross-entropy per row. losses[row] = lse - logits[target]; lse[row] saved.
   *  Rows with target -1 get loss 0. */
  crossEntropyForward(losses: FloatArray, lse: FloatArray, logits: FloatArray, targets: Int32Array, rows: number, V: number): void;
  /** dlogits[row] += dlosses[row] * (softmax(logits[row]) - onehot(target)); ignored rows untouched. */
  crossEntropyBackward(
    dlogits: FloatArray,
    dlosses: FloatArray,
    logits: FloatArray,
    lse: FloatArray,
    targets: Int32Array,
    rows: number,
    V: number,
  ): void;

  /** out[i, :] = table[ids[i], :]. */
  embeddingForward(out: FloatArray, table: FloatArray, ids: Int32Array, n: number, C: number): void;
  /** dtable[ids[i], :] += dout[i, :]. */
  embeddingBackward(dtable: FloatArray, dout: FloatArray, ids: Int32Array, n: number, C: number): void;

  /** out = a + b. */
  add(out: FloatArray, a: FloatArray, b: FloatArray, n: number): void;
  /** y += alpha * x. */
  axpy(y: FloatArray, x: FloatArray, alpha: number, n: number): void;
  /** sum of x^2 (accumulated in double). */
  sumSquares(x: FloatArray, n: number): number;

  /** GELU, exact erf form (PyTorch nn.GELU default). */
  geluForward(out: FloatArray, x: FloatArray, n: number): void;
  geluBackward(dx: FloatArray, dout: FloatArray, x: FloatArray, n: number): void;

  /** LayerNorm over rows of width C with optional affine weight/bias; mean and rstd saved. */
  layernormForward(
    out: FloatArray,
    mean: FloatArray,
    rstd: FloatArray,
    x: FloatArray,
    weight: FloatArray | null,
    bias: FloatArray | null,
    rows: number,
    C: number,
    eps: number,
  ): void;
  layernormBackward(
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
  ): void;

  /** AdamW step over n parameters (decoupled weight decay, bias-corrected; step counts from 1). */
  adamw(
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
  ): void;
}
