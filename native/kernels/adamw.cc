// AdamW (decoupled weight decay, bias-corrected, step counts from 1), as torch.optim.AdamW:
//   m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (m/bc1 / (sqrt(v/bc2) + eps) + wd p).
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

namespace {

struct Coefs {
  float b1, b2, c1, c2, inv_bc1, inv_bc2, lr, eps, wd;
};

void adamw_range(float* param, const float* grad, float* m, float* v, Coefs k, int64_t i0, int64_t i1) {
  C2L_SIMD
  for (int64_t i = i0; i < i1; i++) {
    const float g = grad[i];
    const float mi = k.b1 * m[i] + k.c1 * g;
    const float vi = k.b2 * v[i] + k.c2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const float p = param[i];
    param[i] = p - k.lr * (mi * k.inv_bc1 / (std::sqrt(vi * k.inv_bc2) + k.eps) + k.wd * p);
  }
}

}  // namespace

void adamw(float* param, const float* grad, float* m, float* v, int64_t n, float lr, double beta1,
  double beta2, float eps, float weightDecay, double step) {
  Coefs k;
  k.b1 = static_cast<float>(beta1);
  k.b2 = static_cast<float>(beta2);
  k.c1 = static_cast<float>(1.0 - beta1);
  k.c2 = static_cast<float>(1.0 - beta2);
  k.inv_bc1 = static_cast<float>(1.0 / (1.0 - std::pow(beta1, step)));
  k.inv_bc2 = static_cast<float>(1.0 / (1.0 - std::pow(beta2, step)));
  k.lr = lr;
  k.eps = eps;
  k.wd = weightDecay;
  parallel_for(n, kElemGrain, [=](int64_t i0, int64_t i1, int) { adamw_range(param, grad, m, v, k, i0, i1); });
}

}  // namespace C2L_ISA
}  // namespace c2l
