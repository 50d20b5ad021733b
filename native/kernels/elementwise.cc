// add, axpy and sumSquares (double accumulation; per-chunk partials summed in chunk order).
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

void add(float* out, const float* a, const float* b, int64_t n) {
  parallel_for(n, kElemGrain * 2, [&](int64_t i0, int64_t i1, int) {
    C2L_SIMD
    for (int64_t i = i0; i < i1; i++) out[i] = a[i] + b[i];
  });
}

void axpy(float* y, const float* x, float alpha, int64_t n) {
  parallel_for(n, kElemGrain * 2, [&](int64_t i0, int64_t i1, int) {
    C2L_SIMD
    for (int64_t i = i0; i < i1; i++) y[i] += alpha * x[i];
  });
}

double sum_squares(const float* x, int64_t n) {
  double partial[64] = {0};
  parallel_for(n, kElemGrain * 2, [&](int64_t i0, int64_t i1, int chunk) {
    double s = 0.0;
    C2L_SIMD_SUM(s)
    for (int64_t i = i0; i < i1; i++) {
      const double v = x[i];
      s += v * v;
    }
    partial[chunk] = s;
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace C2L_ISA
}  // namespace c2l
