// A small persistent thread pool: the only threading layer of the native core.
//
// parallel_for(n, grain, f) splits [0, n) into equal contiguous chunks of at least `grain` items,
// at most kChunksPerThread per thread, and calls f(begin, end, chunk) once per chunk. The calling
// thread and the workers claim chunks from a shared counter, so a worker that is late (descheduled
// by other processes, more threads than CPUs) never holds the caller up: the caller takes its
// chunks and waits only for chunks already running. Chunk boundaries depend only on (n, grain,
// num_threads()), so per-chunk partial sums (sized with parallel_chunks) are deterministic.
// parallel_for_parts(n, f) uses one chunk per thread (for GEMM, where a part should stay large).
// Runs inline (one chunk) when n < 2 * grain, with one thread, inside a pool task (no nesting) or
// when another thread already drives the pool. An exception thrown by a chunk is rethrown to the
// caller once all claimed chunks finished. GEMM calls inside tasks must be serial (sgemm_serial).
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace c2l {

using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end, int chunk);

constexpr int kChunksPerThread = 4;
constexpr int kMaxThreads = 64;
constexpr int kMaxChunks = kChunksPerThread * kMaxThreads;

/** per_thread: chunks per thread at most (kChunksPerThread, or 1 for one part per thread). */
void parallel_range(int64_t n, int64_t grain, RangeFn fn, void* ctx, int per_thread = kChunksPerThread);
/** How many chunks parallel_range(n, grain) will use (to size per-chunk partial buffers). */
int parallel_chunks(int64_t n, int64_t grain, int per_thread = kChunksPerThread);

int num_threads();
/** 1..kMaxThreads; restarts the workers. Not to be called from inside a task. */
void set_num_threads(int n);
/** CPUs this process may run on (sched_getaffinity), the default thread count. */
int available_cpus();

constexpr int kScratchSlots = 6;
/** A 64-byte-aligned per-thread buffer of at least n floats, reused across calls; slots
 *  0..kScratchSlots-1 let a kernel hold several at once. Contents are unspecified. Throws
 *  std::bad_alloc on failure. */
float* thread_scratch(size_t n, int slot);

template <class F>
inline void parallel_for(int64_t n, int64_t grain, F&& f, int per_thread = kChunksPerThread) {
  using Fn = std::remove_reference_t<F>;
  struct Tramp {
    static void call(void* ctx, int64_t b, int64_t e, int chunk) { (*static_cast<Fn*>(ctx))(b, e, chunk); }
  };
  parallel_range(n, grain, &Tramp::call, const_cast<void*>(static_cast<const void*>(&f)), per_thread);
}

/** One chunk per thread: [0, n) in num_threads() parts (fewer when n is smaller). */
template <class F>
inline void parallel_for_parts(int64_t n, F&& f) {
  parallel_for(n, 1, static_cast<F&&>(f), 1);
}

}  // namespace c2l
