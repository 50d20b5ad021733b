// Standalone GEMM library comparison (not part of the addon build). Build and run:
//   g++ -O2 -o /tmp/gb_blis -DUSE_BLIS src/bench/gemm_bench.cc -I/usr/include/x86_64-linux-gnu/blis-openmp -lblis -fopenmp
//   g++ -O2 -o /tmp/gb_oblas -DUSE_OPENBLAS src/bench/gemm_bench.cc -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas
// then e.g. `BLIS_ARCH_TYPE=0 /tmp/gb_blis 1`, `OPENBLAS_CORETYPE=Haswell /tmp/gb_oblas 2`.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#ifdef USE_BLIS
#include <blis.h>
#else
#include <cblas.h>
#endif

struct Shape { int M, N, K; bool ta, tb; };

int main(int argc, char** argv) {
  int nt = argc > 1 ? atoi(argv[1]) : 1;
  const Shape shapes[] = {
    {2048, 768, 256, false, false}, {2048, 1024, 256, false, true}, {2048, 256, 1024, false, false},
    {2048, 8192, 256, false, true}, {2048, 256, 8192, false, false}, {8192, 256, 2048, true, false},
    {256, 768, 2048, true, false}, {2048, 256, 768, false, true}, {1024, 256, 2048, true, false},
    {512, 512, 512, false, false}, {256, 256, 32, false, true},
  };
#ifdef USE_BLIS
  rntm_t rntm = BLIS_RNTM_INITIALIZER;
  bli_rntm_set_num_threads(nt, &rntm);
  bli_init();
  printf("BLIS arch %s\n", bli_arch_string(bli_arch_query_id()));
#else
  openblas_set_num_threads(nt);
  printf("OpenBLAS core %s\n", openblas_get_corename());
#endif
  for (const Shape& s : shapes) {
    std::vector<float> A((size_t)s.M * s.K, 0.5f), B((size_t)s.K * s.N, 0.25f), C((size_t)s.M * s.N);
    double best = 1e9;
    for (int rep = 0; rep < 7; rep++) {
      auto t0 = std::chrono::steady_clock::now();
      float one = 1, zero = 0;
#ifdef USE_BLIS
      bli_sgemm_ex(s.ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, s.tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
        s.M, s.N, s.K, &one, A.data(), s.ta ? s.M : s.K, 1, B.data(), s.tb ? s.K : s.N, 1,
        &zero, C.data(), s.N, 1, NULL, &rntm);
#else
      cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans,
        s.M, s.N, s.K, one, A.data(), s.ta ? s.M : s.K, B.data(), s.tb ? s.K : s.N, zero, C.data(), s.N);
#endif
      double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (dt < best) best = dt;
    }
    printf("M=%5d N=%5d K=%5d tA=%d tB=%d  %7.1f GFLOP/s\n", s.M, s.N, s.K, s.ta, s.tb,
      2.0 * s.M * s.N * s.K / best * 1e-9);
  }
}
