// Softmax cross-entropy per row of V logits, fused log-softmax.
// Forward: lse = max + log(sum exp(x - max)); loss = lse - x[target], 0 for target -1.
// Backward: dlogits[row] += dloss * (exp(x - lse) - onehot(target)); rows with target -1 untouched.
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

namespace {

constexpr int64_t kBlock = 512;

void forward_rows(float* losses, float* lse, const float* logits, const int32_t* targets, int64_t V,
  int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) {
    const float* x = logits + r * V;
    float mx = -__builtin_inff();
    C2L_SIMD_MAX(mx)
    for (int64_t j = 0; j < V; j++) mx = max_f(mx, x[j]);
    // The sum and the loss are formed in double: a confident row has sum = 1 + tiny, and
    // loss = log(sum) + (max - x[target]) then keeps its relative accuracy.
    // (exp in float into a block, then a double sum: GCC does not vectorise the fused loop.)
    double sum = 0.0;
    float block[kBlock];
    for (int64_t j0 = 0; j0 < V; j0 += kBlock) {
      const int64_t n = V - j0 < kBlock ? V - j0 : kBlock;
      C2L_SIMD
      for (int64_t j = 0; j < n; j++) block[j] = exp_f(x[j0 + j] - mx);
      double s = 0.0;
      C2L_SIMD_SUM(s)
      for (int64_t j = 0; j < n; j++) s += static_cast<double>(block[j]);
      sum += s;
    }
    const double logsum = std::log(sum);
    lse[r] = static_cast<float>(mx + logsum);
    const int32_t t = targets[r];
    losses[r] = t < 0 ? 0.0f : static_cast<float>(logsum + (static_cast<double>(mx) - x[t]));
  }
}

void backward_rows(float* dlogits, const float* dlosses, const float* logits, const float* lse,
  const int32_t* targets, int64_t V, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) {
    if (targets[r] < 0) continue;
    const float* x = logits + r * V;
    float* d = dlogits + r * V;
    const float g = dlosses[r], l = lse[r];
    C2L_SIMD
    for (int64_t j = 0; j < V; j++) d[j] += g * exp_f(x[j] - l);
    d[targets[r]] -= g;
  }
}

}  // namespace

void cross_entropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
  int64_t rows, int64_t V) {
  parallel_for(rows, row_grain(V), [=](int64_t r0, int64_t r1, int) {
    forward_rows(losses, lse, logits, targets, V, r0, r1);
  });
}

void cross_entropy_backward(float* dlogits, const float* dlosses, const float* logits,
  const float* lse, const int32_t* targets, int64_t rows, int64_t V) {
  parallel_for(rows, row_grain(V), [=](int64_t r0, int64_t r1, int) {
    backward_rows(dlogits, dlosses, logits, lse, targets, V, r0, r1);
  });
}

}  // namespace C2L_ISA
}  // namespace c2l
