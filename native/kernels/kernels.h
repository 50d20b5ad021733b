// code2lora native compute core: the kernel table.
//
// Every kernel of src/native/kernels.ts exists here once per instruction-set build (avx512, avx2,
// base). The same sources are compiled three times into namespaces c2l::avx512, c2l::avx2 and
// c2l::base; kernels() returns the table of the best build this CPU can run, chosen once at load.
// GEMM lives outside the table: BLIS chooses its own micro-kernels at run time (see gemm.cc).
//
// Conventions (as in kernels.ts): arrays are row-major float32; (outputs, inputs, dims, attributes);
// forward kernels overwrite outputs, backward kernels ACCUMULATE into gradient buffers. Arguments
// are validated by native/src/addon.cc before any kernel runs: kernels trust lengths and indices.
#pragma once
#include <cstdint>

namespace c2l {

struct KernelTable {
  const char* isa;
  // C[M,N] = alpha * A[M,K] @ B[N,K]^T + beta * C for M <= kSkinnyMaxRows (decoding); see gemm.cc.
  void (*skinny_gemm_nt)(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
    float alpha, float beta);
  void (*rmsnorm_forward)(float* out, float* rstd, const float* x, const float* weight, int64_t rows,
    int64_t C, float eps);
  void (*rmsnorm_backward)(float* dx, float* dweight, const float* dout, const float* x,
    const float* weight, const float* rstd, int64_t rows, int64_t C);
  // x, out: [BT, H, D]; cos, sin: [maxPos, D/2]; positions: [BT].
  void (*rope_forward)(float* out, const float* x, const float* cos, const float* sin,
    const int32_t* positions, int64_t BT, int64_t H, int64_t D);
  void (*rope_backward)(float* dx, const float* dout, const float* cos, const float* sin,
    const int32_t* positions, int64_t BT, int64_t H, int64_t D);
  // q, out: [B, Tq, H, D]; k, v: [B, Tkv, KV, D]; keyMask: [B, Tk] or null; probs: [B, H, Tq, Tk] or null.
  void (*attention_forward)(float* out, float* probs, const float* q, const float* k, const float* v,
    const uint8_t* keyMask, int64_t B, int64_t Tq, int64_t Tk, int64_t Tkv, int64_t H, int64_t KV,
    int64_t D, float scale);
  void (*attention_backward)(float* dq, float* dk, float* dv, const float* dout, const float* probs,
    const float* q, const float* k, const float* v, int64_t B, int64_t T, int64_t H, int64_t KV,
    int64_t D, float scale);
  void (*swiglu_forward)(float* out, const float* gate, const float* up, int64_t n);
  void (*swiglu_backward)(float* dgate, float* dup, const float* dout, const float* gate,
    const float* up, int64_t n);
  void (*cross_entropy_forward)(float* losses, float* lse, const float* logits,
    const int32_t* targets, int64_t rows, int64_t V);
  void (*cross_entropy_backward)(float* dlogits, const float* dlosses, const float* logits,
    const float* lse, const int32_t* targets, int64_t rows, int64_t V);
  void (*embedding_forward)(float* out, const float* table, const int32_t* ids, int64_t n, int64_t C);
  void (*embedding_backward)(float* dtable, const float* dout, const int32_t* ids, int64_t n,
    int64_t C);
  void (*add)(float* out, const float* a, const float* b, int64_t n);
  void (*axpy)(float* y, const float* x, float alpha, int64_t n);
  double (*sum_squares)(const float* x, int64_t n);
  void (*gelu_forward)(float* out, const float* x, int64_t n);
  void (*gelu_backward)(float* dx, const float* dout, const float* x, int64_t n);
  void (*layernorm_forward)(float* out, float* mean, float* rstd, const float* x, const float* weight,
    const float* bias, int64_t rows, int64_t C, float eps);
  void (*layernorm_backward)(float* dx, float* dweight, float* dbias, const float* dout,
    const float* x, const float* weight, const float* mean, const float* rstd, int64_t rows,
    int64_t C);
  void (*adamw)(float* param, const float* grad, float* m, float* v, int64_t n, float lr,
    double beta1, double beta2, float eps, float weightDecay, double step);
};

namespace avx512 { const KernelTable& table(); }
namespace avx2 { const KernelTable& table(); }
namespace base { const KernelTable& table(); }

/** The table for this CPU (avx512 > avx2 > base), chosen on first use. */
const KernelTable& kernels();
/** Switches to the "avx512", "avx2" or "base" build, or back to the "best"; false (no change) when
 *  this CPU cannot run it. A test hook: lets one machine check every build against the reference. */
bool select_isa(const char* isa);
/** CPU feature summary for info(): e.g. "avx512f avx512bw avx512vl avx512dq avx2 fma". */
const char* cpu_features();

// ---- GEMM (gemm.cc, BLIS) ------------------------------------------------------------------------

/** C[M,N] = alpha * op(A) @ op(B) + beta * C, row-major with leading dimensions; op(A) is [M,K]
 *  (A stored [K,lda>=M] when transA), op(B) is [K,N] (B stored [N,ldb>=K] when transB). beta == 0
 *  never reads C. Runs on the calling thread only: safe inside a parallel_for task. */
void sgemm_serial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

/** Products with at most this many rows of A (and B transposed) skip BLIS for skinny_gemm_nt. */
constexpr int64_t kSkinnyMaxRows = 8;

/** The same on contiguous arrays, split over the thread pool (each part one serial BLIS call). */
void matmul(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool transA,
  bool transB, float alpha, float beta);

/** How matmul spreads one product over the pool (exposed for the benchmark harness). */
enum class GemmSplit { kNone, kRows, kCols, kK };
GemmSplit choose_split(int64_t M, int64_t N, int64_t K, int threads);
void matmul_split(GemmSplit split, float* C, const float* A, const float* B, int64_t M, int64_t N,
  int64_t K, bool transA, bool transB, float alpha, float beta);

/** Sets up BLIS (sub-configuration choice, see gemm.cc) before its first use; idempotent. */
void gemm_init();
/** "blis 0.9.0 (skx, forced: ...)" for info(). */
const char* gemm_description();
const char* gemm_arch();

}  // namespace c2l
