// The kernel table of one instruction-set build (namespace C2L_ISA).
#include "ops.h"

namespace c2l {
namespace C2L_ISA {

#define C2L_XSTR(x) C2L_STR(x)

const KernelTable& table() {
  static const KernelTable t = {
    C2L_XSTR(C2L_ISA),
    skinny_gemm_nt,
    rmsnorm_forward, rmsnorm_backward,
    rope_forward, rope_backward,
    attention_forward, attention_backward,
    swiglu_forward, swiglu_backward,
    cross_entropy_forward, cross_entropy_backward,
    embedding_forward, embedding_backward,
    add, axpy, sum_squares,
    gelu_forward, gelu_backward,
    layernorm_forward, layernorm_backward,
    adamw,
  };
  return t;
}

}  // namespace C2L_ISA
}  // namespace c2l
