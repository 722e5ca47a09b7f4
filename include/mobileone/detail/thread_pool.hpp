// A small fork-join pool: the calling thread and N-1 workers share the tasks of one parallel_for.
// Workers spin briefly before sleeping, since a network is ~50 back-to-back parallel layers of tens of
// microseconds each and a condition-variable wake-up per layer would cost as much as the layer.
// Tasks are claimed from an atomic counter; a task's result never depends on which thread ran it.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

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
  explicit ThreadPool(int threads) {
    const int workers = std::max(threads, 1) - 1;
    workers_.reserve(std::size_t(workers));
    for (int i = 0; i < workers; ++i) workers_.emplace_back([this] { worker_loop(); });
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int threads() const { return int(workers_.size()) + 1; }

  // Runs fn(task) for task in [0, tasks), returning when all are done.
  template <class Fn>
  void parallel_for(std::size_t tasks, const Fn& fn) {
    if (tasks == 0) return;
    if (workers_.empty() || tasks == 1) {
      for (std::size_t t = 0; t < tasks; ++t) fn(t);
      return;
    }
    job_ = &fn;
    invoke_ = [](const void* f, std::size_t t) { (*static_cast<const Fn*>(f))(t); };
    task_count_ = tasks;
    next_task_.store(0, std::memory_order_relaxed);
    pending_workers_.store(int(workers_.size()), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_tasks();
    while (pending_workers_.load(std::memory_order_acquire) != 0) cpu_relax();
  }

 private:
  void run_tasks() {
    for (std::size_t t; (t = next_task_.fetch_add(1, std::memory_order_relaxed)) < task_count_;) invoke_(job_, t);
  }

  void worker_loop() {
    unsigned seen = 0;
    for (;;) {
      unsigned now = generation_.load(std::memory_order_acquire);
      for (int spin = 0; now == seen && spin < kSpinIterations; ++spin) {
        cpu_relax();
        now = generation_.load(std::memory_order_acquire);
      }
      if (now == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        now = generation_.load(std::memory_order_acquire);
      }
      seen = now;
      if (stopping_) return;
      run_tasks();
      pending_workers_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  static constexpr int kSpinIterations = 20000;  // ~0.1-0.5 ms of pause instructions

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<unsigned> generation_{0};
  std::atomic<std::size_t> next_task_{0};
  std::atomic<int> pending_workers_{0};
  std::size_t task_count_ = 0;
  const void* job_ = nullptr;
  void (*invoke_)(const void*, std::size_t) = nullptr;
  bool stopping_ = false;
};

}  // namespace mobileone::detail
