// Softmax cross-entropy per row of V logits, fused log-softmax.
// Forward: lse = max + log(sum exp(x - max)); loss = lse - x[target], 0 for target -1.
// Backward: dlogits[row] += dloss * (exp(x - lse) - onehot(target)); rows with target -1 untouched.
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

void cross_entropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
  int64_t rows, int64_t V) {
  parallel_for(rows, row_grain(V), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      const float* x = logits + r * V;
      float mx = -__builtin_inff();
      C2L_SIMD_MAX(mx)
      for (int64_t j = 0; j < V; j++) mx = max_f(mx, x[j]);
      // The sum and the loss are formed in double: a confident row has sum = 1 + tiny, and
      // loss = log(sum) + (max - x[target]) then keeps its relative accuracy.
      double sum = 0.0;
      C2L_SIMD_SUM(sum)
      for (int64_t j = 0; j < V; j++) sum += static_cast<double>(exp_f(x[j] - mx));
      const double logsum = std::log(sum);
      lse[r] = static_cast<float>(mx + logsum);
      losses[r] = targets[r] < 0 ? 0.0f
        : static_cast<float>(logsum + (static_cast<double>(mx) - static_cast<double>(x[targets[r]])));
    }
  });
}

void cross_entropy_backward(float* dlogits, const float* dlosses, const float* logits,
  const float* lse, const int32_t* targets, int64_t rows, int64_t V) {
  parallel_for(rows, row_grain(V), [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; r++) {
      if (targets[r] < 0) continue;
      const float* x = logits + r * V;
      float* d = dlogits + r * V;
      const float g = dlosses[r], l = lse[r];
      C2L_SIMD
      for (int64_t j = 0; j < V; j++) d[j] += g * exp_f(x[j] - l);
      d[targets[r]] -= g;
    }
  });
}

}  // namespace C2L_ISA
}  // namespace c2l
