// Writes sample charts from bench/svg_chart.hpp for tests/test_svg_chart.py to check:
//   svg_chart_sample OUT_DIR
// OUT_DIR/layers.svg  per_layer_svg of MobileOne-S4's layers at 224x224 (MACs and parameters from
//                     model_stats.hpp, latencies synthetic: a compute and a memory term; axis labels
//                     layer_name()'s "stage2.3") plus awkward extras without an axis label: a name with XML
//                     special characters, one with bytes that are not valid UTF-8, a NaN latency, an infinite
//                     MAC count and a name too long for the axis;
// OUT_DIR/layers.tsv  those layers, one per line: name, kind, milliseconds, MACs, axis label (what the test
//                     expects);
// OUT_DIR/s0.svg      per_layer_svg of MobileOne-S0's layers, with a given total of 4.5 ms, and s0.tsv;
// OUT_DIR/many.svg    per_layer_svg of 240 layers (too many to name each under its bar), and many.tsv;
// OUT_DIR/empty.svg   per_layer_svg of no layers;
// OUT_DIR/networks.svg networks_svg of S0..S4 with synthetic latencies.
#include <cstdio>
#include <exception>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "model_stats.hpp"
#include "support/architecture.hpp"
#include "svg_chart.hpp"

namespace {

mobileone::bench::ModelStats stats_224(const char* variant) {
  const auto layers = mobileone::architecture_layers(mobileone::Architecture::variant(variant));
  return mobileone::bench::model_stats(layers, 224, 224);
}

// A plausible latency: 25 GMAC/s of compute plus 20 GB/s of activation traffic plus 3 us of overhead.
double synthetic_milliseconds(double macs, double activation_bytes) {
  return 1e3 * (macs / 25e9 + activation_bytes / 20e9) + 0.003;
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 2) {
    std::fprintf(stderr, "usage: svg_chart_sample OUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];

  const auto variant_layers = [](const char* variant) {
    std::vector<mobileone::bench::ChartLayer> layers;
    for (const mobileone::bench::LayerStats& s : stats_224(variant).layers)
      layers.push_back({mobileone::bench::layer_label(s), mobileone::layer_kind_name(s.desc.kind),
                        synthetic_milliseconds(double(s.macs), double(s.activation_bytes)), double(s.macs),
                        double(s.params), mobileone::bench::layer_name(s)});
    return layers;
  };
  const auto table = [](const std::vector<mobileone::bench::ChartLayer>& layers) {
    std::string text;
    char line[64];
    for (const auto& layer : layers) {
      std::snprintf(line, sizeof line, "\t%.17g\t%.17g\t", layer.milliseconds, layer.macs);
      text += layer.name + "\t" + layer.kind + line + layer.axis_label + "\n";
    }
    return text;
  };
  std::vector<mobileone::bench::ChartLayer> layers = variant_layers("s4");
  layers.push_back({"a<b&c>\"quoted\" 'single'", "custom-op", 0.25, 2e6, 1000, ""});
  layers.push_back({"bad\xff utf8\x01", "pw1x1", 0.125, 3e5, 500, ""});
  layers.push_back({"no timing", "dw3x3", std::numeric_limits<double>::quiet_NaN(), 1e6, 100, ""});
  layers.push_back({"uncountable", "linear", 0.5, std::numeric_limits<double>::infinity(), 100, ""});
  layers.push_back({"s4/a-name-far-too-long-for-the-axis/\xc3\xa9t\xc3\xa9", "se", 0.0625, 1e5, 10, ""});
  write_file(dir + "/layers.tsv", table(layers));
  write_file(dir + "/layers.svg", mobileone::bench::per_layer_svg("MobileOne-S4 <sample> & per-layer latency", layers));
  const std::vector<mobileone::bench::ChartLayer> s0 = variant_layers("s0");
  write_file(dir + "/s0.tsv", table(s0));
  write_file(dir + "/s0.svg", mobileone::bench::per_layer_svg("MobileOne-S0 sample", s0, 4.5));
  std::vector<mobileone::bench::ChartLayer> many;
  for (int i = 0; i < 240; ++i)
    many.push_back({"layer" + std::to_string(i), "pw1x1", 0.01 * (1 + i % 7), 1e6 * (1 + i % 5), 100, ""});
  write_file(dir + "/many.tsv", table(many));
  write_file(dir + "/many.svg", mobileone::bench::per_layer_svg("240 layers", many));
  write_file(dir + "/empty.svg", mobileone::bench::per_layer_svg("empty", {}));

  std::vector<mobileone::bench::ChartNetwork> networks;
  for (const char* variant : {"s0", "s1", "s2", "s3", "s4"}) {
    const mobileone::bench::ModelStats stats = stats_224(variant);
    double milliseconds = 0;
    for (const mobileone::bench::LayerStats& s : stats.layers)
      milliseconds += synthetic_milliseconds(double(s.macs), double(s.activation_bytes));
    networks.push_back({variant, milliseconds, double(stats.macs), double(stats.params)});
  }
  write_file(dir + "/networks.svg", mobileone::bench::networks_svg("MobileOne S0..S4", networks));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "svg_chart_sample: %s\n", e.what());
  return 1;
}
