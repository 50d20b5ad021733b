// Embedding lookup: out[i, :] = table[ids[i], :]. Backward: dtable[ids[i], :] += dout[i, :].
// The backward splits by id (chunk t owns ids with id % chunks == t), so no two threads touch the
// same table row and each row still receives its contributions in order of i.
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t n, int64_t C) {
  parallel_for(n, row_grain(C), [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; i++)
      std::memcpy(out + i * C, table + static_cast<int64_t>(ids[i]) * C, sizeof(float) * C);
  });
}

void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t C) {
  const int chunks = parallel_chunks(n, row_grain(C));
  parallel_for(chunks, 1, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; t++) {
      for (int64_t i = 0; i < n; i++) {
        if (ids[i] % chunks != t) continue;
        float* dst = dtable + static_cast<int64_t>(ids[i]) * C;
        const float* src = dout + i * C;
        C2L_SIMD
        for (int64_t c = 0; c < C; c++) dst[c] += src[c];
      }
    }
  });
}

}  // namespace C2L_ISA
}  // namespace c2l
