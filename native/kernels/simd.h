// Inline math shared by the kernel files. Written as plain scalar code that GCC vectorises inside
// `#pragma omp simd` loops (built with -fopenmp-simd, no OpenMP runtime): no libm calls, no
// branches, bit casts through memcpy. Everything here is `static inline` in the per-ISA namespace,
// so the avx512 / avx2 / base builds never share a symbol (no mixed-ISA code after linking).
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels.h"
#include "parallel.h"

#ifndef C2L_ISA
#error "C2L_ISA must name the instruction-set namespace (avx512, avx2, base)"
#endif

#define C2L_SIMD _Pragma("omp simd")
#define C2L_SIMD_SUM(var) _Pragma(C2L_STR(omp simd reduction(+ : var)))
#define C2L_SIMD_MAX(var) _Pragma(C2L_STR(omp simd reduction(max : var)))
#define C2L_STR(x) #x

namespace c2l {
namespace C2L_ISA {

// Elementwise kernels split into chunks of at least this many values per thread.
constexpr int64_t kElemGrain = 1 << 15;

static inline float bits_to_float(int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}
static inline int32_t float_to_bits(float f) {
  int32_t i;
  std::memcpy(&i, &f, sizeof i);
  return i;
}

/** e^x in float32, within ~2 ulp on [-87.3, 88.7] (Cody-Waite reduction, Cephes polynomial).
 *  Below -87.33 it returns exactly 0 (so -inf -> 0), above 88.72 +inf; NaN stays NaN. */
static inline float exp_f(float x) {
  const float hi = 88.7228317f, lo = -87.3365447f;
  float xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = xc * 1.44269504088896341f + shifter;
  const float n = t - shifter;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  // 2^n as two factors so that n = -126 and n = 128 both stay representable.
  const int32_t ni = float_to_bits(t) - 0x4B400000;
  const int32_t n1 = ni >> 1;
  const float s1 = bits_to_float((n1 + 127) << 23);
  const float s2 = bits_to_float((ni - n1 + 127) << 23);
  float y = p * s1 * s2;
  y = x < lo ? 0.0f : y;
  y = x > hi ? __builtin_inff() : y;
  return y;
}

/** Standard normal CDF Phi(x) = 0.5 * erfc(-x / sqrt(2)), relative error (measured against double
 *  erfc) below 7e-7 for x > -3, 2e-6 for x > -6, 8e-6 for x > -12: relative also in the left tail,
 *  where 1 + erf(x) would cancel; the rest is exp of an argument near -x^2/2 rounded to float.
 *  erfc(z) = t exp(-z^2 +
 *  P(t)), t = 1 / (1 + z/2), is the Chebyshev fit of Numerical Recipes (2nd ed., section 6.2,
 *  fractional error < 1.2e-7); -z^2 = -x^2/2 is formed from x itself, exactly with FMA, because
 *  rounding z would cost |x|^2 * 6e-8 relative in the tail. */
static inline float normal_cdf(float x) {
  const float ax = x < 0.0f ? -x : x;
  const float t = 1.0f / (1.0f + 0.35355339059327376f * ax);  // 1 / (1 + z/2), z = |x|/sqrt2
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  const float xx = x * x;
#if defined(__FMA__)
  const float xx_err = __builtin_fmaf(x, x, -xx);  // x*x = xx + xx_err exactly
  const float e = t * exp_f((p - 0.5f * xx) - 0.5f * xx_err);
#else
  const float e = t * exp_f(p - 0.5f * xx);
#endif
  return x < 0.0f ? 0.5f * e : 1.0f - 0.5f * e;
}

static inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }

static inline float max_f(float a, float b) { return a > b ? a : b; }

}  // namespace C2L_ISA
}  // namespace c2l
