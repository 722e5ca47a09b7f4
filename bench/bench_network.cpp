// bench_network: whole-network latency of the engine (Google Benchmark).
//
// One benchmark per variant x ISA x thread count, on MobileOne S0..S4 with deterministic random weights
// (mobileone::random_model_blob, no weight file) at 224x224, batch 1:
//
//   network/s0/avx512/threads:1   ...   network/s4/scalar/threads:2
//
// Counters (per repetition; the aggregates give their median):
//   MACs     multiply-adds of one inference (bench/model_stats.hpp)
//   GMAC/s   MACs per second of wall-clock time of the timed loop
//   %peak    GMAC/s as a share of threads x the per-core peak (MOBILEONE_PEAK_GMACS, --peak_gmacs)
//
// Our options (stripped before Google Benchmark sees the rest):
//   --variants=s0,s1,...   --threads=1,2   --isa=avx512,avx2,scalar   --size=224   --seed=N
//   --peak_gmacs=58.5      (default: $MOBILEONE_PEAK_GMACS, else 58.5 = AMD Zen4 dev VM, one core)
// Defaults added unless given: --benchmark_repetitions=5 --benchmark_report_aggregates_only=true, so the
// console and JSON show mean/median/stddev/cv over 5 repetitions; read the median.
//
// The rates are computed from our own steady_clock measurement of the timed loop rather than with
// Counter::kIsRate + UseRealTime(), so the benchmark names stay as above (UseRealTime would append
// "/real_time"). The engine's calling thread works and spin-waits inside every run, so Google
// Benchmark's CPU-time-driven iteration count is close to the wall-clock one.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <mobileone/mobileone.hpp>

#include "bench_common.hpp"
#include "google_benchmark_main.hpp"
#include "model_stats.hpp"
#include "support/architecture.hpp"
#include "support/blob_writer.hpp"

namespace {

using mobileone::Isa;

struct Settings {
  std::vector<std::string> variants{std::begin(mobileone::bench::kVariants), std::end(mobileone::bench::kVariants)};
  std::vector<int> threads{1, 2};
  std::vector<Isa> isas;  // empty: every ISA this CPU and build support
  int size = 224;
  std::uint64_t seed = mobileone::bench::kDefaultSeed;
  mobileone::bench::PeakSetting peak = mobileone::bench::peak_from_environment();
};

// Parses and removes our flags; adds the repetition defaults. Returns the arguments for Google Benchmark.
std::vector<std::string> parse_arguments(int argc, char** argv, Settings& s) {
  std::vector<std::string> rest{argv[0]};
  bool has_repetitions = false, has_aggregates = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string v;
    if (mobileone::bench::take_flag(arg, "variants", v)) {
      s.variants = mobileone::bench::split_list(v);
      for (const std::string& name : s.variants) (void)mobileone::Architecture::variant(name);  // validates
    } else if (mobileone::bench::take_flag(arg, "threads", v)) {
      s.threads.clear();
      for (const std::string& t : mobileone::bench::split_list(v)) {
        const int n = std::atoi(t.c_str());
        if (n < 1) throw mobileone::Error("--threads expects positive integers, got '" + t + "'");
        s.threads.push_back(n);
      }
    } else if (mobileone::bench::take_flag(arg, "isa", v)) {
      s.isas.clear();
      for (const std::string& name : mobileone::bench::split_list(v)) s.isas.push_back(mobileone::parse_isa(name));
    } else if (mobileone::bench::take_flag(arg, "size", v)) {
      s.size = std::atoi(v.c_str());
      if (s.size < 32) throw mobileone::Error("--size must be >= 32");
    } else if (mobileone::bench::take_flag(arg, "seed", v)) {
      s.seed = std::strtoull(v.c_str(), nullptr, 10);
    } else if (mobileone::bench::take_flag(arg, "peak_gmacs", v)) {
      s.peak = mobileone::bench::parse_peak_flag(v);
    } else {
      if (arg.rfind("--benchmark_repetitions", 0) == 0) has_repetitions = true;
      if (arg.rfind("--benchmark_report_aggregates_only", 0) == 0 ||
          arg.rfind("--benchmark_display_aggregates_only", 0) == 0)
        has_aggregates = true;
      rest.push_back(arg);
    }
  }
  if (!has_repetitions) rest.push_back("--benchmark_repetitions=5");
  if (!has_aggregates) rest.push_back("--benchmark_report_aggregates_only=true");
  if (s.isas.empty()) {
    const std::vector<Isa> runnable = mobileone::runnable_isas();
    s.isas.assign(runnable.rbegin(), runnable.rend());  // best first
  }
  for (Isa isa : s.isas)
    if (isa == Isa::automatic || !mobileone::isa_supported(isa))
      throw mobileone::Error(std::string("--isa ") + mobileone::isa_name(isa) + " is not available on this CPU/build");
  return rest;
}

// One model per variant, built on first use and shared by the ISA/thread benchmarks of that variant.
const mobileone::Model& model_for(const std::string& variant, const Settings& s) {
  static std::map<std::string, std::unique_ptr<mobileone::Model>> cache;
  auto& slot = cache[variant];
  if (!slot) slot = std::make_unique<mobileone::Model>(mobileone::bench::random_variant_model(variant, s.seed, s.size));
  return *slot;
}

void bench_network(benchmark::State& state, const std::string& variant, Isa isa, int threads, const Settings& s) {
  const mobileone::Model& model = model_for(variant, s);
  const std::uint64_t macs = mobileone::bench::model_stats(model.layers(), s.size, s.size).macs;
  mobileone::Options options;
  options.threads = threads;
  options.isa = isa;
  mobileone::Context context(model, options);
  const std::vector<float> input = mobileone::bench::random_input(s.size, s.size);
  context.set_input(input.data(), 3, s.size, s.size);
  context.run();  // plans the workspace, touches every page and weight

  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const auto& logits = context.run();
    benchmark::DoNotOptimize(logits.data());
    benchmark::ClobberMemory();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const double gmacs = seconds > 0 ? double(macs) * double(state.iterations()) / seconds * 1e-9 : 0.0;
  state.counters["MACs"] = benchmark::Counter(double(macs), benchmark::Counter::kDefaults, benchmark::Counter::kIs1000);
  state.counters["GMAC/s"] = gmacs;
  state.counters["%peak"] = 100.0 * gmacs / (s.peak.gmacs_per_core * double(threads));
  state.SetLabel(std::string(mobileone::isa_name(context.isa())) + ", " + std::to_string(context.threads()) + " thread" +
                 (context.threads() == 1 ? "" : "s"));
}

std::vector<std::string> setup(int argc, char** argv, Settings& settings) {
  std::vector<std::string> args = parse_arguments(argc, argv, settings);
  mobileone::bench::add_benchmark_context(settings.peak, settings.size, settings.seed);
  benchmark::AddCustomContext("mobileone_best_isa", mobileone::isa_name(mobileone::best_isa()));
  for (const std::string& variant : settings.variants)
    for (Isa isa : settings.isas)
      for (int threads : settings.threads) {
        const std::string name = "network/" + variant + "/" + mobileone::isa_name(isa) + "/threads:" + std::to_string(threads);
        benchmark::RegisterBenchmark(name.c_str(), [=, &settings](benchmark::State& state) {
          bench_network(state, variant, isa, threads, settings);
        })->Unit(benchmark::kMillisecond);
      }
  return args;
}

}  // namespace

int main(int argc, char** argv) { return mobileone::bench::benchmark_main<Settings>("bench_network", argc, argv, setup); }
