// fp32 GEMM on BLIS (Debian libblis 0.9.0), plus the CPU dispatch of the kernel table.
//
// Choice by measurement (src/bench/gemm_bench.cc, best of 7, GFLOP/s as 1 thread / 2 threads
// with the library's own threading; project VM: 2 vCPUs reported as AMD family 0x19 model 0x11,
// AVX-512 F/DQ/BW/VL/BF16, quiet machine):
//   M,N,K,op            BLIS skx   BLIS zen3 (auto)  OpenBLAS Haswell  OpenBLAS auto (Cooperlake)
//   2048,768,256,nn     102/207     97/210           107/200           102/191
//   2048,1024,256,nt    101/208    108/213           107/203            98/183
//   2048,256,1024,nn     95/199    100/205           103/206            96/185
//   2048,8192,256,nt    101/203    104/207           105/197           102/187
//   2048,256,8192,nn     93/180     99/193            99/201            94/186
//   8192,256,2048,tn     89/177     97/187            94/186            97/180
//   256,768,2048,tn      89/178     74/139           104/201            99/195
//   256,256,32,nt        85/122     49/92             99/144            93/140
// On this CPU, which executes AVX-512 on 256-bit units, every library sits at the FMA peak of
// ~105 GFLOP/s per core, within +-10% of each other. The stack notes measured a Zen 5 (full 512-bit
// units): there OPENBLAS_CORETYPE=Haswell (set in this environment on purpose and kept in tests
// and CI) halves OpenBLAS, while BLIS with its AVX-512 'skx' kernels and a hand-written AVX-512
// kernel both reach ~250 / 500 GFLOP/s. Hence:
//   - BLIS, because its speed does not depend on OPENBLAS_CORETYPE, because its expert API takes a
//     per-call thread count (rntm_t), which lets the pool below be the only threading layer, and
//     because it selects its kernels at run time (no SIGILL on a CPU without AVX-512);
//   - not a hand-written GEMM: no faster than BLIS skx in the stack-notes measurement, and BLIS
//     covers all transposes, strides and edge sizes. (The attention products, tiny and strided,
//     do use hand-written micro-kernels: see attention.cc.)
// With our pool splitting each product (below), 2 threads reach 177-207 GFLOP/s at the model
// shapes, matching or beating BLIS's own threading (e.g. 201 vs 191 at 2048,768,256).
//
// BLIS sub-configuration. BLIS 0.9.0's auto-detection (frame/base/bli_cpuid.c) gives AMD CPUs no
// AVX-512 kernels at all: family 0x19 (Zen 3 and Zen 4, like this VM) gets the AVX2 'zen3' kernels,
// and a Zen 5 (family 0x1A) falls to the slow 'generic' ones (45/90 GFLOP/s in the stack notes). The
// only selection BLIS 0.9 offers is the BLIS_ARCH_TYPE environment variable, an index into its
// arch_t enum (bli_type_defs.h: BLIS_ARCH_SKX = 0, BLIS_ARCH_HASWELL = 3, BLIS_ARCH_ZEN3 = 6, ...),
// read once when BLIS initialises (bli_arch_set_id, on the first BLIS call). gemm_init() therefore
// runs before any BLIS call and, when this CPU and OS support AVX-512 F/DQ/BW/VL, sets
// BLIS_ARCH_TYPE to BLIS_ARCH_SKX unless the user set it. A user value is kept only if it names a
// sub-configuration this CPU can run; otherwise it is replaced (BLIS would abort the process on an
// id it was not built with, and an AVX-512 id on a CPU without it would die with SIGILL). Without
// AVX-512 the variable is left unset and BLIS auto-detects (haswell/zen kernels or generic).
// Note: BLIS_ARCH_TYPE is index-based and the index must be read from this BLIS's header, which
// is why the code uses the enum constants rather than literal numbers.
//
// Threading: matmul() splits the product over the pool, by row blocks, column blocks or K slices
// (choose_split), and makes one single-threaded BLIS call per part (rntm with 1 thread). BLIS's own
// OpenMP threads are never started, so they cannot spin against the pool's threads on 2 cores.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtype-limits"  // blis.h compares an unsigned id with 0
#include <blis.h>
#pragma GCC diagnostic pop

#include <cpuid.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "kernels.h"
#include "parallel.h"

