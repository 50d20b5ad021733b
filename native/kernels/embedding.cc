// Embedding lookup: out[i, :] = table[ids[i], :]. Backward: dtable[ids[i], :] += dout[i, :].
// The backward splits by id (owner t of k handles ids with id % k == t), so no two threads touch
// the same table row and each row still receives its contributions in order of i.
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

namespace {

void forward_rows(float* out, const float* table, const int32_t* ids, int64_t C, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i++)
    std::memcpy(out + i * C, table + static_cast<int64_t>(ids[i]) * C, sizeof(float) * C);
}

void backward_owned(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t C,
  int chunks, int64_t owner) {
  for (int64_t i = 0; i < n; i++) {
    if (ids[i] % chunks != owner) continue;
    float* dst = dtable + static_cast<int64_t>(ids[i]) * C;
    const float* src = dout + i * C;
    C2L_SIMD
    for (int64_t c = 0; c < C; c++) dst[c] += src[c];
  }
}

}  // namespace

void embedding_forward(float* out, const float* table, const int32_t* ids, int64_t n, int64_t C) {
  parallel_for(n, row_grain(C), [=](int64_t i0, int64_t i1, int) { forward_rows(out, table, ids, C, i0, i1); });
}

void embedding_backward(float* dtable, const float* dout, const int32_t* ids, int64_t n, int64_t C) {
  // One owner per thread: each owner scans all n ids.
  const int owners = parallel_chunks(n, row_grain(C), 1);
  parallel_for_parts(owners, [=](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; t++) backward_owned(dtable, dout, ids, n, C, owners, t);
  });
}

}  // namespace C2L_ISA
}  // namespace c2l
