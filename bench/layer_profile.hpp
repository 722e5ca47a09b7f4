// Latency of a network and of each of its layers, measured with the paper's protocol: warm-up runs, then
// many timed runs, reporting the minimum and the median. Whole-network times come from a context with the
// profiler off; per-layer times from a second context with Options::profile on (the engine timestamps
// each layer inside the run, so a layer is timed in the buffers, cache state and thread split it has in
// the network). Used by mobileone-bench; no Google Benchmark needed, so it builds for phones too.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#endif

#include <mobileone/mobileone.hpp>

#include "bench_common.hpp"
#include "model_stats.hpp"
#include "statistics.hpp"

namespace mobileone::bench {

struct LayerLatency {
  LayerStats stats;
  std::string name;        // "s0/stage2.3/dw3x3_s1/C128_28x28": unique, in the CSV and JSON
  std::string short_name;  // "stage2.3": the layer's name in the blob, as weights/convert.py --inspect prints it
  Precision precision = Precision::fp32;  // what the context ran it in: int8 or fp32
  double median_ms = 0.0, min_ms = 0.0;
};

struct NetworkLatency {
  std::string name;  // "s0" or the model's name
  Isa isa = Isa::scalar;
  Precision precision = Precision::fp32;  // the context's (an int8 context runs some layers in fp32)
  std::string kernel_set;                 // Context::kernel_set_name(): "avx512", "avx512+vnni"
  int threads = 1, height = 0, width = 0, warmup = 0, iterations = 0;
  double cold_ms = 0.0;    // the first run of a fresh context (first touch of its workspace)
  double median_ms = 0.0, min_ms = 0.0;
  std::uint64_t macs = 0, params = 0;
  std::uint64_t int8_macs = 0;  // of the layers run in int8 (0 in an fp32 context)
  std::size_t workspace_bytes = 0, packed_weight_bytes = 0;
  std::vector<LayerLatency> layers;  // empty unless asked for
};

struct ProfileSettings {
  Isa isa = Isa::automatic;
  Precision precision = Precision::automatic;  // the blob's: int8 for an int8 blob
  int threads = 1;
  CorePolicy cores = CorePolicy::big;  // where the threads (and the timing thread) run
  int warmup = 10;
  int iterations = 100;
  bool per_layer = false;
};

inline double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// The precision `context` runs each layer of its model in, as the engine's packing decides it
// (detail::PackedLayer::int8, shared with the context: packed once per model), not a rule copied here.
inline std::vector<Precision> layer_precisions(const Context& context) {
  const auto& model = detail::ModelAccess::data(context.model());
  const bool int8 = context.precision() == Precision::int8;
  const auto& packed = detail::with_kernel_set(context.isa(), context.precision(), [&](auto kernels) -> const detail::PackedWeights& {
    return detail::packed_weights(model, detail::packing_key<decltype(kernels)>(int8));
  });
  // A 16-bit context runs every layer in its precision (avgpool and the classifier's sums in float32).
  const Precision others = int8 ? Precision::fp32 : context.precision();
  std::vector<Precision> precisions;
  for (const detail::PackedLayer& layer : packed.layers) precisions.push_back(layer.int8 ? Precision::int8 : others);
  return precisions;
}

// Times `model` at height x width on a random input.
inline NetworkLatency measure_network(const Model& model, const std::string& name, int height, int width,
                                      const ProfileSettings& settings) {
  if (settings.iterations < 1) throw Error("the number of iterations must be >= 1");
  if (settings.warmup < 0) throw Error("the number of warm-up runs must be >= 0");
  NetworkLatency result;
  result.name = name;
  result.height = height;
  result.width = width;
  result.warmup = settings.warmup;
  result.iterations = settings.iterations;
  const ModelStats stats = model_stats(model.layers(), height, width);
  result.macs = stats.macs;
  result.params = stats.params;
  const std::vector<float> input = random_input(height, width);

  Options options;
  options.isa = settings.isa;
  options.threads = settings.threads;
  options.cores = settings.cores;
  options.precision = settings.precision;
  std::vector<Precision> precisions;
  {
    Context context(model, options);
    result.isa = context.isa();
    result.precision = context.precision();
    result.kernel_set = context.kernel_set_name();
    precisions = layer_precisions(context);
    for (std::size_t i = 0; i < precisions.size(); ++i)
      if (precisions[i] == Precision::int8) result.int8_macs += stats.layers[i].macs;
    result.threads = context.threads();
    result.packed_weight_bytes = context.packed_weight_bytes();
    context.set_input(input.data(), 3, height, width);
    result.workspace_bytes = context.workspace_bytes();
    auto start = std::chrono::steady_clock::now();
    context.run();
    result.cold_ms = elapsed_ms(start);
    for (int i = 0; i < settings.warmup; ++i) context.run();
    std::vector<double> runs(std::size_t(settings.iterations));
    for (double& ms : runs) {
      start = std::chrono::steady_clock::now();
      context.run();
      ms = elapsed_ms(start);
    }
    result.median_ms = median(runs);
    result.min_ms = minimum(runs);
  }
  if (!settings.per_layer) return result;

  options.profile = true;
  Context context(model, options);
  context.set_input(input.data(), 3, height, width);
  for (int i = 0; i <= settings.warmup; ++i) context.run();
  const std::size_t n = model.layers().size();
  std::vector<std::vector<double>> per_layer(n, std::vector<double>(std::size_t(settings.iterations)));
  for (std::size_t run = 0; run < std::size_t(settings.iterations); ++run) {
    context.run();
    for (std::size_t i = 0; i < n; ++i) per_layer[i][run] = context.layer_timings()[i].milliseconds;
  }
  result.layers.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    LayerLatency& layer = result.layers[i];
    layer.stats = stats.layers[i];
    layer.name = name + "/" + layer_label(layer.stats);
    layer.short_name = layer_name(layer.stats);  // while the model, which holds the name's bytes, is alive
    layer.precision = precisions[i];
    layer.median_ms = median(per_layer[i]);
    layer.min_ms = minimum(per_layer[i]);
  }
  return result;
}

// Peak resident memory of this process so far, in bytes (0 where the OS does not say).
inline std::uint64_t peak_resident_bytes() {
#if defined(__unix__) || defined(__APPLE__)
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
#if defined(__APPLE__)
  return std::uint64_t(usage.ru_maxrss);  // bytes on Darwin
#else
  return std::uint64_t(usage.ru_maxrss) * 1024;  // kilobytes on Linux and Android
#endif
#else
  return 0;
#endif
}

}  // namespace mobileone::bench
