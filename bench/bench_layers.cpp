// bench_layers: one Google Benchmark per layer of MobileOne S0..S4, plus the whole network.
//
// Models come from the architecture description with deterministic random weights (no weight file). Each
// layer runs alone through Context::run_layer, in the buffers, packing and thread split it has inside the
// network, so the names read like the network:
//
//   s0/stage0/conv3x3_s2/C3_224x224   s0/stage2.3/dw3x3_s1/C128_28x28   s0/stage2.3/pw1x1_to128/C128_28x28
//   s0/head/linear/C1024_1x1          s0/network
//
// Counters (per iteration; the aggregates give their median):
//   MACs, params       multiply-adds and parameters of the layer (bench/model_stats.hpp)
//   bytes              weights + input + output, fp32: the least memory traffic the layer needs
//   GFLOP/s            2 x MACs per second of wall-clock time
//   GB/s               bytes per second
//   %peak              MACs/s as a share of threads x the per-core peak (MOBILEONE_PEAK_GMACS, --peak_gmacs)
//
// Our options (stripped before Google Benchmark sees the rest):
//   --variants=s0,s1,...   --isa=avx512|avx2|neon|scalar (default: the best this CPU runs)   --threads=N
//   --size=224   --seed=N   --peak_gmacs=58.5
// JSON: --benchmark_format=json or --benchmark_out=FILE --benchmark_out_format=json. Select layers with
// --benchmark_filter, e.g. 's0/stage2' or '/dw3x3_s2/'.
//
// Rates come from our own steady_clock measurement of the timed loop (as in bench_network.cpp), so the
// names stay free of Google Benchmark's "/real_time" suffix.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <mobileone/mobileone.hpp>

#include "bench_common.hpp"
#include "google_benchmark_main.hpp"
#include "model_stats.hpp"

namespace {

using mobileone::Isa;
namespace bench = mobileone::bench;

struct Settings {
  std::vector<std::string> variants{std::begin(bench::kVariants), std::end(bench::kVariants)};
  Isa isa = Isa::automatic;
  int threads = 1;
  int size = 224;
  std::uint64_t seed = bench::kDefaultSeed;
  bench::PeakSetting peak = bench::peak_from_environment();
};

std::vector<std::string> parse_arguments(int argc, char** argv, Settings& s) {
  std::vector<std::string> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string v;
    if (bench::take_flag(arg, "variants", v)) {
      s.variants = bench::split_list(v);
      for (const std::string& name : s.variants) (void)mobileone::Architecture::variant(name);  // validates
    } else if (bench::take_flag(arg, "isa", v)) {
      s.isa = mobileone::resolve_isa(mobileone::parse_isa(v));  // throws if this CPU/build lacks it
    } else if (bench::take_flag(arg, "threads", v)) {
      s.threads = std::atoi(v.c_str());
      if (s.threads < 1) throw mobileone::Error("--threads expects a positive integer, got '" + v + "'");
    } else if (bench::take_flag(arg, "size", v)) {
      s.size = std::atoi(v.c_str());
      if (s.size < 32 || s.size > 4096) throw mobileone::Error("--size must be in 32..4096");
    } else if (bench::take_flag(arg, "seed", v)) {
      s.seed = std::strtoull(v.c_str(), nullptr, 10);
    } else if (bench::take_flag(arg, "peak_gmacs", v)) {
      s.peak = bench::parse_peak_flag(v);
    } else {
      rest.push_back(arg);
    }
  }
  s.isa = mobileone::resolve_isa(s.isa);
  return rest;
}

// One context per variant, run once, shared by that variant's benchmarks (they run one after another).
struct VariantRun {
  mobileone::Model model;
  bench::ModelStats stats;
  std::unique_ptr<mobileone::Context> context;
};

