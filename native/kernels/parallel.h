// A small persistent thread pool: the only threading layer of the native core.
//
// parallel_for(n, grain, f) splits [0, n) into at most num_threads() contiguous chunks and calls
// f(begin, end, chunk) once per chunk; the calling thread runs chunk 0. It runs inline (one chunk)
// when n < 2 * grain, when one thread is configured, when called from inside a pool task (no nesting)
// or when another thread already drives the pool. An exception thrown by a chunk is rethrown to the
// caller after all chunks finished. GEMM calls made inside tasks must be serial (sgemm_serial).
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace c2l {

using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end, int chunk);

void parallel_range(int64_t n, int64_t grain, RangeFn fn, void* ctx);
/** How many chunks parallel_range(n, grain) will use (to size per-chunk partial buffers). */
int parallel_chunks(int64_t n, int64_t grain);

int num_threads();
/** 1..64; restarts the workers. Not to be called from inside a task. */
void set_num_threads(int n);
/** CPUs this process may run on (sched_getaffinity), the default thread count. */
int available_cpus();

constexpr int kScratchSlots = 6;
/** A 64-byte-aligned per-thread buffer of at least n floats, reused across calls; slots
 *  0..kScratchSlots-1 let a kernel hold several at once. Contents are unspecified. Throws
 *  std::bad_alloc on failure. */
float* thread_scratch(size_t n, int slot);

template <class F>
inline void parallel_for(int64_t n, int64_t grain, F&& f) {
  using Fn = std::remove_reference_t<F>;
  struct Tramp {
    static void call(void* ctx, int64_t b, int64_t e, int chunk) { (*static_cast<Fn*>(ctx))(b, e, chunk); }
  };
  parallel_range(n, grain, &Tramp::call, const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace c2l
