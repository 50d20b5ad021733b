// AdamW (decoupled weight decay, bias-corrected, step counts from 1), as torch.optim.AdamW:
//   m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (m/bc1 / (sqrt(v/bc2) + eps) + wd p).
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

void adamw(float* param, const float* grad, float* m, float* v, int64_t n, float lr, double beta1,
  double beta2, float eps, float weightDecay, double step) {
  const float b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
  const float c1 = static_cast<float>(1.0 - beta1), c2 = static_cast<float>(1.0 - beta2);
  const float inv_bc1 = static_cast<float>(1.0 / (1.0 - std::pow(beta1, step)));
  const float inv_bc2 = static_cast<float>(1.0 / (1.0 - std::pow(beta2, step)));
  parallel_for(n, kElemGrain, [&](int64_t i0, int64_t i1, int) {
    C2L_SIMD
    for (int64_t i = i0; i < i1; i++) {
      const float g = grad[i];
      const float mi = b1 * m[i] + c1 * g;
      const float vi = b2 * v[i] + c2 * g * g;
      m[i] = mi;
      v[i] = vi;
      const float p = param[i];
      param[i] = p - lr * (mi * inv_bc1 / (std::sqrt(vi * inv_bc2) + eps) + weightDecay * p);
    }
  });
}

}  // namespace C2L_ISA
}  // namespace c2l
