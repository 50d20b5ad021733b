// Declarations of the per-ISA kernels (one .cc per op) and small helpers they share.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "simd.h"

namespace c2l {
namespace C2L_ISA {

// thread_scratch slots: 0..4 for buffers used inside a task, kCallerSlot for per-chunk partial sums
// allocated by the calling thread before parallel_for (the caller also runs chunk 0).
constexpr int kCallerSlot = kScratchSlots - 1;

/** Rows per chunk so that one chunk holds at least ~16K values. */
static inline int64_t row_grain(int64_t C) {
  const int64_t g = (int64_t{1} << 14) / (C > 0 ? C : 1);
  return g > 0 ? g : 1;
}

/** dst[c] += sum over chunks of partial[chunk * C + c], in chunk order (deterministic). */
static inline void reduce_partials(float* dst, const float* partial, int chunks, int64_t C) {
  for (int t = 0; t < chunks; t++) {
    const float* p = partial + t * C;
    C2L_SIMD
    for (int64_t c = 0; c < C; c++) dst[c] += p[c];
  }
}

void skinny_gemm_nt(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, float alpha,
  float beta);
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* weight, int64_t rows,
  int64_t C, float eps);
void rmsnorm_backward(float* dx, float* dweight, const float* dout, const float* x,
  const float* weight, const float* rstd, int64_t rows, int64_t C);
void rope_forward(float* out, const float* x, const float* cos, const float* sin,
  const int32_t* positions, int64_t BT, int64_t H, int64_t D);
void rope_backward(float* dx, const float* dout, const float* cos, const float* sin,
  const int32_t* positions, int64_t BT, int64_t H, int64_t D);
void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
  const uint8_t* keyMask, int64_t B, int64_t Tq, int64_t Tk, int64_t Tkv, int64_t H, int64_t KV,
  int64_t D, float scale);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* probs,
  const float* q, const float* k, const float* v, int64_t B, int64_t T, int64_t H, int64_t KV,
  int64_t D, float scale);
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
  const float* up, int64_t n);
void cross_entropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
  int64_t rows, int64_t V);
void cross_entropy_backward(float* dlogits, const float* dlosses, const float* logits,
  const float* lse, const int32_t* targets, int64_t rows, int64_t V);
void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t n, int64_t C);
void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t C);
void add(float* out, const float* a, const float* b, int64_t n);
void axpy(float* y, const float* x, float alpha, int64_t n);
double sum_squares(const float* x, int64_t n);
void gelu_forward(float* out, const float* x, int64_t n);
void gelu_backward(float* dx, const float* dout, const float* x, int64_t n);
void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* weight,
  const float* bias, int64_t rows, int64_t C, float eps);
void layernorm_backward(float* dx, float* dweight, float* dbias, const float* dout, const float* x,
  const float* weight, const float* mean, const float* rstd, int64_t rows, int64_t C);
void adamw(float* param, const float* grad, float* m, float* v, int64_t n, float lr, double beta1,
  double beta2, float eps, float weightDecay, double step);

}  // namespace C2L_ISA
}  // namespace c2l