namespace c2l {
namespace {

struct CpuFlags {
  bool avx512 = false;  // F + DQ + BW + VL with OS support (what BLIS skx and -march=x86-64-v4 use)
  bool avx2 = false;    // AVX2 + FMA + F16C + BMI1/2 + LZCNT + MOVBE with OS support (x86-64-v3)
  std::string names;
};

const CpuFlags& cpu_flags() {
  static const CpuFlags flags = [] {
    CpuFlags f;
    __builtin_cpu_init();
    // __builtin_cpu_supports also checks that the OS saves the AVX / AVX-512 register state (XCR0).
    f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
             __builtin_cpu_supports("f16c");
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) f.avx2 = f.avx2 && (c & (1u << 22));           // MOVBE
    if (__get_cpuid(0x80000001, &a, &b, &c, &d)) f.avx2 = f.avx2 && (c & (1u << 5));   // LZCNT
#define C2L_FLAG(name) \
    if (__builtin_cpu_supports(name)) f.names += (f.names.empty() ? "" : " ") + std::string(name);
    C2L_FLAG("avx512f") C2L_FLAG("avx512dq") C2L_FLAG("avx512bw") C2L_FLAG("avx512vl")
    C2L_FLAG("avx512bf16") C2L_FLAG("avx2") C2L_FLAG("fma")
#undef C2L_FLAG
    return f;
  }();
  return flags;
}

std::once_flag g_gemm_once;
std::string g_gemm_desc;
std::string g_gemm_arch;

// Sub-configurations the Debian x86_64 BLIS build registers, with what each needs from the CPU.
bool arch_runs_here(long id) {
  const CpuFlags& f = cpu_flags();
  switch (id) {
    case BLIS_ARCH_SKX: return f.avx512;
    case BLIS_ARCH_HASWELL:
    case BLIS_ARCH_ZEN3:
    case BLIS_ARCH_ZEN2:
    case BLIS_ARCH_ZEN: return f.avx2;
    case BLIS_ARCH_SANDYBRIDGE: return __builtin_cpu_supports("avx");
    case BLIS_ARCH_PENRYN:
    case BLIS_ARCH_GENERIC: return true;
    default: return false;
  }
}

void do_gemm_init() {
  std::string how;
  const char* user = std::getenv("BLIS_ARCH_TYPE");
  char* end = nullptr;
  const long user_id = user ? std::strtol(user, &end, 10) : -1;
  const bool user_ok = user && end != user && *end == '\0' && arch_runs_here(user_id);
  if (user_ok) {
    how = "BLIS_ARCH_TYPE=" + std::string(user) + " from the environment";
  } else {
    if (user) unsetenv("BLIS_ARCH_TYPE");
    if (cpu_flags().avx512) {
      setenv("BLIS_ARCH_TYPE", std::to_string(static_cast<int>(BLIS_ARCH_SKX)).c_str(), 1);
      how = "forced to skx (AVX-512) via BLIS_ARCH_TYPE";
    } else {
      how = "auto-detected";
    }
    if (user) how += "; ignored BLIS_ARCH_TYPE=" + std::string(user) + " (not usable on this CPU)";
  }
  bli_init();
  g_gemm_arch = bli_arch_string(bli_arch_query_id());
  g_gemm_desc = std::string("blis ") + bli_info_get_version_str() + " (" + g_gemm_arch + ", " + how + ")";
}

constexpr int kGemmSlot = kScratchSlots - 1;  // matmul runs on the calling thread, outside tasks

void add_into(float* __restrict dst, const float* __restrict src, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}

inline void blis_serial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  rntm_t rntm = BLIS_RNTM_INITIALIZER;
  bli_rntm_set_num_threads(1, &rntm);
  // Row-major storage: row stride = leading dimension, column stride = 1.
  bli_sgemm_ex(transA ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, transB ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
    M, N, K, &alpha, const_cast<float*>(A), lda, 1, const_cast<float*>(B), ldb, 1, &beta, C, ldc, 1,
    nullptr, &rntm);
}

}  // namespace

void gemm_init() { std::call_once(g_gemm_once, do_gemm_init); }
const char* gemm_description() { gemm_init(); return g_gemm_desc.c_str(); }
const char* gemm_arch() { gemm_init(); return g_gemm_arch.c_str(); }

