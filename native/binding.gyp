# code2lora native core. Build: npm run build:native (node-gyp rebuild --directory native).
#
# The kernel sources are compiled three times, for x86-64-v4 (AVX-512), x86-64-v3 (AVX2+FMA) and
# baseline x86-64, each into its own namespace (c2l::avx512 / avx2 / base); the addon picks the best
# one the CPU supports at load time (kernels/gemm.cc), so no machine gets SIGILL. Only these three
# static libraries carry ISA flags; the addon, the pool and the BLIS wrapper are baseline code.
{
  'variables': {
    'kernel_sources': [
      'kernels/rmsnorm.cc', 'kernels/rope.cc', 'kernels/attention.cc', 'kernels/swiglu.cc',
      'kernels/cross_entropy.cc', 'kernels/embedding.cc', 'kernels/elementwise.cc',
      'kernels/gelu.cc', 'kernels/layernorm.cc', 'kernels/adamw.cc', 'kernels/skinny_gemm.cc', 'kernels/table.cc',
    ],
  },
  'target_defaults': {
    'cflags!': ['-fno-exceptions', '-O0', '-O2'],
    'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-std=gnu++17'],
    'cflags': ['-O3', '-fPIC', '-fno-math-errno', '-fopenmp-simd'],
    'cflags_cc': ['-std=c++17', '-fexceptions', '-Wno-unknown-pragmas'],
    'include_dirs': [
      'kernels',
      '/usr/include/x86_64-linux-gnu/blis-openmp',
      '/usr/include/x86_64-linux-gnu/blis-pthread',
      '/usr/include/x86_64-linux-gnu/blis-serial',
      '/usr/include/blis',
    ],
  },
  'targets': [
    {
      'target_name': 'c2l_kernels_avx512',
      'type': 'static_library',
      'sources': ['<@(kernel_sources)'],
      'defines': ['C2L_ISA=avx512'],
      'cflags': ['-march=x86-64-v4', '-mtune=znver3', '-mprefer-vector-width=512'],
    },
    {
      'target_name': 'c2l_kernels_avx2',
      'type': 'static_library',
      'sources': ['<@(kernel_sources)'],
      'defines': ['C2L_ISA=avx2'],
      'cflags': ['-march=x86-64-v3', '-mtune=znver3'],
    },
    {
      'target_name': 'c2l_kernels_base',
      'type': 'static_library',
      'sources': ['<@(kernel_sources)'],
      'defines': ['C2L_ISA=base'],
      'cflags': ['-march=x86-64', '-mtune=generic'],
    },
    {
      'target_name': 'code2lora_native',
      'sources': ['src/addon.cc', 'kernels/parallel.cc', 'kernels/gemm.cc'],
      'dependencies': ['c2l_kernels_avx512', 'c2l_kernels_avx2', 'c2l_kernels_base'],
      'defines': ['NAPI_VERSION=8'],
      'libraries': ['-lblis', '-pthread'],
    },
  ],
}
