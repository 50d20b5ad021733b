// Causal grouped-query attention with a left-padding key mask and a KV-cache form (kernels.ts).
//
// Forward, one task per (batch, head); backward, one task per (batch, kv head), so the heads that
// share K/V never write dk/dv concurrently. Tasks run on the pool; everything inside a task is
// serial. Query rows go in blocks of kQB: a block ending at row i1 can only see keys
// j < Tk - Tq + i1, so every product below is limited to that causal prefix (~53% of the square
// for T = 256, kQB = 16).
//   forward:  S = scale Q K^T (written straight into probs, or a scratch block when probs is
//             null), masked softmax in place, out = P V.
//   backward: dP = dO V^T, dS = P (dP - rowsum(P dP)) scale (P read from probs, nothing is
//             recomputed), dq += dS K, dk += dS^T Q, dv += P^T dO.
// The products are small (D = 32, T = 256) and strided (q/k/v rows are [.., H or KV, D]), where a
// BLIS call costs ~3 us of set-up and reaches ~55 GFLOP/s; two register-blocked micro-kernels
// written with GCC vector extensions (16 floats with AVX-512, 8 with AVX2, 4 otherwise) do them
// instead: gemm_abt (C = A B^T with B pre-transposed, vectorised along keys) and gemm_ab
// (C (+)= A B, vectorised along D). They need D to be a multiple of the vector width; other head
// sizes take the same algorithm through serial BLIS calls (attention_*_blis below).
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