void sgemm_serial(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha,
  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_init();
  blis_serial(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

GemmSplit choose_split(int64_t M, int64_t N, int64_t K, int threads) {
  // Below ~4 MFLOP per thread a second thread costs more than it saves.
  if (threads < 2 || 2 * M * N * K < (int64_t{1} << 22) * threads) return GemmSplit::kNone;
  // Measured at the model shapes (2 threads): row blocks win whenever each holds >= 512 rows;
  // short-and-deep products (weight gradients, M = 256..768, K = 2048) gain ~7% from a K split.
  if (M >= 512 * int64_t{threads}) return GemmSplit::kRows;
  if (K >= 2 * std::max(M, N)) return GemmSplit::kK;
  return M >= N ? GemmSplit::kRows : GemmSplit::kCols;
}

void matmul_split(GemmSplit split, float* C, const float* A, const float* B, int64_t M, int64_t N,
  int64_t K, bool transA, bool transB, float alpha, float beta) {
  gemm_init();
  const int64_t lda = transA ? M : K, ldb = transB ? K : N, ldc = N;
  if (split == GemmSplit::kNone || num_threads() < 2) {
    blis_serial(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  if (split == GemmSplit::kK) {
    // Part 0 accumulates into C with beta; part t > 0 writes a scratch block (beta 0) that is
    // then added to C. Each part keeps the full M x N tile shape, so BLIS runs at full efficiency.
    const int parts = num_threads();
    const int64_t unit = 64;  // keep K slices a multiple of BLIS's k unroll
    const int64_t units = (K + unit - 1) / unit;
    const int nparts = static_cast<int>(units < parts ? units : parts);
    float* partial = nparts > 1 ? thread_scratch(static_cast<size_t>(nparts - 1) * M * N, kGemmSlot) : nullptr;
    parallel_for_parts(nparts, [&](int64_t t0, int64_t t1, int) {
      for (int64_t t = t0; t < t1; t++) {
        const int64_t k0 = units * t / nparts * unit, k1 = std::min(K, units * (t + 1) / nparts * unit);
        const float* a = transA ? A + k0 * lda : A + k0;
        const float* b = transB ? B + k0 : B + k0 * ldb;
        if (t == 0) blis_serial(transA, transB, M, N, k1 - k0, alpha, a, lda, b, ldb, beta, C, ldc);
        else blis_serial(transA, transB, M, N, k1 - k0, alpha, a, lda, b, ldb, 0.0f, partial + (t - 1) * M * N, N);
      }
    });
    // C += partials, split over rows (each part adds its rows of every partial, in order).
    if (nparts > 1) {
      parallel_for(M, std::max<int64_t>(1, (int64_t{1} << 14) / N), [=](int64_t r0, int64_t r1, int) {
        for (int t = 1; t < nparts; t++) add_into(C + r0 * N, partial + (t - 1) * M * N + r0 * N, (r1 - r0) * N);
      });
    }
    return;
  }
  const bool rows = split == GemmSplit::kRows;
  const int64_t extent = rows ? M : N;
  const int64_t unit = rows ? 32 : 16;  // keep blocks aligned to BLIS skx micro-tiles
  const int64_t units = (extent + unit - 1) / unit;
  parallel_for_parts(units, [&](int64_t u0, int64_t u1, int) {
    const int64_t lo = u0 * unit, hi = std::min(u1 * unit, extent);
    if (lo >= hi) return;
    if (rows) {
      const float* a = transA ? A + lo : A + lo * lda;
      blis_serial(transA, transB, hi - lo, N, K, alpha, a, lda, B, ldb, beta, C + lo * ldc, ldc);
    } else {
      const float* b = transB ? B + lo * ldb : B + lo;
      blis_serial(transA, transB, M, hi - lo, K, alpha, A, lda, b, ldb, beta, C + lo, ldc);
    }
  });
}

void matmul(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K, bool transA,
  bool transB, float alpha, float beta) {
  if (M <= kSkinnyMaxRows && !transA && transB) {
    kernels().skinny_gemm_nt(C, A, B, M, N, K, alpha, beta);
    return;
  }
  matmul_split(choose_split(M, N, K, num_threads()), C, A, B, M, N, K, transA, transB, alpha, beta);
}

// ---- kernel table dispatch ----------------------------------------------------------------------

namespace {
const KernelTable* best_table() {
  const CpuFlags& f = cpu_flags();
  if (f.avx512) return &avx512::table();
  if (f.avx2) return &avx2::table();
  return &base::table();
}
std::atomic<const KernelTable*> g_table{nullptr};
}  // namespace

const KernelTable& kernels() {
  const KernelTable* t = g_table.load(std::memory_order_acquire);
  if (!t) {
    t = best_table();
    g_table.store(t, std::memory_order_release);
  }
  return *t;
}

bool select_isa(const char* isa) {
  const CpuFlags& f = cpu_flags();
  const KernelTable* t = nullptr;
  if (!std::strcmp(isa, "avx512") && f.avx512) t = &avx512::table();
  else if (!std::strcmp(isa, "avx2") && f.avx2) t = &avx2::table();
  else if (!std::strcmp(isa, "base")) t = &base::table();
  else if (!std::strcmp(isa, "best")) t = best_table();
  if (!t) return false;
  g_table.store(t, std::memory_order_release);
  return true;
}

const char* cpu_features() { return cpu_flags().names.c_str(); }

}  // namespace c2l
