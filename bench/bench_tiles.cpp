// bench_tiles: one Google Benchmark per register tile of the pointwise GEMM of every kernel set this CPU
// runs, fp32 and int8, derived from the kernel sets' own tiling (GemmTiles in kernels/isa_<isa>.hpp,
// QuantGemmTiles in kernels/isa_<isa>_int8.hpp), XNNPACK-style names:
//
//   f32_pwconv1x1_6x64__avx512                rows x output channels of one tile, then the kernel set
//   f32_pwconv1x1_5x64__avx512                the narrower tiles a balanced split or an out-channel remainder uses
//   qu8_qc8w_pwconv1x1_6x64__avx512+vnni      int8: uint8 activations x per-channel int8 weights
//   bf16_pwconv1x1_6x64__avx512+bf16          16-bit: bf16 (or f16) activations and weights (HalfGemmTiles)
//
// The int8 prefix follows XNNPACK's grammar of input type, then weight type (its `qs8_qc8w` GEMMs): `qu8` for
// the uint8 activations (zero point 0 here), `qc8w` for int8 weights with a scale per output channel; neither
// `qu8` (uint8 weights too) nor `qs8` (int8 activations) alone says what these tiles multiply.
//
// Each call is one tile over K = --k input channels (default 128: the tile's weights and rows stay in L1,
// so this is the microkernel's own throughput, not the memory system's); an int8 tile writes uint8 with the
// ReLU (the hand-off between int8 layers), without the diagonal term of square layers; a 16-bit tile writes
// its element type with the ReLU, also without the diagonal. Counters: GFLOP/s (fp32, 16-bit) or GOP/s (int8),
// 2 x MACs per second either way, and %peak: MACs/s against one core's peak of the tile's precision
// (MOBILEONE_PEAK_GMACS or --peak_gmacs=G; MOBILEONE_PEAK_INT8_GMACS or --peak_int8_gmacs=G, default 4 x the
// fp32 one: bench_common.hpp; 16-bit tiles: the fp32 peak times the set's kPointwiseGroup, the multiply-adds
// per lane of one pair dot product (vdpbf16ps, BFDOT) at the FMA's rate, an assumption as int8's is). Every
// tile a comment of a kernel file cites as this ISA's
// choice is here; `--benchmark_filter=__avx2` selects an ISA, `--benchmark_filter=^qu8` the int8 tiles (a
// filter is a regular expression: `avx512\+vnni` for a name with a `+`).
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
  bench::Peaks peaks;
};

// XNNPACK's prefix for the data types of a kernel (see the top): f32, qu8_qc8w, bf16, f16.
const char* kernel_prefix(mobileone::Precision precision) {
  switch (precision) {
    case mobileone::Precision::fp32: return "f32";
    case mobileone::Precision::int8: return "qu8_qc8w";
    case mobileone::Precision::bf16: return "bf16";
    case mobileone::Precision::fp16: return "f16";
    case mobileone::Precision::automatic: break;
  }
  return "?";
}

