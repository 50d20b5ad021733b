// Rotary position embedding, Hugging Face rotate_half convention: in each head of width D the pairs
// are (i, i + D/2): y1 = x1 cos - x2 sin, y2 = x2 cos + x1 sin. Backward applies the transpose
// (sin -> -sin) and accumulates. x, out: [BT, H, D]; cos, sin: [maxPos, D/2]; positions: [BT].
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

void rope_forward(float* out, const float* x, const float* cos, const float* sin,
  const int32_t* positions, int64_t BT, int64_t H, int64_t D) {
  const int64_t half = D / 2;
  parallel_for(BT, row_grain(H * D), [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; t++) {
      const float* c = cos + static_cast<int64_t>(positions[t]) * half;
      const float* s = sin + static_cast<int64_t>(positions[t]) * half;
      for (int64_t h = 0; h < H; h++) {
        const float* xr = x + (t * H + h) * D;
        float* yr = out + (t * H + h) * D;
        C2L_SIMD
        for (int64_t i = 0; i < half; i++) {
          const float x1 = xr[i], x2 = xr[i + half];
          yr[i] = x1 * c[i] - x2 * s[i];
          yr[i + half] = x2 * c[i] + x1 * s[i];
        }
      }
    }
  });
}

void rope_backward(float* dx, const float* dout, const float* cos, const float* sin,
  const int32_t* positions, int64_t BT, int64_t H, int64_t D) {
  const int64_t half = D / 2;
  parallel_for(BT, row_grain(H * D), [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; t++) {
      const float* c = cos + static_cast<int64_t>(positions[t]) * half;
      const float* s = sin + static_cast<int64_t>(positions[t]) * half;
      for (int64_t h = 0; h < H; h++) {
        const float* gr = dout + (t * H + h) * D;
        float* dr = dx + (t * H + h) * D;
        C2L_SIMD
        for (int64_t i = 0; i < half; i++) {
          const float g1 = gr[i], g2 = gr[i + half];
          dr[i] += g1 * c[i] + g2 * s[i];
          dr[i + half] += g2 * c[i] - g1 * s[i];
        }
      }
    }
  });
}

}  // namespace C2L_ISA
}  // namespace c2l
