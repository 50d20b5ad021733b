// GELU, exact erf form (PyTorch nn.GELU default): out = x * Phi(x), Phi(x) = 0.5 (1 + erf(x/sqrt2)).
// Backward: dx += dout * (Phi(x) + x * exp(-x^2/2) / sqrt(2 pi)). Phi comes from a float erfc
// (simd.h, normal_cdf) that keeps its relative accuracy in the left tail.
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

namespace {

void forward_range(float* out, const float* x, int64_t i0, int64_t i1) {
  C2L_SIMD
  for (int64_t i = i0; i < i1; i++) out[i] = x[i] * normal_cdf(x[i]);
}

void backward_range(float* dx, const float* dout, const float* x, int64_t i0, int64_t i1) {
  C2L_SIMD
  for (int64_t i = i0; i < i1; i++) {
    const float xi = x[i];
    const float pdf = 0.39894228040143268f * exp_f(-0.5f * xi * xi);
    dx[i] += dout[i] * (normal_cdf(xi) + xi * pdf);
  }
}

}  // namespace

void gelu_forward(float* out, const float* x, int64_t n) {
  parallel_for(n, kElemGrain / 4, [=](int64_t i0, int64_t i1, int) { forward_range(out, x, i0, i1); });
}

void gelu_backward(float* dx, const float* dout, const float* x, int64_t n) {
  parallel_for(n, kElemGrain / 4, [=](int64_t i0, int64_t i1, int) { backward_range(dx, dout, x, i0, i1); });
}

}  // namespace C2L_ISA
}  // namespace c2l
