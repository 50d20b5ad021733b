// Rotary position embedding, Hugging Face rotate_half convention: in each head of width D the pairs
// are (i, i + D/2): y1 = x1 cos - x2 sin, y2 = x2 cos + x1 sin. Backward applies the transpose
// (sin -> -sin) and accumulates. x, out: [BT, H, D]; cos, sin: [maxPos, D/2]; positions: [BT].
// The forward may run in place (out == x): each pair is read before it is written.
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

namespace {

template <bool kBackward>
void rope_rows(float* out, const float* x, const float* cos, const float* sin, const int32_t* positions,
  int64_t H, int64_t D, int64_t t0, int64_t t1) {
  const int64_t half = D / 2;
  for (int64_t t = t0; t < t1; t++) {
    const float* c = cos + static_cast<int64_t>(positions[t]) * half;
    const float* s = sin + static_cast<int64_t>(positions[t]) * half;
    for (int64_t h = 0; h < H; h++) {
      const float* xr = x + (t * H + h) * D;
      float* yr = out + (t * H + h) * D;
      if (kBackward) {
        C2L_SIMD
        for (int64_t i = 0; i < half; i++) {
          const float g1 = xr[i], g2 = xr[i + half];
          yr[i] += g1 * c[i] + g2 * s[i];
          yr[i + half] += g2 * c[i] - g1 * s[i];
        }
      } else {
        C2L_SIMD
        for (int64_t i = 0; i < half; i++) {
          const float x1 = xr[i], x2 = xr[i + half];
          yr[i] = x1 * c[i] - x2 * s[i];
          yr[i + half] = x2 * c[i] + x1 * s[i];
        }
      }
    }
  }
}

}  // namespace

void rope_forward(float* out, const float* x, const float* cos, const float* sin,
  const int32_t* positions, int64_t BT, int64_t H, int64_t D) {
  parallel_for(BT, row_grain(H * D), [=](int64_t t0, int64_t t1, int) {
    rope_rows<false>(out, x, cos, sin, positions, H, D, t0, t1);
  });
}

void rope_backward(float* dx, const float* dout, const float* cos, const float* sin,
  const int32_t* positions, int64_t BT, int64_t H, int64_t D) {
  parallel_for(BT, row_grain(H * D), [=](int64_t t0, int64_t t1, int) {
    rope_rows<true>(dx, dout, cos, sin, positions, H, D, t0, t1);
  });
}

}  // namespace C2L_ISA
}  // namespace c2l
