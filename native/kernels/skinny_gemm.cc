// C[M,N] = alpha * A[M,K] @ B[N,K]^T + beta * C for a few rows (M <= kSkinnyMaxRows): the decoding
// case, one token per sequence against a weight stored [out, in]. BLIS packs all of B on every call,
// which for M = 1 costs more than the product itself (92 tok/s decoding a 10M-parameter model);
// here each B row is read once, straight from memory, and dotted with every row of A.
#include <algorithm>

#include "ops.h"

namespace c2l {
namespace C2L_ISA {

namespace {

void skinny_range(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, float alpha,
  float beta, int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; j++) {
    const float* b = B + j * K;
    for (int64_t i = 0; i < M; i++) {
      const float* a = A + i * K;
      float acc = 0.0f;
      C2L_SIMD_SUM(acc)
      for (int64_t k = 0; k < K; k++) acc += a[k] * b[k];
      float* c = C + i * N + j;
      *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
    }
  }
}

}  // namespace

void skinny_gemm_nt(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, float alpha,
  float beta) {
  // ~16K multiply-adds per chunk keeps thread hand-off cheap relative to the work.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, K * M));
  parallel_for(N, grain, [=](int64_t j0, int64_t j1, int) { skinny_range(C, A, B, M, N, K, alpha, beta, j0, j1); });
}

}  // namespace C2L_ISA
}  // namespace c2l