namespace {

constexpr int64_t kQB = 16;  // query rows per causal block

#if defined(__AVX512F__)
constexpr int kW = 16;
#elif defined(__AVX2__)
constexpr int kW = 8;
#else
constexpr int kW = 4;
#endif
typedef float vf __attribute__((vector_size(kW * sizeof(float))));

inline vf vload(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void vstore(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
inline vf vbroadcast(float s) { return s - vf{}; }  // s - 0 folds to a plain broadcast

/** Bt[d * ldbt + j] = B[j * ldb + d] for j < n, d < D. */
void transpose(float* Bt, int64_t ldbt, const float* B, int64_t ldb, int64_t n, int64_t D) {
  for (int64_t j = 0; j < n; j++)
    for (int64_t d = 0; d < D; d++) Bt[d * ldbt + j] = B[j * ldb + d];
}

/** Dst[j * D + d] = B[j * ldb + d]: a head's rows made contiguous. Rows of q/k/v/dout are 1 KB
 *  apart at the target shapes, which maps them onto a few L1 sets; packed, they stream. */
void pack_rows(float* dst, const float* B, int64_t ldb, int64_t n, int64_t D) {
  for (int64_t j = 0; j < n; j++) std::memcpy(dst + j * D, B + j * ldb, sizeof(float) * D);
}

/** Leading dimension for a transposed [D, n] block: n rounded up to 16 floats, plus 16, so that
 *  consecutive rows do not alias in the L1 cache. */
inline int64_t padded_ld(int64_t n) { return ((n + 15) / 16) * 16 + 16; }

/** C[i][j] = alpha * sum_d A[i][d] * Bt[d][j] for R rows (R = 4 or 1) and j < n. */
template <int R>
inline void abt_rows(int64_t n, int64_t D, float alpha, const float* A, int64_t lda, const float* Bt,
  int64_t ldbt, float* C, int64_t ldc) {
  int64_t j = 0;
  for (; j + 2 * kW <= n; j += 2 * kW) {
    vf acc0[R], acc1[R];
    for (int r = 0; r < R; r++) acc0[r] = acc1[r] = vf{};
    for (int64_t d = 0; d < D; d++) {
      const vf b0 = vload(Bt + d * ldbt + j), b1 = vload(Bt + d * ldbt + j + kW);
      for (int r = 0; r < R; r++) {
        const vf a = vbroadcast(A[r * lda + d]);
        acc0[r] += a * b0;
        acc1[r] += a * b1;
      }
    }
    for (int r = 0; r < R; r++) {
      vstore(C + r * ldc + j, acc0[r] * alpha);
      vstore(C + r * ldc + j + kW, acc1[r] * alpha);
    }
  }
  for (; j + kW <= n; j += kW) {
    vf acc[R];
    for (int r = 0; r < R; r++) acc[r] = vf{};
    for (int64_t d = 0; d < D; d++) {
      const vf b = vload(Bt + d * ldbt + j);
      for (int r = 0; r < R; r++) acc[r] += vbroadcast(A[r * lda + d]) * b;
    }
    for (int r = 0; r < R; r++) vstore(C + r * ldc + j, acc[r] * alpha);
  }
  for (; j < n; j++) {
    for (int r = 0; r < R; r++) {
      float s = 0.0f;
      for (int64_t d = 0; d < D; d++) s += A[r * lda + d] * Bt[d * ldbt + j];
      C[r * ldc + j] = s * alpha;
    }
  }
}

/** C[m, n] = alpha * A[m, D] @ B[n, D]^T, with B given transposed as Bt[D, ldbt]. */
void gemm_abt(int64_t m, int64_t n, int64_t D, float alpha, const float* A, int64_t lda,
  const float* Bt, int64_t ldbt, float* C, int64_t ldc) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) abt_rows<4>(n, D, alpha, A + i * lda, lda, Bt, ldbt, C + i * ldc, ldc);
  for (; i < m; i++) abt_rows<1>(n, D, alpha, A + i * lda, lda, Bt, ldbt, C + i * ldc, ldc);
}

/** Rows i..i+R of C[.., D] (+)= sum_p a(i, p) B[p, D]; a(i, p) = A[i*lda + p], or A[p*lda + i] when
 *  kTransA. D is a multiple of kW. */
template <int R, bool kTransA>
inline void ab_rows(int64_t k, int64_t D, const float* A, int64_t lda, const float* B, int64_t ldb,
  float* C, int64_t ldc, bool accumulate) {
  auto a_at = [&](int r, int64_t p) { return kTransA ? A[p * lda + r] : A[r * lda + p]; };
  int64_t c = 0;
  for (; c + 2 * kW <= D; c += 2 * kW) {
    vf acc0[R], acc1[R];
    for (int r = 0; r < R; r++) {
      acc0[r] = accumulate ? vload(C + r * ldc + c) : vf{};
      acc1[r] = accumulate ? vload(C + r * ldc + c + kW) : vf{};
    }
    for (int64_t p = 0; p < k; p++) {
      const vf b0 = vload(B + p * ldb + c), b1 = vload(B + p * ldb + c + kW);
      for (int r = 0; r < R; r++) {
        const vf a = vbroadcast(a_at(r, p));
        acc0[r] += a * b0;
        acc1[r] += a * b1;
      }
    }
    for (int r = 0; r < R; r++) {
      vstore(C + r * ldc + c, acc0[r]);
      vstore(C + r * ldc + c + kW, acc1[r]);
    }
  }
  for (; c < D; c += kW) {
    vf acc[R];
    for (int r = 0; r < R; r++) acc[r] = accumulate ? vload(C + r * ldc + c) : vf{};
    for (int64_t p = 0; p < k; p++) {
      const vf b = vload(B + p * ldb + c);
      for (int r = 0; r < R; r++) acc[r] += vbroadcast(a_at(r, p)) * b;
    }
    for (int r = 0; r < R; r++) vstore(C + r * ldc + c, acc[r]);
  }
}

/** C[m, D] (+)= op(A)[m, k] @ B[k, D]; op(A) = A [m, lda] or, when kTransA, A^T with A [k, lda]. */
template <bool kTransA>
void gemm_ab(int64_t m, int64_t k, int64_t D, const float* A, int64_t lda, const float* B,
  int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  const int64_t step = kTransA ? 1 : lda;  // where row i's coefficients start
  int64_t i = 0;
  for (; i + 4 <= m; i += 4)
    ab_rows<4, kTransA>(k, D, A + i * step, lda, B, ldb, C + i * ldc, ldc, accumulate);
  for (; i < m; i++) ab_rows<1, kTransA>(k, D, A + i * step, lda, B, ldb, C + i * ldc, ldc, accumulate);
}

/** Masked softmax of rows r0..r1 of an S block in place; row r sees keys j < nvis0 + r whose mask
 *  is 1. Entries from the visible count up to zero_to are set to 0; rows that see nothing are 0. */
void softmax_rows(float* S, int64_t ldS, int64_t m, int64_t nvis0, const uint8_t* mask,
  int64_t zero_to) {
  for (int64_t r = 0; r < m; r++) {
    float* s = S + r * ldS;
    const int64_t nvis = nvis0 + r;
    float mx = -__builtin_inff();
    if (mask) {
      C2L_SIMD_MAX(mx)
      for (int64_t j = 0; j < nvis; j++) {
        const float val = mask[j] == 1 ? s[j] : -__builtin_inff();
        s[j] = val;
        mx = max_f(mx, val);
      }
    } else {
      C2L_SIMD_MAX(mx)
      for (int64_t j = 0; j < nvis; j++) mx = max_f(mx, s[j]);
    }
    if (mx == -__builtin_inff()) {  // no visible key: the row is all zeros
      std::memset(s, 0, sizeof(float) * zero_to);
      continue;
    }
    float sum = 0.0f;
    C2L_SIMD_SUM(sum)
    for (int64_t j = 0; j < nvis; j++) {
      const float e = exp_f(s[j] - mx);
      s[j] = e;
      sum += e;
    }
    const float inv = 1.0f / sum;
    C2L_SIMD
    for (int64_t j = 0; j < nvis; j++) s[j] *= inv;
    if (zero_to > nvis) std::memset(s + nvis, 0, sizeof(float) * (zero_to - nvis));
  }
}

/** dS = P * (dP - rowsum(P * dP)) * scale over rows of width n, in place on dS (holding dP). */
void softmax_backward_rows(float* dS, int64_t ldS, const float* P, int64_t ldP, int64_t m, int64_t n,
  float scale) {
  for (int64_t r = 0; r < m; r++) {
    const float* p = P + r * ldP;
    float* ds = dS + r * ldS;
    float pdp = 0.0f;
    C2L_SIMD_SUM(pdp)
    for (int64_t j = 0; j < n; j++) pdp += p[j] * ds[j];
    C2L_SIMD
    for (int64_t j = 0; j < n; j++) ds[j] = p[j] * (ds[j] - pdp) * scale;
  }
}

struct FwdArgs {
  float* out;
  float* probs;
  const float *q, *k, *v;
  const uint8_t* mask;
  int64_t Tq, Tk, Tkv, H, KV, D;
  float scale;
};

void forward_task(const FwdArgs& a, int64_t b, int64_t h, bool blis) {
  const int64_t kh = h / (a.H / a.KV), ldq = a.H * a.D, ldk = a.KV * a.D, D = a.D, Tk = a.Tk;
  const float* qb = a.q + (b * a.Tq * a.H + h) * D;     // row i at qb + i * ldq
  const float* kb = a.k + (b * a.Tkv * a.KV + kh) * D;  // row j at kb + j * ldk
  const float* vb = a.v + (b * a.Tkv * a.KV + kh) * D;
  float* ob = a.out + (b * a.Tq * a.H + h) * D;
  const uint8_t* mask = a.mask ? a.mask + b * Tk : nullptr;
  float* block = a.probs ? nullptr : thread_scratch(static_cast<size_t>(kQB * Tk), 0);
  const int64_t ldt = padded_ld(Tk);
  float *kt = nullptr, *vc = nullptr, *qc = nullptr;
  if (!blis) {
    kt = thread_scratch(static_cast<size_t>(D * ldt), 1);  // K^T [D, ldt]
    transpose(kt, ldt, kb, ldk, Tk, D);
    vc = thread_scratch(static_cast<size_t>(Tk * D), 2);  // V [Tk, D]
    pack_rows(vc, vb, ldk, Tk, D);
    qc = thread_scratch(static_cast<size_t>(a.Tq * D), 3);  // Q [Tq, D]
    pack_rows(qc, qb, ldq, a.Tq, D);
  }
  for (int64_t i0 = 0; i0 < a.Tq; i0 += kQB) {
    const int64_t i1 = i0 + kQB < a.Tq ? i0 + kQB : a.Tq, m = i1 - i0;
    const int64_t jmax = Tk - a.Tq + i1;  // keys any row of this block may see
    float* S = a.probs ? a.probs + ((b * a.H + h) * a.Tq + i0) * Tk : block;  // [m, Tk]
    if (blis) sgemm_serial(false, true, m, jmax, D, a.scale, qb + i0 * ldq, ldq, kb, ldk, 0.0f, S, Tk);
    else gemm_abt(m, jmax, D, a.scale, qc + i0 * D, D, kt, ldt, S, Tk);
    softmax_rows(S, Tk, m, Tk - a.Tq + i0 + 1, mask, a.probs ? Tk : jmax);
    if (blis) sgemm_serial(false, false, m, D, jmax, 1.0f, S, Tk, vb, ldk, 0.0f, ob + i0 * ldq, ldq);
    else gemm_ab<false>(m, jmax, D, S, Tk, vc, D, ob + i0 * ldq, ldq, false);
  }
}

struct BwdArgs {
  float *dq, *dk, *dv;
  const float *dout, *probs, *q, *k, *v;
  int64_t T, H, KV, D;
  float scale;
};

void backward_task(const BwdArgs& a, int64_t b, int64_t kh, bool blis) {
  const int64_t T = a.T, D = a.D, ldq = a.H * D, ldk = a.KV * D, group = a.H / a.KV;
  const float* kb = a.k + (b * T * a.KV + kh) * D;
  const float* vb = a.v + (b * T * a.KV + kh) * D;
  float* dkb = a.dk + (b * T * a.KV + kh) * D;
  float* dvb = a.dv + (b * T * a.KV + kh) * D;
  float* dS = thread_scratch(static_cast<size_t>(T * T), 0);  // [T, T], causal part written
  const int64_t ldt = padded_ld(T);
  float *vt = nullptr, *kc = nullptr, *qc = nullptr, *gc = nullptr;
  if (!blis) {
    float* packed = thread_scratch(static_cast<size_t>(D * ldt + 3 * T * D), 1);
    vt = packed;                 // V^T [D, ldt]
    kc = vt + D * ldt;           // K [T, D]
    qc = kc + T * D;             // Q of head h [T, D]
    gc = qc + T * D;             // dO of head h [T, D]
    transpose(vt, ldt, vb, ldk, T, D);
    pack_rows(kc, kb, ldk, T, D);
  }
  for (int64_t h = kh * group; h < (kh + 1) * group; h++) {
    const float* qb = a.q + (b * T * a.H + h) * D;
    const float* gb = a.dout + (b * T * a.H + h) * D;
    float* dqb = a.dq + (b * T * a.H + h) * D;
    const float* P = a.probs + (b * a.H + h) * T * T;
    if (!blis) {
      pack_rows(qc, qb, ldq, T, D);
      pack_rows(gc, gb, ldq, T, D);
    }
    // dS, then dq += dS K, one query block at a time (block [i0, i1) sees keys < i1).
    for (int64_t i0 = 0; i0 < T; i0 += kQB) {
      const int64_t i1 = i0 + kQB < T ? i0 + kQB : T, m = i1 - i0, jmax = i1;
      float* S = dS + i0 * T;
      if (blis) sgemm_serial(false, true, m, jmax, D, 1.0f, gb + i0 * ldq, ldq, vb, ldk, 0.0f, S, T);
      else gemm_abt(m, jmax, D, 1.0f, gc + i0 * D, D, vt, ldt, S, T);
      softmax_backward_rows(S, T, P + i0 * T, T, m, jmax, a.scale);
      if (blis) sgemm_serial(false, false, m, D, jmax, 1.0f, S, T, kb, ldk, 1.0f, dqb + i0 * ldq, ldq);
      else gemm_ab<false>(m, jmax, D, S, T, kc, D, dqb + i0 * ldq, ldq, true);
    }
    // dk += dS^T Q and dv += P^T dO, one key block at a time (keys [j0, j1) are seen by i >= j0;
    // every dS entry read here was written above, and P is zero beyond the causal limit).
    for (int64_t j0 = 0; j0 < T; j0 += kQB) {
      const int64_t j1 = j0 + kQB < T ? j0 + kQB : T, m = j1 - j0, k = T - j0;
      const float* dsT = dS + j0 * T + j0;
      const float* pT = P + j0 * T + j0;
      if (blis) {
        sgemm_serial(true, false, m, D, k, 1.0f, dsT, T, qb + j0 * ldq, ldq, 1.0f, dkb + j0 * ldk, ldk);
        sgemm_serial(true, false, m, D, k, 1.0f, pT, T, gb + j0 * ldq, ldq, 1.0f, dvb + j0 * ldk, ldk);
      } else {
        gemm_ab<true>(m, k, D, dsT, T, qc + j0 * D, D, dkb + j0 * ldk, ldk, true);
        gemm_ab<true>(m, k, D, pT, T, gc + j0 * D, D, dvb + j0 * ldk, ldk, true);
      }
    }
  }
}

}  // namespace

void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
  const uint8_t* keyMask, int64_t B, int64_t Tq, int64_t Tk, int64_t Tkv, int64_t H, int64_t KV,
  int64_t D, float scale) {
  const FwdArgs args{out, probs, q, k, v, keyMask, Tq, Tk, Tkv, H, KV, D, scale};
  const bool blis = D % kW != 0;
  parallel_for(B * H, 1, [&args, H, blis](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; t++) forward_task(args, t / H, t % H, blis);
  });
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* probs,
  const float* q, const float* k, const float* v, int64_t B, int64_t T, int64_t H, int64_t KV,
  int64_t D, float scale) {
  const BwdArgs args{dq, dk, dv, dout, probs, q, k, v, T, H, KV, D, scale};
  const bool blis = D % kW != 0;
  parallel_for(B * KV, 1, [&args, KV, blis](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; t++) backward_task(args, t / KV, t % KV, blis);
  });
}

}  // namespace C2L_ISA
}  // namespace c2l
