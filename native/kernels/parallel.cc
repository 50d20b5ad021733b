// Persistent thread pool (see parallel.h). Compiled for the baseline ISA: it never runs kernel math.
//
// A job is published in one 64-bit word, state = [generation:32][chunks:16][next:16]; the caller
// and the workers claim chunk `next` with a compare-and-swap that also checks the generation, then
// read the job fields (which stay valid until every claimed chunk of the job is done). The caller
// runs chunks too and then waits for `done` to reach the chunk count, i.e. only for chunks that a
// running worker holds. Workers spin briefly after each job (kernels follow each other within
// microseconds in a training step), then sleep on a condition variable, so an idle process uses no
// CPU.
#include "parallel.h"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

namespace c2l {
namespace {

constexpr auto kSpinBeforeSleep = std::chrono::microseconds(200);
constexpr int kWaitSpins = 2000;  // caller: a few microseconds of pause before yielding

inline void cpu_relax() { __builtin_ia32_pause(); }

inline uint32_t gen_of(uint64_t s) { return static_cast<uint32_t>(s >> 32); }
inline uint32_t chunks_of(uint64_t s) { return static_cast<uint32_t>(s >> 16) & 0xffffu; }
inline uint32_t next_of(uint64_t s) { return static_cast<uint32_t>(s) & 0xffffu; }

thread_local bool t_in_task = false;

class Pool {
 public:
  explicit Pool(int nthreads) { start(nthreads); }

  int threads() const { return nthreads_; }

  void restart(int nthreads) {
    stop();
    start(nthreads);
  }

  // Caller holds drive_. chunks <= 0xffff.
  void run(RangeFn fn, void* ctx, int64_t n, int chunks) {
    fn_ = fn;
    ctx_ = ctx;
    n_ = n;
    chunks_ = chunks;
    error_ = nullptr;
    done_.store(0, std::memory_order_relaxed);
    const uint32_t gen = gen_of(state_.load(std::memory_order_relaxed)) + 1;
    state_.store((static_cast<uint64_t>(gen) << 32) | (static_cast<uint64_t>(chunks) << 16),
      std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lk(sleep_mutex_); }
      wake_.notify_all();
    }
    work(gen);
    // Every chunk is claimed; wait for those still running on workers. Spin briefly, then yield,
    // so that a preempted worker gets this CPU rather than a spinning caller.
    for (int spins = 0; done_.load(std::memory_order_acquire) != static_cast<uint32_t>(chunks); spins++) {
      if (spins < kWaitSpins) cpu_relax();
      else std::this_thread::yield();
    }
    if (error_) std::rethrow_exception(error_);
  }

  std::mutex drive_;  // one driving thread at a time; others run inline

 private:
  void start(int nthreads) {
    nthreads_ = nthreads;
    stopping_.store(false);
    // The generation is read here, not in the new thread: a job posted before the thread first
    // runs must still count as new for it.
    const uint32_t seen = gen_of(state_.load(std::memory_order_acquire));
    for (int w = 0; w + 1 < nthreads; w++) workers_.emplace_back([this, seen] { worker_main(seen); });
  }

