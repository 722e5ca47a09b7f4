// A small fork-join pool: the calling thread and N-1 workers share the tasks of one parallel_for.
// Workers spin briefly before sleeping, since a network is ~50 back-to-back parallel layers of tens of
// microseconds each and a condition-variable wake-up per layer would cost as much as the layer. The spin
// is bounded in time, not in pause instructions (x86's pause alone takes ~10 cycles before Skylake, ~140
// since): long enough to bridge the gap between two layers, short enough that idle workers sleep between
// camera frames. Workers run where the pool's ThreadPlacement puts them (cpu_topology.hpp).
//
// A parallel_for ends when all of its tasks have finished, not when every worker has checked in: on a
// busy device a worker the OS has not scheduled yet would otherwise cost the caller a whole time slice
// per layer, although the caller can run every task itself. Tasks are claimed by compare-and-swap on one
// 64-bit word that holds the job's generation, its task count and the next task index. Because the count
// travels in the same word, a worker that wakes late, while the caller is already setting up the next
// job, can neither claim a task of that next job under the old generation nor mistake the old job's
// count for the new one; and a claim that succeeds proves the job it read the function of is still
// running. A task's result never depends on which thread ran it, so results are identical for any
// thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "../cpu_topology.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace mobileone::detail {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class ThreadPool {
 public:
  explicit ThreadPool(int threads, ThreadPlacement placement = {}) : placement_(std::move(placement)) {
    const int workers = std::max(threads, 1) - 1;
    workers_.reserve(std::size_t(workers));
    for (int i = 0; i < workers; ++i)
      workers_.emplace_back([this] {
        placement_.place_this_thread();  // a refusal leaves the worker where the OS put it
        worker_loop();
      });
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true, std::memory_order_relaxed);
      publish(0);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int threads() const { return int(workers_.size()) + 1; }

  // Hold for the duration of a run: the calling thread runs a share of every parallel_for, on the
  // workers' cores too (when its own mask allows them).
  CallerPlacement place_caller() const { return CallerPlacement(placement_); }

  // Runs fn(task) for task in [0, tasks), returning when all are done. Not reentrant: one caller at a time.
  template <class Fn>
  void parallel_for(std::size_t tasks, const Fn& fn) {
    if (tasks == 0) return;
    if (workers_.empty() || tasks == 1) {
      for (std::size_t t = 0; t < tasks; ++t) fn(t);
      return;
    }
    if (tasks > kMaxTasks) throw std::length_error("ThreadPool::parallel_for: more than 65535 tasks");
    job_.store(&fn, std::memory_order_relaxed);
    invoke_.store([](const void* f, std::size_t t) { (*static_cast<const Fn*>(f))(t); }, std::memory_order_relaxed);
    finished_.store(0, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);  // so a worker about to sleep cannot miss the new generation
      publish(tasks);
    }
    wake_.notify_all();
    const std::uint32_t generation = generation_of(claim_.load(std::memory_order_relaxed));
    run_tasks(generation);
    while (finished_.load(std::memory_order_acquire) != tasks) cpu_relax();
  }

 private:
  static constexpr std::size_t kMaxTasks = 0xffff;
  static std::uint32_t generation_of(std::uint64_t word) { return std::uint32_t(word >> 32); }
  static std::size_t count_of(std::uint64_t word) { return std::size_t((word >> 16) & 0xffff); }
  static std::size_t index_of(std::uint64_t word) { return std::size_t(word & 0xffff); }

  // Starts a new generation of `tasks` tasks; the job fields written before are released with it.
  void publish(std::size_t tasks) {
    const std::uint64_t next = generation_of(claim_.load(std::memory_order_relaxed)) + 1u;
    claim_.store(next << 32 | std::uint64_t(tasks) << 16, std::memory_order_release);
  }

  // Claims and runs tasks of `generation` until none is left or a newer generation has started.
  void run_tasks(std::uint32_t generation) {
    std::uint64_t word = claim_.load(std::memory_order_acquire);
    for (;;) {
      if (generation_of(word) != generation || index_of(word) >= count_of(word)) return;
      // Read before the claim; if the claim succeeds, the word did not change meanwhile, so this job was
      // running all along and these are its fields.
      const void* job = job_.load(std::memory_order_relaxed);
      const auto invoke = invoke_.load(std::memory_order_relaxed);
      // acq_rel, not acquire: a claim passes on what the publishing thread released, so whoever reads this
      // word next (possibly a worker that never saw the publishing store) sees the job's fields.
      if (!claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      invoke(job, index_of(word));
      finished_.fetch_add(1, std::memory_order_release);
      word = claim_.load(std::memory_order_acquire);
    }
  }

  void worker_loop() {
    std::uint32_t seen = 0;
    for (;;) {
      std::uint32_t now = generation_of(claim_.load(std::memory_order_acquire));
      if (now == seen) {
        const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
        for (unsigned spin = 1; now == seen; ++spin) {
          cpu_relax();
          now = generation_of(claim_.load(std::memory_order_acquire));
          if (spin % kSpinsPerClockRead == 0 && std::chrono::steady_clock::now() >= deadline) break;
        }
      }
      if (now == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_of(claim_.load(std::memory_order_acquire)) != seen; });
        now = generation_of(claim_.load(std::memory_order_acquire));
      }
      seen = now;
      if (stopping_.load(std::memory_order_relaxed)) return;
      run_tasks(now);
    }
  }

  static constexpr std::chrono::microseconds kSpinTime{200};
  static constexpr unsigned kSpinsPerClockRead = 32;

  ThreadPlacement placement_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<std::uint64_t> claim_{0};  // generation << 32 | task count << 16 | next task index
  std::atomic<std::size_t> finished_{0};
  std::atomic<const void*> job_{nullptr};
  std::atomic<void (*)(const void*, std::size_t)> invoke_{nullptr};
  std::atomic<bool> stopping_{false};
};

}  // namespace mobileone::detail
