// Concurrency: several threads share one immutable Model, each running its own Context whose thread pool
// has 2 or 3 threads; contexts are created, run, re-planned for new sizes and destroyed concurrently, and
// the Model's last user may be a context on another thread. Every result must equal the single-threaded
// one bit for bit. Built into every test preset; the `tsan` preset runs it under ThreadSanitizer, which
// reports any data race in the pool or in shared model state.
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include <mobileone/mobileone.hpp>

#include "support/blob_writer.hpp"

using namespace mobileone;

namespace {

std::vector<float> random_input(int height, int width, std::uint64_t seed) {
  WeightRandom random(seed);
  std::vector<float> x(std::size_t(3) * std::size_t(height) * std::size_t(width));
  for (float& v : x) v = random.uniform(-1.f, 1.f);
  return x;
}

struct Case {
  int height, width;
  std::vector<float> input;
  std::vector<float> logits;  // single-threaded reference
};

}  // namespace

TEST_CASE("contexts on one model in several threads, each with its own pool, agree bitwise") {
  // Squeeze-excite in two stages, odd channel counts: every layer kind and every pool split runs.
  const Architecture arch{"concurrency", 16, {1, 2, 1}, {16, 33, 48}, {0, 1, 1}, 7};
  const auto blob = random_model_blob(arch, 11, 24);
  const Model model = Model::from_buffer(blob.data(), blob.size());

  for (Isa isa : {Isa::scalar, best_isa()}) {
    CAPTURE(isa_name(isa));
    std::vector<Case> cases;
    for (auto [h, w] : {std::pair{24, 20}, {9, 31}, {33, 33}}) {
      Case c{h, w, random_input(h, w, std::uint64_t(h * 100 + w)), {}};
      Context reference(model, Options{1, isa});
      c.logits = reference.run(c.input.data(), 3, h, w);
      cases.push_back(std::move(c));
    }

    constexpr int kThreads = 4, kRounds = 3;
    std::atomic<int> mismatches{0}, runs{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        Model shared = model;  // copies share the one immutable ModelData
        Context context(shared, Options{2 + t % 2, isa});
        for (int round = 0; round < kRounds; ++round)
          for (std::size_t i = 0; i < cases.size(); ++i) {
            const Case& c = cases[(i + std::size_t(t)) % cases.size()];  // threads re-plan at different times
            const std::vector<float>& logits = context.run(c.input.data(), 3, c.height, c.width);
            if (std::memcmp(logits.data(), c.logits.data(), c.logits.size() * sizeof(float)) != 0) ++mismatches;
            context.top_k(3);
            context.feature_map(shared.num_stages());
            ++runs;
          }
        // A short-lived context on the same model, created and destroyed while the others run.
        Context extra(shared, Options{3, isa});
        const std::vector<float>& logits = extra.run(cases[0].input.data(), 3, cases[0].height, cases[0].width);
        if (std::memcmp(logits.data(), cases[0].logits.data(), cases[0].logits.size() * sizeof(float)) != 0) ++mismatches;
      });
    for (auto& thread : threads) thread.join();
    CHECK(runs.load() == kThreads * kRounds * int(cases.size()));
    CHECK(mismatches.load() == 0);
  }
}

TEST_CASE("image classification in several threads, and a context that outlives every Model handle") {
  const Architecture arch{"concurrency_image", 8, {1, 1}, {12, 20}, {0, 0}, 5};
  const auto blob = random_model_blob(arch, 12, 16);
  std::vector<std::uint8_t> pixels(std::size_t(37) * 29 * 4);
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = std::uint8_t(i * 7 + i / 13);
  const ImageView image{pixels.data(), 37, 29, 0, PixelFormat::rgba8};

  std::vector<float> reference;
  {
    Context context(Model::from_buffer(blob.data(), blob.size()), Options{1, Isa::scalar});
    reference = context.run(image);
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  {
    const Model model = Model::from_buffer(blob.data(), blob.size());
    for (int t = 0; t < 3; ++t)
      threads.emplace_back([&mismatches, &reference, image, context = std::make_shared<Context>(model, Options{2, Isa::scalar})] {
        for (int round = 0; round < 3; ++round) {
          const std::vector<float>& logits = context->run(image);
          if (std::memcmp(logits.data(), reference.data(), reference.size() * sizeof(float)) != 0) ++mismatches;
        }
      });
  }  // the last Model handle goes away while the contexts still run
  for (auto& thread : threads) thread.join();
  CHECK(mismatches.load() == 0);
}

TEST_CASE("thread pool: every task of every job runs exactly once, also with more threads than cores") {
  // 6 threads on this 2-core machine: workers are often descheduled and wake while a later job runs, the
  // case where a late worker must not run (or re-run) a task of a job that has already returned.
  for (int threads : {2, 3, 6}) {
    CAPTURE(threads);
    mobileone::detail::ThreadPool pool(threads);
    std::vector<std::atomic<int>> runs(64);
    bool exact = true;
    for (int job = 0; job < 3000; ++job) {
      const std::size_t tasks = 2 + std::size_t(job % 63);
      for (auto& count : runs) count.store(0, std::memory_order_relaxed);
      pool.parallel_for(tasks, [&](std::size_t t) { runs[t].fetch_add(1, std::memory_order_relaxed); });
      // parallel_for has returned: each task ran once, and no stale worker touches this job any more.
      for (std::size_t t = 0; t < runs.size(); ++t) exact &= runs[t].load() == (t < tasks ? 1 : 0);
    }
    CHECK(exact);
  }
}
