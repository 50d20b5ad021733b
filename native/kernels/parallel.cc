// Persistent thread pool (see parallel.h). Compiled for the baseline ISA: it never runs kernel math.
//
// Workers spin for a short while after each job (kernels follow each other within microseconds in a
// training step) and then sleep on a condition variable, so an idle process uses no CPU.
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

inline void cpu_relax() { __builtin_ia32_pause(); }

thread_local bool t_in_task = false;

struct Job {
  RangeFn fn = nullptr;
  void* ctx = nullptr;
  int64_t n = 0;
  int chunks = 1;
};

class Pool {
 public:
  explicit Pool(int nthreads) { start(nthreads); }

  int threads() const { return nthreads_; }

  void restart(int nthreads) {
    stop();
    start(nthreads);
  }

  // Runs job on the caller (chunk 0) and the workers (chunk w + 1). Caller holds drive_.
  void run(const Job& job) {
    job_ = job;
    error_ = nullptr;
    remaining_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lk(sleep_mutex_); }
      wake_.notify_all();
    }
    run_chunk(0);
    int spins = 0;
    while (remaining_.load(std::memory_order_acquire) != 0) {
      if (++spins < 1 << 16) cpu_relax();
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
    const uint64_t seen = generation_.load(std::memory_order_acquire);
    for (int w = 0; w + 1 < nthreads; w++) workers_.emplace_back([this, w, seen] { worker_main(w, seen); });
  }

  void stop() {
    stopping_.store(true, std::memory_order_seq_cst);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    { std::lock_guard<std::mutex> lk(sleep_mutex_); }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  void run_chunk(int chunk) {
    if (chunk >= job_.chunks) return;
    const int64_t b = job_.n * chunk / job_.chunks;
    const int64_t e = job_.n * (chunk + 1) / job_.chunks;
    t_in_task = true;
    try {
      job_.fn(job_.ctx, b, e, chunk);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    t_in_task = false;
  }

  void worker_main(int w, uint64_t seen) {
    for (;;) {
      uint64_t g;
      auto spin_start = std::chrono::steady_clock::now();
      unsigned iter = 0;
      while ((g = generation_.load(std::memory_order_acquire)) == seen) {
        cpu_relax();
        if ((++iter & 255) == 0 && std::chrono::steady_clock::now() - spin_start > kSpinBeforeSleep) {
          std::unique_lock<std::mutex> lk(sleep_mutex_);
          sleepers_.fetch_add(1, std::memory_order_seq_cst);
          wake_.wait(lk, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
          sleepers_.fetch_sub(1, std::memory_order_seq_cst);
          spin_start = std::chrono::steady_clock::now();
        }
      }
      seen = g;
      if (stopping_.load(std::memory_order_acquire)) return;
      run_chunk(w + 1);
      remaining_.fetch_sub(1, std::memory_order_release);
    }
  }

  int nthreads_ = 1;
  std::vector<std::thread> workers_;
  Job job_;
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int> remaining_{0};
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
  if (!g_pool) g_pool = new Pool(available_cpus() < 64 ? available_cpus() : 64);
  return *g_pool;
}

int chunks_for(int64_t n, int64_t grain, int threads) {
  if (grain < 1) grain = 1;
  if (n < 2 * grain || threads <= 1) return 1;
  const int64_t by_grain = n / grain;
  return static_cast<int>(by_grain < threads ? by_grain : threads);
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
  if (n > 64) n = 64;
  Pool& p = pool();
  std::lock_guard<std::mutex> drive(p.drive_);
  if (p.threads() != n) p.restart(n);
}

int parallel_chunks(int64_t n, int64_t grain) { return chunks_for(n, grain, num_threads()); }

void parallel_range(int64_t n, int64_t grain, RangeFn fn, void* ctx) {
  if (n <= 0) return;
  Pool& p = pool();
  const int chunks = chunks_for(n, grain, p.threads());
  if (chunks <= 1 || t_in_task) {
    fn(ctx, 0, n, 0);
    return;
  }
  std::unique_lock<std::mutex> drive(p.drive_, std::try_to_lock);
  if (!drive.owns_lock()) {  // another thread drives the pool: do the work here, serially
    fn(ctx, 0, n, 0);
    return;
  }
  Job job;
  job.fn = fn;
  job.ctx = ctx;
  job.n = n;
  job.chunks = chunks;
  p.run(job);
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
