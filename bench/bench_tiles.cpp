// bench_tiles: one Google Benchmark per register tile of the pointwise GEMM of every kernel set this CPU
// runs, derived from the kernel sets' own tiling (GemmTiles in kernels/isa_<isa>.hpp), XNNPACK-style names:
//
//   f32_pwconv1x1_6x64__avx512   rows x output channels of one tile, then the ISA
//   f32_pwconv1x1_5x64__avx512   the narrower tiles a balanced split or an out-channel remainder uses
//
// Each call is one tile over K = --k input channels (default 128: the tile's weights and rows stay in L1,
// so this is the microkernel's own throughput, not the memory system's). Counters: GFLOP/s (2 x MACs per
// second) and %peak (MACs/s against MOBILEONE_PEAK_GMACS or --peak_gmacs=G, one core). Every tile a comment
// of a kernel file cites as this ISA's choice is here; `--benchmark_filter=__avx2` selects an ISA.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <type_traits>
#include <string>
#include <vector>

#include <mobileone/dispatch.hpp>
#include <mobileone/mobileone.hpp>

#include "bench_common.hpp"
#include "google_benchmark_main.hpp"

namespace {

namespace bench = mobileone::bench;
namespace k = mobileone::kernels;

struct Settings {
  int k = 128;
  bench::PeakSetting peak = bench::peak_from_environment();
};

// XNNPACK's prefix for the data type of a kernel: f32, later f16, bf16, qs8.
const char* kernel_prefix(mobileone::Precision precision) {
  switch (precision) {
    case mobileone::Precision::fp32: return "f32";
  }
  return "?";
}

std::vector<float> random_values(std::size_t n, std::uint64_t seed) {
  mobileone::WeightRandom random(seed);
  std::vector<float> v(n);
  for (float& x : v) x = random.uniform(-1.f, 1.f);
  return v;
}

int positive_int(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 1 || value > 65536)
    throw mobileone::Error(flag + " expects an integer in 1..65536, got '" + text + "'");
  return int(value);
}

template <class K, class = void>
struct HasGemmTiles : std::false_type {};
template <class K>
struct HasGemmTiles<K, std::void_t<typename K::GemmTiles>> : std::true_type {};

// One rows x (panels * 16) tile over K, in a loop.
template <class Tiles>
void bench_tile(benchmark::State& state, int rows, int panels, const Settings& s) {
  const std::size_t kk = std::size_t(s.k), width = std::size_t(panels) * k::kPanelWidth;
  const std::vector<float> a = random_values(std::size_t(rows) * kk, 1);
  const std::vector<float> w = random_values(std::size_t(panels) * kk * k::kPanelWidth, 2);
  const std::vector<float> bias = random_values(width, 3);
  std::vector<float> c(std::size_t(rows) * width);
  const k::GemmTileArgs t{a.data(), kk,        0,     1,        s.k,      w.data(), kk * k::kPanelWidth, bias.data(), 0,
                          c.data(), width,     int(width), true, w.data()};
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    Tiles::run(rows, panels, t);
    benchmark::ClobberMemory();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double macs = double(rows) * double(width) * double(kk) * double(state.iterations());
  state.counters["GFLOP/s"] = 2 * macs / seconds * 1e-9;
  state.counters["%peak"] = 100 * macs / seconds * 1e-9 / s.peak.gmacs_per_core;
}

std::vector<std::string> setup(int argc, char** argv, Settings& settings) {
  std::vector<std::string> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string v;
    if (bench::take_flag(arg, "k", v)) {
      settings.k = positive_int("--k", v);
    } else if (bench::take_flag(arg, "peak_gmacs", v)) {
      settings.peak = bench::parse_peak_flag(v);
    } else {
      rest.push_back(arg);
    }
  }
  bench::add_benchmark_context(settings.peak, 0, 0);
  benchmark::AddCustomContext("mobileone_k", std::to_string(settings.k));
  mobileone::detail::for_each_kernel_set([&](auto set) {
    using Set = decltype(set);
    using K = typename Set::Kernels;
    if constexpr (HasGemmTiles<K>::value && Set::precision == mobileone::Precision::fp32) {
      if (!Set::runs_here()) return;
      using Tiles = typename K::GemmTiles;
      for (int panels = Tiles::kPanels; panels >= 1; --panels)
        for (int rows = Tiles::kRows; rows >= 1; --rows) {
          const std::string name = std::string(kernel_prefix(Set::precision)) + "_pwconv1x1_" + std::to_string(rows) +
                                   "x" + std::to_string(panels * k::kPanelWidth) + "__" + Set::name();
          benchmark::RegisterBenchmark(name.c_str(), [=, &settings](benchmark::State& state) {
            bench_tile<Tiles>(state, rows, panels, settings);
          });
        }
    }
  });
  return rest;
}

}  // namespace

int main(int argc, char** argv) { return mobileone::bench::benchmark_main<Settings>("bench_tiles", argc, argv, setup); }
