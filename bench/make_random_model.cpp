// mobileone-make-model: writes a fused MobileOne with deterministic random weights as a .mone blob, or prints
// the variant's MAC and parameter counts. The peer comparison (bench/peers) uses it so that this engine and
// every peer run the very same weights; bench_network builds the same models in memory (same seed).
//
//   mobileone-make-model --variant s2 -o s2.mone [--seed N] [--size 224]
//   mobileone-make-model --variant s2 --stats [--size 224] [--layers]     (JSON on stdout)
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "support/architecture.hpp"
#include "support/blob_writer.hpp"
#include "support/tool_main.hpp"

#include "bench_common.hpp"
#include "model_stats.hpp"

namespace {

const char* kUsage =
    "usage: mobileone-make-model --variant s0|s1|s2|s3|s4 -o FILE.mone [--seed N] [--size 224]\n"
    "       mobileone-make-model --variant s0|s1|s2|s3|s4 --stats [--size 224] [--layers]\n";

std::string json_stats(const std::string& variant, int size, bool with_layers) {
  const auto layers = mobileone::architecture_layers(mobileone::Architecture::variant(variant));
  const auto stats = mobileone::bench::model_stats(layers, size, size);
  std::string out = "{\"variant\": \"" + variant + "\", \"input\": [1, 3, " + std::to_string(size) + ", " +
                    std::to_string(size) + "], \"macs\": " + std::to_string(stats.macs) +
                    ", \"params\": " + std::to_string(stats.params);
  if (with_layers) {
    out += ", \"layers\": [";
    for (std::size_t i = 0; i < stats.layers.size(); ++i) {
      const auto& l = stats.layers[i];
      out += std::string(i ? ", " : "") + "{\"name\": \"" + mobileone::bench::layer_label(l) + "\", \"kind\": \"" +
             mobileone::layer_kind_name(l.desc.kind) + "\", \"macs\": " + std::to_string(l.macs) +
             ", \"params\": " + std::to_string(l.params) + "}";
    }
    out += "]";
  }
  return out + "}";
}

int run(int argc, char** argv) {
  std::string variant, output;
  std::uint64_t seed = mobileone::bench::kDefaultSeed;
  int size = 224;
  bool stats = false, layers = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw mobileone::Error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--variant") variant = value();
    else if (arg == "-o" || arg == "--output") output = value();
    else if (arg == "--seed") seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (arg == "--size") size = std::atoi(value().c_str());
    else if (arg == "--stats") stats = true;
    else if (arg == "--layers") layers = true;
    else if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    } else throw mobileone::Error("unknown argument " + arg + "\n" + kUsage);
  }
  if (variant.empty()) throw mobileone::Error(std::string("--variant is required\n") + kUsage);
  if (size < 32 || size > 4096) throw mobileone::Error("--size must be in 32..4096");
  if (stats) {
    std::cout << json_stats(variant, size, layers) << "\n";
    return 0;
  }
  if (output.empty()) throw mobileone::Error(std::string("give -o FILE.mone or --stats\n") + kUsage);
  const auto blob = mobileone::random_model_blob(mobileone::Architecture::variant(variant), seed, size);
  const std::string temporary = output + ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary);
    file.write(reinterpret_cast<const char*>(blob.data()), std::streamsize(blob.size()));
    if (!file) throw mobileone::Error(output + ": cannot write");
  }
  if (std::rename(temporary.c_str(), output.c_str()) != 0) throw mobileone::Error(output + ": cannot write");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return mobileone::run_tool("mobileone-make-model", argc, argv, run); }
