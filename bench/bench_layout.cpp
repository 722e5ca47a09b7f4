// bench_layout: the measurement behind the engine's activation layout (NHWC rather than channel-blocked).
//
// The 1x1 layers (89-98% of MobileOne's MACs) already run at ~98% of the FMA peak on NHWC (bench_layers),
// so a layout can only matter for the depthwise layers, whose 3x3 windows read rows of H x W x C floats.
// A channel-blocked layout (NC16HW16: [C/16][H][W][16]) stores each 16-channel block as an NHWC tensor
// of 16 channels, so the engine's own depthwise kernel times both layouts exactly:
//
//   layout/dw3x3_s2/C48_112x112/nhwc           one call over 112x112x48
//   layout/dw3x3_s2/C48_112x112/nc16hw16       three calls over 112x112x16, one per block
//
// for the depthwise shapes of MobileOne-S0, on one thread. Options: --isa=avx512|avx2|neon|scalar.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <mobileone/mobileone.hpp>

#include "bench_common.hpp"
#include "google_benchmark_main.hpp"

namespace {

using mobileone::Isa;

struct DepthwiseShape {
  int height, width, channels, stride;
};

// The depthwise layers of MobileOne-S0 at 224x224 (each shape once).
constexpr DepthwiseShape kShapes[] = {{112, 112, 48, 2}, {56, 56, 48, 1},  {56, 56, 48, 2}, {28, 28, 128, 1},
                                      {28, 28, 128, 2},  {14, 14, 256, 1}, {14, 14, 256, 2}};
constexpr int kBlock = 16;

struct Tensors {
  std::vector<float> input, output, weights, bias;
};

// `blocks` NHWC tensors of `channels / blocks` channels each, back to back.
Tensors make_tensors(const DepthwiseShape& s) {
  mobileone::WeightRandom random(7);
  const int out_h = mobileone::kernels::conv_output_size(s.height, s.stride);
  const int out_w = mobileone::kernels::conv_output_size(s.width, s.stride);
  Tensors t;
  t.input.resize(std::size_t(s.height) * std::size_t(s.width) * std::size_t(s.channels));
  t.output.resize(std::size_t(out_h) * std::size_t(out_w) * std::size_t(s.channels));
  t.weights.resize(9 * std::size_t(s.channels));
  t.bias.resize(std::size_t(s.channels));
  for (float& v : t.input) v = random.uniform(-1.f, 1.f);
  for (float& v : t.weights) v = random.uniform(-0.3f, 0.3f);
  for (float& v : t.bias) v = random.uniform(-0.1f, 0.1f);
  return t;
}

void bench_depthwise(benchmark::State& state, const DepthwiseShape& s, bool blocked, Isa isa) {
  Tensors t = make_tensors(s);
  const int out_h = mobileone::kernels::conv_output_size(s.height, s.stride);
  const int out_w = mobileone::kernels::conv_output_size(s.width, s.stride);
  const int blocks = blocked ? s.channels / kBlock : 1, c = s.channels / blocks;
  const std::size_t in_block = std::size_t(s.height) * std::size_t(s.width) * std::size_t(c);
  const std::size_t out_block = std::size_t(out_h) * std::size_t(out_w) * std::size_t(c);
  mobileone::detail::with_f32_kernel_set(isa, [&](auto kernel_set) {
    using K = decltype(kernel_set);
    for (auto _ : state) {
      for (int b = 0; b < blocks; ++b) {
        const mobileone::kernels::DepthwiseArgs args{t.input.data() + std::size_t(b) * in_block, s.height, s.width, c,
                                                     t.output.data() + std::size_t(b) * out_block, out_h, out_w,
                                                     t.weights.data() + 9 * std::size_t(b * c), t.bias.data() + b * c, true};
        if (s.stride == 2)
          K::template dwconv3x3<2>(args, 0, out_h);
        else
          K::template dwconv3x3<1>(args, 0, out_h);
      }
      benchmark::ClobberMemory();
    }
  });
  state.SetBytesProcessed(state.iterations() * std::int64_t((t.input.size() + t.output.size()) * sizeof(float)));
}

struct Settings {
  Isa isa = Isa::automatic;
};

std::vector<std::string> setup(int argc, char** argv, Settings& settings) {
  std::vector<std::string> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string value;
    if (mobileone::bench::take_flag(argv[i], "isa", value))
      settings.isa = mobileone::parse_isa(value);
    else
      rest.push_back(argv[i]);
  }
  settings.isa = mobileone::resolve_isa(settings.isa);
  benchmark::AddCustomContext("mobileone_isa", mobileone::isa_name(settings.isa));
  for (const DepthwiseShape& s : kShapes)
    for (bool blocked : {false, true}) {
      const std::string name = "layout/dw3x3_s" + std::to_string(s.stride) + "/C" + std::to_string(s.channels) + "_" +
                               std::to_string(s.height) + "x" + std::to_string(s.width) + (blocked ? "/nc16hw16" : "/nhwc");
      benchmark::RegisterBenchmark(name.c_str(), [=, &settings](benchmark::State& state) {
        bench_depthwise(state, s, blocked, settings.isa);
      })->Unit(benchmark::kMicrosecond);
    }
  return rest;
}

}  // namespace

int main(int argc, char** argv) { return mobileone::bench::benchmark_main<Settings>("bench_layout", argc, argv, setup); }