constexpr bool is_half(mobileone::Precision precision) {
  return precision == mobileone::Precision::bf16 || precision == mobileone::Precision::fp16;
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

// The register tiles of a kernel set's pointwise GEMM in its precision: GemmTiles (fp32), QuantGemmTiles
// (int8; an int8 set also carries its float32 set's GemmTiles, for its float32 layers, which the fp32 row
// of the same ISA times) or HalfGemmTiles (bf16, fp16). void where the set has none (the scalar sets).
template <class Set, class = void>
struct PointwiseTiles {
  using type = void;
};
template <class Set>
struct PointwiseTiles<Set, std::enable_if_t<Set::precision == mobileone::Precision::fp32,
                                            std::void_t<typename Set::Kernels::GemmTiles>>> {
  using type = typename Set::Kernels::GemmTiles;
};
template <class Set>
struct PointwiseTiles<Set, std::enable_if_t<Set::precision == mobileone::Precision::int8,
                                            std::void_t<typename Set::Kernels::QuantGemmTiles>>> {
  using type = typename Set::Kernels::QuantGemmTiles;
};
template <class Set>
struct PointwiseTiles<Set, std::enable_if_t<is_half(Set::precision), std::void_t<typename Set::Kernels::HalfGemmTiles>>> {
  using type = typename Set::Kernels::HalfGemmTiles;
};

// Operands of one rows x (panels * 16) tile over K, and its arguments. fp32: C = relu(bias + A W).
struct F32Tile {
  std::vector<float> a, w, bias, c;
  k::GemmTileArgs args;
  F32Tile(int rows, int panels, int kk)
      : a(random_values(std::size_t(rows) * std::size_t(kk), 1)),
        w(random_values(std::size_t(panels) * std::size_t(kk) * k::kPanelWidth, 2)),
        bias(random_values(std::size_t(panels) * k::kPanelWidth, 3)),
        c(std::size_t(rows) * std::size_t(panels) * k::kPanelWidth) {
    const std::size_t width = std::size_t(panels) * k::kPanelWidth, kw = std::size_t(kk) * k::kPanelWidth;
    args = {a.data(), std::size_t(kk), 0, 1, kk, w.data(), kw, bias.data(), 0, c.data(), width, int(width), true,
            w.data()};
  }
};

// int8: uint8 C = requantize(relu(scale * (A W) + bias)), A uint8, W int8 in the packed panels of the engine
// (pack_quant_pointwise_weights), scales that keep the outputs inside uint8's range.
struct QuantTile {
  std::vector<std::uint8_t> a, c;
  std::vector<std::int8_t> w;
  std::vector<std::int32_t> column_sums;
  std::vector<float> scale, bias;
  k::QuantGemmTileArgs args;
  QuantTile(int rows, int panels, int kk) {
    const int width = panels * k::kPanelWidth;
    const std::vector<float> a_values = random_values(std::size_t(rows) * std::size_t(kk) + k::kQuantGroup, 1);
    const std::vector<float> w_values = random_values(std::size_t(width) * std::size_t(kk), 2);
    for (float v : a_values) a.push_back(std::uint8_t(127.5f + 127.5f * v));
    std::vector<std::int8_t> oi;
    for (float v : w_values) oi.push_back(std::int8_t(127.f * v));
    w.resize(k::quant_pointwise_packed_bytes(width, kk));
    column_sums.resize(std::size_t(width));
    k::pack_quant_pointwise_weights(oi.data(), width, kk, w.data(), column_sums.data());
    scale.assign(std::size_t(width), 1.f / (127.f * 255.f * float(kk)));
    bias = random_values(std::size_t(width), 3);
    c.resize(std::size_t(rows) * std::size_t(width));
    const std::size_t w_panel_stride = k::quant_pointwise_groups(kk) * k::kPanelWidth * k::kQuantGroup;
    args = {a.data(), std::size_t(kk), kk,      w.data(), w_panel_stride, scale.data(), bias.data(), column_sums.data(),
            nullptr,  nullptr,         c.data(), std::size_t(width), width, true,        true,         w.data()};
  }
};

// 16-bit: C = relu(bias + A W) in T, A and W of T, W in the set's packed panels (pack_pointwise_panels in
// groups of G input channels), float32 bias.
template <class T, int G>
struct HalfTile {
  std::vector<T> a, w, c;
  std::vector<float> bias;
  k::HalfGemmTileArgs<T> args;
  HalfTile(int rows, int panels, int kk) {
    const int width = panels * k::kPanelWidth;
    for (float v : random_values(std::size_t(rows) * std::size_t(kk), 1)) a.push_back(k::from_float<T>(v));
    const std::vector<float> oi = random_values(std::size_t(width) * std::size_t(kk), 2);
    w.resize(k::pointwise_packed_size(width, kk, G));
    k::pack_pointwise_panels(oi.data(), width, kk, G, w.data());
    bias = random_values(std::size_t(width), 3);
    c.resize(std::size_t(rows) * std::size_t(width));
    const std::size_t w_panel_stride = k::pointwise_packed_size(k::kPanelWidth, kk, G);
    args = {a.data(), std::size_t(kk), kk,       w.data(), w_panel_stride, bias.data(), nullptr,
            nullptr,  c.data(),        std::size_t(width), width, true, w.data()};
  }
};

template <class Set, class = void>
struct TileOperandsOf {
  using type = std::conditional_t<Set::precision == mobileone::Precision::int8, QuantTile, F32Tile>;
};
template <class Set>
struct TileOperandsOf<Set, std::enable_if_t<is_half(Set::precision)>> {
  using type = HalfTile<typename Set::Kernels::Element, Set::Kernels::kPointwiseGroup>;
};

// One rows x (panels * 16) tile of `Tiles` over K, in a loop.
template <class Set, class Tiles>
void bench_tile(benchmark::State& state, int rows, int panels, const Settings& s) {
  constexpr mobileone::Precision P = Set::precision;
  const typename TileOperandsOf<Set>::type tile(rows, panels, s.k);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    Tiles::run(rows, panels, tile.args);
    benchmark::ClobberMemory();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double macs = double(rows) * double(panels * k::kPanelWidth) * double(s.k) * double(state.iterations());
  state.counters[P == mobileone::Precision::int8 ? "GOP/s" : "GFLOP/s"] = 2 * macs / seconds * 1e-9;
  double peak = s.peaks.of(P).gmacs_per_core;
  if constexpr (is_half(P)) peak = s.peaks.fp32.gmacs_per_core * Set::Kernels::kPointwiseGroup;
  state.counters["%peak"] = 100 * macs / seconds * 1e-9 / peak;
}

std::vector<std::string> setup(int argc, char** argv, Settings& settings) {
  std::vector<std::string> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string v;
    if (bench::take_flag(arg, "k", v)) {
      settings.k = positive_int("--k", v);
    } else if (bench::take_flag(arg, "peak_gmacs", v)) {
      settings.peaks.fp32 = bench::parse_peak_flag(v);
    } else if (bench::take_flag(arg, "peak_int8_gmacs", v)) {
      settings.peaks.int8 = bench::parse_peak_flag(v, "--peak_int8_gmacs");
    } else {
      rest.push_back(arg);
    }
  }
  bench::add_benchmark_context(settings.peaks.fp32, 0, 0);
  bench::add_peak_context("mobileone_peak_int8", settings.peaks.int8);
  benchmark::AddCustomContext("mobileone_k", std::to_string(settings.k));
  mobileone::detail::for_each_kernel_set([&](auto set) {
    using Set = decltype(set);
    using Tiles = typename PointwiseTiles<Set>::type;
    if constexpr (!std::is_void_v<Tiles>) {
      if (!Set::runs_here()) return;
      for (int panels = Tiles::kPanels; panels >= 1; --panels)
        for (int rows = Tiles::kRows; rows >= 1; --rows) {
          const std::string name = std::string(kernel_prefix(Set::precision)) + "_pwconv1x1_" + std::to_string(rows) +
                                   "x" + std::to_string(panels * k::kPanelWidth) + "__" + Set::name();
          benchmark::RegisterBenchmark(name.c_str(), [=, &settings](benchmark::State& state) {
            bench_tile<Set, Tiles>(state, rows, panels, settings);
          });
        }
    }
  });
  return rest;
}

}  // namespace

int main(int argc, char** argv) { return mobileone::bench::benchmark_main<Settings>("bench_tiles", argc, argv, setup); }
