// mobileone-make-model: writes a fused MobileOne with deterministic random weights as a .mone blob, or prints
// the variant's MAC and parameter counts. The peer comparison (bench/peers) uses it so that this engine and
// every peer run the very same weights; bench_network builds the same models in memory (same seed).
//
//   mobileone-make-model --variant s2 -o s2.mone [--seed N] [--size 224]
//   mobileone-make-model --variant s2 --stats [--size 224] [--layers]     (JSON on stdout)
//
// --help lists every option with its default; without arguments it prints that usage.
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

const std::string kUsage =
    "usage: mobileone-make-model --variant s0|s1|s2|s3|s4 -o FILE.mone [--seed N] [--size N]\n"
    "       mobileone-make-model --variant s0|s1|s2|s3|s4 --stats [--size N] [--layers]\n"
    "\n"
    "Writes a fused MobileOne-S0..S4 with deterministic random weights as a .mone blob (the weights that\n"
    "bench_network times and every engine of bench/peers runs), or prints its MAC and parameter counts as JSON.\n"
    "\n"
    "  --variant NAME      s0, s1, s2, s3 or s4 (required)\n"
    "  -o, --output FILE   the .mone file to write, via FILE.tmp and a rename (no default: give -o or --stats)\n"
    "  --seed N            seed of the random weights (default " + std::to_string(mobileone::bench::kDefaultSeed) +
    ", the benchmarks')\n"
    "  --size N            input size NxN, 32..4096: recorded in the blob, or where --stats counts (default 224)\n"
    "  --stats             print {variant, input, macs, params} as JSON instead of writing a file (default off)\n"
    "  --layers            with --stats: every layer's name, kind, MACs and parameters too (default off)\n"
    "  -h, --help          this text\n"
    "\n"
    "examples:\n"
    "  mobileone-make-model --variant s2 -o s2.mone\n"
    "  mobileone-make-model --variant s0 -o s0_256.mone --size 256 --seed 7\n"
    "  mobileone-make-model --variant s4 --stats --layers\n";

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
  if (argc <= 1) {  // nothing asked: the usage, not an error (but nothing was made: exit status 1)
    std::cout << kUsage;
    return 1;
  }
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
    } else throw mobileone::Error("unknown argument " + arg + " (see --help)");
  }
  if (variant.empty()) throw mobileone::Error("--variant is required (see --help)");
  if (size < 32 || size > 4096) throw mobileone::Error("--size must be in 32..4096");
  if (stats) {
    std::cout << json_stats(variant, size, layers) << "\n";
    return 0;
  }
  if (output.empty()) throw mobileone::Error("give -o FILE.mone or --stats (see --help)");
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