  void stop() {
    stopping_.store(true, std::memory_order_seq_cst);
    const uint32_t gen = gen_of(state_.load(std::memory_order_relaxed)) + 1;
    state_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_seq_cst);  // a job of 0 chunks
    { std::lock_guard<std::mutex> lk(sleep_mutex_); }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  // Claims and runs chunks of job `gen` until none is left or another job replaced it.
  void work(uint32_t gen) {
    uint64_t s = state_.load(std::memory_order_acquire);
    for (;;) {
      if (gen_of(s) != gen || next_of(s) >= chunks_of(s)) return;
      if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire))
        continue;  // s was reloaded
      run_chunk(static_cast<int>(next_of(s)));
      done_.fetch_add(1, std::memory_order_release);
      s = state_.load(std::memory_order_acquire);
    }
  }

  void run_chunk(int chunk) {
    const int64_t b = n_ * chunk / chunks_;
    const int64_t e = n_ * (chunk + 1) / chunks_;
    t_in_task = true;
    try {
      fn_(ctx_, b, e, chunk);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    t_in_task = false;
  }

  void worker_main(uint32_t seen) {
    for (;;) {
      uint32_t g;
      auto spin_start = std::chrono::steady_clock::now();
      unsigned iter = 0;
      while ((g = gen_of(state_.load(std::memory_order_acquire))) == seen) {
        cpu_relax();
        // (No sched_yield here: measured on the project VM, it made a spinning worker notice new
        // jobs so late that the caller had claimed ~94% of the chunks.)
        if ((++iter & 63) != 0) continue;
        if (std::chrono::steady_clock::now() - spin_start > kSpinBeforeSleep) {
          std::unique_lock<std::mutex> lk(sleep_mutex_);
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          wake_.wait(lk, [&] { return gen_of(state_.load(std::memory_order_seq_cst)) != seen; });
          sleepers_.fetch_sub(1, std::memory_order_seq_cst);
          spin_start = std::chrono::steady_clock::now();
        }
      }
      seen = g;
      if (stopping_.load(std::memory_order_acquire)) return;
      work(g);
    }
  }

  int nthreads_ = 1;
  std::vector<std::thread> workers_;
  // The current job; written by the caller before it publishes the generation in state_.
  RangeFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0;
  int chunks_ = 1;
  alignas(64) std::atomic<uint64_t> state_{0};
  alignas(64) std::atomic<uint32_t> done_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

std::mutex g_pool_mutex;  // guards creation and restarts
Pool* g_pool = nullptr;   // leaked on purpose: workers sleep at exit, no join during teardown

Pool& pool() {
  std::lock_guard<std::mutex> lk(g_pool_mutex);
  if (!g_pool) g_pool = new Pool(available_cpus() < kMaxThreads ? available_cpus() : kMaxThreads);
  return *g_pool;
}

int chunks_for(int64_t n, int64_t grain, int threads, int per_thread) {
  if (grain < 1) grain = 1;
  if (per_thread < 1) per_thread = 1;
  if (n < 2 * grain || threads <= 1) return 1;
  const int64_t by_grain = n / grain;
  const int64_t cap = static_cast<int64_t>(threads) * per_thread;
  return static_cast<int>(by_grain < cap ? by_grain : cap);
}

}  // namespace

int available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned hc = std::thread::hardware_concurrency();
  return hc > 0 ? static_cast<int>(hc) : 1;
}

int num_threads() { return pool().threads(); }

void set_num_threads(int n) {
  if (n < 1) n = 1;
  if (n > kMaxThreads) n = kMaxThreads;
  Pool& p = pool();
  std::lock_guard<std::mutex> drive(p.drive_);
  if (p.threads() != n) p.restart(n);
}

int parallel_chunks(int64_t n, int64_t grain, int per_thread) {
  return chunks_for(n, grain, num_threads(), per_thread);
}

void parallel_range(int64_t n, int64_t grain, RangeFn fn, void* ctx, int per_thread) {
  if (n <= 0) return;
  Pool& p = pool();
  const int chunks = chunks_for(n, grain, p.threads(), per_thread);
  if (chunks <= 1 || t_in_task) {
    fn(ctx, 0, n, 0);
    return;
  }
  std::unique_lock<std::mutex> drive(p.drive_, std::try_to_lock);
  if (!drive.owns_lock()) {  // another thread drives the pool: do the work here, serially
    fn(ctx, 0, n, 0);
    return;
  }
  p.run(fn, ctx, n, chunks);
}

float* thread_scratch(size_t n, int slot) {
  struct Buffers {
    float* ptr[kScratchSlots] = {};
    size_t cap[kScratchSlots] = {};
    ~Buffers() {
      for (float* p : ptr) std::free(p);
    }
  };
  thread_local Buffers buffers;
  if (slot < 0 || slot >= kScratchSlots) slot = 0;
  if (buffers.cap[slot] < n) {
    const size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    void* fresh = std::aligned_alloc(64, bytes);
    if (!fresh) throw std::bad_alloc();
    std::free(buffers.ptr[slot]);
    buffers.ptr[slot] = static_cast<float*>(fresh);
    buffers.cap[slot] = bytes / sizeof(float);
  }
  return buffers.ptr[slot];
}

}  // namespace c2l