VariantRun& variant_run(const std::string& variant, const Settings& s) {
  static std::map<std::string, std::unique_ptr<VariantRun>> runs;
  auto& slot = runs[variant];
  if (!slot) {
    mobileone::Model model = bench::random_variant_model(variant, s.seed, s.size);
    bench::ModelStats stats = bench::model_stats(model.layers(), s.size, s.size);
    mobileone::Options options;
    options.isa = s.isa;
    options.threads = s.threads;
    auto context = std::make_unique<mobileone::Context>(model, options);
    const std::vector<float> input = bench::random_input(s.size, s.size);
    context->set_input(input.data(), 3, s.size, s.size);
    context->run();
    slot.reset(new VariantRun{std::move(model), std::move(stats), std::move(context)});
  }
  return *slot;
}

void set_counters(benchmark::State& state, const Settings& s, std::uint64_t macs, std::uint64_t params,
                  std::uint64_t bytes, double seconds) {
  const double iterations = double(state.iterations());
  const double gmacs = seconds > 0 ? double(macs) * iterations / seconds * 1e-9 : 0.0;
  state.counters["MACs"] = benchmark::Counter(double(macs), benchmark::Counter::kDefaults, benchmark::Counter::kIs1000);
  state.counters["params"] = benchmark::Counter(double(params), benchmark::Counter::kDefaults, benchmark::Counter::kIs1000);
  state.counters["bytes"] = benchmark::Counter(double(bytes), benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
  state.counters["GFLOP/s"] = 2 * gmacs;
  state.counters["GB/s"] = seconds > 0 ? double(bytes) * iterations / seconds * 1e-9 : 0.0;
  state.counters["%peak"] = 100.0 * gmacs / (s.peak.gmacs_per_core * double(s.threads));
}

void bench_layer(benchmark::State& state, const std::string& variant, std::size_t index, const Settings& s) {
  VariantRun& run = variant_run(variant, s);
  const bench::LayerStats& layer = run.stats.layers[index];
  // Squeeze-excite scales its input in place: refresh that input from the layer before every few
  // iterations (untimed), so repeated scaling by gates < 1 never drifts into denormal numbers.
  const bool in_place = layer.desc.kind == mobileone::LayerKind::squeeze_excite;
  constexpr std::int64_t kRefreshEvery = 16;
  std::int64_t count = 0;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (in_place && ++count % kRefreshEvery == 0) {
      state.PauseTiming();
      run.context->run_layer(index - 1);
      state.ResumeTiming();
    }
    run.context->run_layer(index);
    benchmark::ClobberMemory();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  set_counters(state, s, layer.macs, layer.params, layer.weight_bytes + layer.activation_bytes, seconds);
}

void bench_whole_network(benchmark::State& state, const std::string& variant, const Settings& s) {
  VariantRun& run = variant_run(variant, s);
  std::uint64_t bytes = 0;
  for (const auto& layer : run.stats.layers) bytes += layer.weight_bytes + layer.activation_bytes;
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    benchmark::DoNotOptimize(run.context->run().data());
    benchmark::ClobberMemory();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  set_counters(state, s, run.stats.macs, run.stats.params, bytes, seconds);
}

std::vector<std::string> setup(int argc, char** argv, Settings& settings) {
  std::vector<std::string> args = parse_arguments(argc, argv, settings);
  mobileone::bench::add_benchmark_context(settings.peak, settings.size, settings.seed);
  benchmark::AddCustomContext("mobileone_isa", mobileone::isa_name(settings.isa));
  benchmark::AddCustomContext("mobileone_threads", std::to_string(settings.threads));
  for (const std::string& variant : settings.variants) {
    const auto layers = mobileone::architecture_layers(mobileone::Architecture::variant(variant));
    const bench::ModelStats stats = bench::model_stats(layers, settings.size, settings.size);
    for (std::size_t i = 0; i < stats.layers.size(); ++i) {
      const std::string name = variant + "/" + bench::layer_label(stats.layers[i]);
      benchmark::RegisterBenchmark(name.c_str(), [=, &settings](benchmark::State& state) {
        bench_layer(state, variant, i, settings);
      })->Unit(benchmark::kMicrosecond);
    }
    benchmark::RegisterBenchmark((variant + "/network").c_str(), [=, &settings](benchmark::State& state) {
      bench_whole_network(state, variant, settings);
    })->Unit(benchmark::kMillisecond);
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) { return mobileone::bench::benchmark_main<Settings>("bench_layers", argc, argv, setup); }
