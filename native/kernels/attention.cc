// Causal grouped-query attention with a left-padding key mask and a KV-cache form (kernels.ts).
//
// Forward, one task per (batch, head): query rows go in blocks of kQB; for a block ending at row
// i1 only keys j < Tk - Tq + i1 can be visible, so S = scale * Q K^T and out = P V are computed on
// that prefix only (about 5/8 of the full square for T = 256, instead of 1/2 exact or 1 naive).
// S is written straight into probs (or a per-thread scratch block when probs is null), masked,
// soft-maxed in place, and multiplied with V. Backward, one task per (batch, kv head) so that the
// heads sharing K/V never write dk/dv concurrently: dP = dO V^T, dS = P (dP - rowsum(P dP)) scale,
// dq += dS K, dk += dS^T Q, dv += P^T dO, all read from the saved probs (nothing recomputed).
// The small GEMMs are serial BLIS calls on strided views of q/k/v (no copies); tasks run on the
// pool, so BLIS never starts threads of its own here.
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

namespace {
constexpr int64_t kQB = 64;  // query rows per block
}

void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
  const uint8_t* keyMask, int64_t B, int64_t Tq, int64_t Tk, int64_t Tkv, int64_t H, int64_t KV,
  int64_t D, float scale) {
  const int64_t group = H / KV;
  const int64_t ldq = H * D, ldk = KV * D;
  parallel_for(B * H, 1, [&](int64_t t0, int64_t t1, int) {
    float* block = probs ? nullptr : thread_scratch(static_cast<size_t>(kQB * Tk), 0);
    for (int64_t task = t0; task < t1; task++) {
      const int64_t b = task / H, h = task % H, kh = h / group;
      const float* qb = q + (b * Tq * H + h) * D;    // row i at qb + i * ldq
      const float* kb = k + (b * Tkv * KV + kh) * D; // row j at kb + j * ldk
      const float* vb = v + (b * Tkv * KV + kh) * D;
      float* ob = out + (b * Tq * H + h) * D;
      const uint8_t* mask = keyMask ? keyMask + b * Tk : nullptr;
      for (int64_t i0 = 0; i0 < Tq; i0 += kQB) {
        const int64_t i1 = i0 + kQB < Tq ? i0 + kQB : Tq;
        const int64_t m = i1 - i0;
        const int64_t jmax = Tk - Tq + i1;  // keys any row of this block may see
        float* S = probs ? probs + ((b * H + h) * Tq + i0) * Tk : block;  // [m, Tk]
        sgemm_serial(false, true, m, jmax, D, scale, qb + i0 * ldq, ldq, kb, ldk, 0.0f, S, Tk);
        for (int64_t r = 0; r < m; r++) {
          float* s = S + r * Tk;
          const int64_t nvis = Tk - Tq + i0 + r + 1;  // causal: keys 0 .. qpos
          float mx = -__builtin_inff();
          if (mask) {
            C2L_SIMD_MAX(mx)
            for (int64_t j = 0; j < nvis; j++) {
              const float val = mask[j] == 1 ? s[j] : -__builtin_inff();
              s[j] = val;
              mx = max_f(mx, val);
            }
          } else {
            C2L_SIMD_MAX(mx)
            for (int64_t j = 0; j < nvis; j++) mx = max_f(mx, s[j]);
          }
          const int64_t zero_to = probs ? Tk : jmax;
          if (mx == -__builtin_inff()) {  // no visible key: the row is all zeros
            std::memset(s, 0, sizeof(float) * zero_to);
            continue;
          }
          float sum = 0.0f;
          C2L_SIMD_SUM(sum)
          for (int64_t j = 0; j < nvis; j++) {
            const float e = exp_f(s[j] - mx);
            s[j] = e;
            sum += e;
          }
          const float inv = 1.0f / sum;
          C2L_SIMD
          for (int64_t j = 0; j < nvis; j++) s[j] *= inv;
          if (zero_to > nvis) std::memset(s + nvis, 0, sizeof(float) * (zero_to - nvis));
        }
        sgemm_serial(false, false, m, D, jmax, 1.0f, S, Tk, vb, ldk, 0.0f, ob + i0 * ldq, ldq);
      }
    }
  });
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* probs,
  const float* q, const float* k, const float* v, int64_t B, int64_t T, int64_t H, int64_t KV,
  int64_t D, float scale) {
  const int64_t group = H / KV;
  const int64_t ldq = H * D, ldk = KV * D;
  parallel_for(B * KV, 1, [&](int64_t t0, int64_t t1, int) {
    float* dS = thread_scratch(static_cast<size_t>(kQB * T), 0);  // [kQB, T]
    for (int64_t task = t0; task < t1; task++) {
      const int64_t b = task / KV, kh = task % KV;
      const float* kb = k + (b * T * KV + kh) * D;
      const float* vb = v + (b * T * KV + kh) * D;
      float* dkb = dk + (b * T * KV + kh) * D;
      float* dvb = dv + (b * T * KV + kh) * D;
      for (int64_t h = kh * group; h < (kh + 1) * group; h++) {
        const float* qb = q + (b * T * H + h) * D;
        const float* gb = dout + (b * T * H + h) * D;
        float* dqb = dq + (b * T * H + h) * D;
        const float* P = probs + (b * H + h) * T * T;
        for (int64_t i0 = 0; i0 < T; i0 += kQB) {
          const int64_t i1 = i0 + kQB < T ? i0 + kQB : T;
          const int64_t m = i1 - i0, jmax = i1;
          sgemm_serial(false, true, m, jmax, D, 1.0f, gb + i0 * ldq, ldq, vb, ldk, 0.0f, dS, T);
          for (int64_t r = 0; r < m; r++) {
            const float* p = P + (i0 + r) * T;
            float* ds = dS + r * T;
            float pdp = 0.0f;
            C2L_SIMD_SUM(pdp)
            for (int64_t j = 0; j < jmax; j++) pdp += p[j] * ds[j];
            C2L_SIMD
            for (int64_t j = 0; j < jmax; j++) ds[j] = p[j] * (ds[j] - pdp) * scale;
          }
          sgemm_serial(false, false, m, D, jmax, 1.0f, dS, T, kb, ldk, 1.0f, dqb + i0 * ldq, ldq);
          sgemm_serial(true, false, jmax, D, m, 1.0f, dS, T, qb + i0 * ldq, ldq, 1.0f, dkb, ldk);
          sgemm_serial(true, false, jmax, D, m, 1.0f, P + i0 * T, T, gb + i0 * ldq, ldq, 1.0f, dvb,
            ldk);
        }
      }
    }
  });
}

}  // namespace C2L_ISA
}  // namespace c2l
