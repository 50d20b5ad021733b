// LayerNorm over rows of width C, optional affine weight/bias (null = 1 / 0); mean and rstd saved.
// Backward: with g = dout * w and xhat = (x - mean) * rstd,
//   dx += rstd * (g - mean(g) - xhat * mean(g * xhat)); dweight += dout * xhat; dbias += dout.
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

namespace {

void forward_rows(float* out, float* mean, float* rstd, const float* x, const float* weight,
  const float* bias, int64_t C, float eps, int64_t r0, int64_t r1) {
  const float invC = 1.0f / static_cast<float>(C);
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * C;
    float* yr = out + r * C;
    float sum = 0.0f;
    C2L_SIMD_SUM(sum)
    for (int64_t c = 0; c < C; c++) sum += xr[c];
    const float m = sum * invC;
    float var = 0.0f;
    C2L_SIMD_SUM(var)
    for (int64_t c = 0; c < C; c++) var += (xr[c] - m) * (xr[c] - m);
    const float s = 1.0f / std::sqrt(var * invC + eps);
    mean[r] = m;
    rstd[r] = s;
    if (weight && bias) {
      C2L_SIMD
      for (int64_t c = 0; c < C; c++) yr[c] = (xr[c] - m) * s * weight[c] + bias[c];
    } else if (weight) {
      C2L_SIMD
      for (int64_t c = 0; c < C; c++) yr[c] = (xr[c] - m) * s * weight[c];
    } else if (bias) {
      C2L_SIMD
      for (int64_t c = 0; c < C; c++) yr[c] = (xr[c] - m) * s + bias[c];
    } else {
      C2L_SIMD
      for (int64_t c = 0; c < C; c++) yr[c] = (xr[c] - m) * s;
    }
  }
}

// dw, db: this chunk's partial sums (or null).
void backward_rows(float* dx, float* dw, float* db, const float* dout, const float* x,
  const float* weight, const float* mean, const float* rstd, int64_t C, int64_t r0, int64_t r1) {
  const float invC = 1.0f / static_cast<float>(C);
  for (int64_t r = r0; r < r1; r++) {
    const float* xr = x + r * C;
    const float* gr = dout + r * C;
    float* dxr = dx + r * C;
    const float m = mean[r], s = rstd[r];
    float sumG = 0.0f, sumGX = 0.0f;
    if (weight) {
      C2L_SIMD_SUM(sumG)
      for (int64_t c = 0; c < C; c++) sumG += gr[c] * weight[c];
      C2L_SIMD_SUM(sumGX)
      for (int64_t c = 0; c < C; c++) sumGX += gr[c] * weight[c] * (xr[c] - m) * s;
      const float a = sumG * invC, b = sumGX * invC;
      C2L_SIMD
      for (int64_t c = 0; c < C; c++) dxr[c] += s * (gr[c] * weight[c] - a - (xr[c] - m) * s * b);
    } else {
      C2L_SIMD_SUM(sumG)
      for (int64_t c = 0; c < C; c++) sumG += gr[c];
      C2L_SIMD_SUM(sumGX)
      for (int64_t c = 0; c < C; c++) sumGX += gr[c] * (xr[c] - m) * s;
      const float a = sumG * invC, b = sumGX * invC;
      C2L_SIMD
      for (int64_t c = 0; c < C; c++) dxr[c] += s * (gr[c] - a - (xr[c] - m) * s * b);
    }
    if (dw) {
      C2L_SIMD
      for (int64_t c = 0; c < C; c++) dw[c] += gr[c] * (xr[c] - m) * s;
    }
    if (db) {
      C2L_SIMD
      for (int64_t c = 0; c < C; c++) db[c] += gr[c];
    }
  }
}

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* x, const float* weight,
  const float* bias, int64_t rows, int64_t C, float eps) {
  parallel_for(rows, row_grain(C), [=](int64_t r0, int64_t r1, int) {
    forward_rows(out, mean, rstd, x, weight, bias, C, eps, r0, r1);
  });
}

void layernorm_backward(float* dx, float* dweight, float* dbias, const float* dout, const float* x,
  const float* weight, const float* mean, const float* rstd, int64_t rows, int64_t C) {
  const int64_t grain = row_grain(C);
  const int chunks = parallel_chunks(rows, grain);
  float* partial = nullptr;  // [chunks, 2, C]: dweight then dbias partial sums
  if (dweight || dbias) {
    partial = thread_scratch(static_cast<size_t>(chunks) * 2 * C, kCallerSlot);
    std::memset(partial, 0, sizeof(float) * chunks * 2 * C);
  }
  parallel_for(rows, grain, [=](int64_t r0, int64_t r1, int chunk) {
    float* dw = dweight ? partial + chunk * 2 * C : nullptr;
    float* db = dbias ? partial + chunk * 2 * C + C : nullptr;
    backward_rows(dx, dw, db, dout, x, weight, mean, rstd, C, r0, r1);
  });
  for (int t = 0; t < chunks; t++) {
    if (dweight) reduce_partials(dweight, partial + t * 2 * C, 1, C);
    if (dbias) reduce_partials(dbias, partial + t * 2 * C + C, 1, C);
  }
}

}  // namespace C2L_ISA
}  // namespace c2l
