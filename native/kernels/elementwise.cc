// add, axpy and sumSquares (double accumulation; per-chunk partials summed in chunk order).
// Pattern used by every kernel file: the lambda given to parallel_for only forwards its range to a
// static function whose pointers are plain parameters, so GCC sees loop-invariant pointers and
// vectorises with contiguous loads (a pointer read through the lambda's captured reference inside
// an `omp simd` loop was turned into gathers).
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

namespace {

void add_range(float* out, const float* a, const float* b, int64_t i0, int64_t i1) {
  C2L_SIMD
  for (int64_t i = i0; i < i1; i++) out[i] = a[i] + b[i];
}

void axpy_range(float* y, const float* x, float alpha, int64_t i0, int64_t i1) {
  C2L_SIMD
  for (int64_t i = i0; i < i1; i++) y[i] += alpha * x[i];
}

double sum_squares_range(const float* x, int64_t i0, int64_t i1) {
  // Squares and sums in double, as the contract says (two 8-lane accumulators with AVX-512).
  double s = 0.0;
  C2L_SIMD_SUM(s)
  for (int64_t i = i0; i < i1; i++) {
    const double v = x[i];
    s += v * v;
  }
  return s;
}

}  // namespace

void add(float* out, const float* a, const float* b, int64_t n) {
  parallel_for(n, kElemGrain * 2, [=](int64_t i0, int64_t i1, int) { add_range(out, a, b, i0, i1); });
}

void axpy(float* y, const float* x, float alpha, int64_t n) {
  parallel_for(n, kElemGrain * 2, [=](int64_t i0, int64_t i1, int) { axpy_range(y, x, alpha, i0, i1); });
}

double sum_squares(const float* x, int64_t n) {
  double partial[kMaxChunks] = {0};
  parallel_for(n, kElemGrain * 2, [&](int64_t i0, int64_t i1, int chunk) {
    partial[chunk] = sum_squares_range(x, i0, i1);
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace C2L_ISA
}  // namespace c2l
