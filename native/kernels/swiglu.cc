// SwiGLU: out = silu(gate) * up, silu(g) = g * sigmoid(g).
// Backward: dup += dout * silu(g); dgate += dout * up * s * (1 + g * (1 - s)), s = sigmoid(g).
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

namespace {

void forward_range(float* out, const float* gate, const float* up, int64_t i0, int64_t i1) {
  C2L_SIMD
  for (int64_t i = i0; i < i1; i++) out[i] = gate[i] * sigmoid_f(gate[i]) * up[i];
}

void backward_range(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
  int64_t i0, int64_t i1) {
  C2L_SIMD
  for (int64_t i = i0; i < i1; i++) {
    const float g = gate[i], s = sigmoid_f(g), d = dout[i];
    dup[i] += d * g * s;
    dgate[i] += d * up[i] * s * (1.0f + g * (1.0f - s));
  }
}

}  // namespace

void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) {
  parallel_for(n, kElemGrain, [=](int64_t i0, int64_t i1, int) { forward_range(out, gate, up, i0, i1); });
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
  const float* up, int64_t n) {
  parallel_for(n, kElemGrain, [=](int64_t i0, int64_t i1, int) {
    backward_range(dgate, dup, dout, gate, up, i0, i1);
  });
}

}  // namespace C2L_ISA
}  // namespace c2l
