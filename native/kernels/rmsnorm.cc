// RMSNorm over rows of width C: out = x * rstd * weight, rstd = 1 / sqrt(mean(x^2) + eps).
// Backward: dx += rstd * w * dy - x * rstd^3 / C * sum(dy * w * x); dweight += dy * x * rstd.
// Rows are split over the pool; dweight is summed per chunk and then added in chunk order.
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

namespace {

void forward_rows(float* out, float* rstd, const float* x, const float* weight, int64_t C, float eps,
  int64_t r0, int64_t r1) {
  const float invC = 1.0f / static_cast<float>(C);
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * C;
    float* yr = out + r * C;
    float ss = 0.0f;
    C2L_SIMD_SUM(ss)
    for (int64_t c = 0; c < C; c++) ss += xr[c] * xr[c];
    const float s = 1.0f / std::sqrt(ss * invC + eps);
    rstd[r] = s;
    C2L_SIMD
    for (int64_t c = 0; c < C; c++) yr[c] = xr[c] * s * weight[c];
  }
}

void backward_rows(float* dx, float* dw, const float* dout, const float* x, const float* weight,
  const float* rstd, int64_t C, int64_t r0, int64_t r1) {
  const float invC = 1.0f / static_cast<float>(C);
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * C;
    const float* gr = dout + r * C;
    float* dxr = dx + r * C;
    const float s = rstd[r];
    float dot = 0.0f;
    C2L_SIMD_SUM(dot)
    for (int64_t c = 0; c < C; c++) dot += gr[c] * weight[c] * xr[c];
    const float k = s * s * s * dot * invC;
    C2L_SIMD
    for (int64_t c = 0; c < C; c++) dxr[c] += s * weight[c] * gr[c] - xr[c] * k;
    if (dw) {
      C2L_SIMD
      for (int64_t c = 0; c < C; c++) dw[c] += gr[c] * xr[c] * s;
    }
  }
}

}  // namespace

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* weight, int64_t rows,
  int64_t C, float eps) {
  parallel_for(rows, row_grain(C), [=](int64_t r0, int64_t r1, int) {
    forward_rows(out, rstd, x, weight, C, eps, r0, r1);
  });
}

void rmsnorm_backward(float* dx, float* dweight, const float* dout, const float* x,
  const float* weight, const float* rstd, int64_t rows, int64_t C) {
  const int64_t grain = row_grain(C);
  const int chunks = parallel_chunks(rows, grain);
  float* partial = nullptr;  // [chunks, C] dweight partial sums
  if (dweight) {
    partial = thread_scratch(static_cast<size_t>(chunks) * C, kCallerSlot);
    std::memset(partial, 0, sizeof(float) * chunks * C);
  }
  parallel_for(rows, grain, [=](int64_t r0, int64_t r1, int chunk) {
    backward_rows(dx, partial ? partial + chunk * C : nullptr, dout, x, weight, rstd, C, r0, r1);
  });
  if (dweight) reduce_partials(dweight, partial, chunks, C);
}

}  // namespace C2L_ISA
}  // namespace c2l
