// Settings and helpers shared by the benchmark programs in bench/: the synthetic models' seed, the CPU's
// peak, random models and inputs, and the parsing of our --name=value flags.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <mobileone/model.hpp>

#include "support/architecture.hpp"
#include "support/blob_writer.hpp"

namespace mobileone::bench {

// Seed of the random weights (mobileone::random_model_blob). bench_network and mobileone-make-model use the
// same default, so a .mone written by the tool holds exactly the weights bench_network times.
inline constexpr std::uint64_t kDefaultSeed = 20230101;

inline constexpr const char* kVariants[] = {"s0", "s1", "s2", "s3", "s4"};

// Peak fp32 multiply-adds per second of ONE core, in G/s: 58.5 on the AMD Zen4 development VM (measured
// with independent FMA chains: 117 GFLOP/s; AVX2 and AVX-512 reach the same peak there). Override with
// MOBILEONE_PEAK_GMACS or a command-line flag on another machine.
inline constexpr double kDefaultPeakGmacsPerCore = 58.5;

struct PeakSetting {
  double gmacs_per_core = kDefaultPeakGmacsPerCore;
  std::string source = "default (AMD Zen4 dev VM)";
};

// The peak from MOBILEONE_PEAK_GMACS if set (and a positive number), else the default. A command-line flag,
// parsed by the caller, takes precedence over both.
inline PeakSetting peak_from_environment() {
  PeakSetting peak;
  if (const char* env = std::getenv("MOBILEONE_PEAK_GMACS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const double value = std::strtod(env, &end);
    if (end != env && *end == '\0' && value > 0) {
      peak.gmacs_per_core = value;
      peak.source = "MOBILEONE_PEAK_GMACS";
    } else {
      peak.source = "default (ignored invalid MOBILEONE_PEAK_GMACS)";
    }
  }
  return peak;
}

// A variant (s0..s4) with the deterministic random weights every benchmark program uses.
inline Model random_variant_model(const std::string& variant, std::uint64_t seed = kDefaultSeed, int input_size = 224) {
  const auto blob = random_model_blob(Architecture::variant(variant), seed, input_size);
  return Model::from_buffer(blob.data(), blob.size());
}

// A [1][3][height][width] input of uniform values in [-2, 2] (the range of a normalized image).
inline std::vector<float> random_input(int height, int width) {
  WeightRandom random(12345);
  std::vector<float> input(std::size_t(3) * std::size_t(height) * std::size_t(width));
  for (float& v : input) v = random.uniform(-2.f, 2.f);
  return input;
}

// "a,b,,c" -> {"a", "b", "c"}
inline std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

// True (and the value) when `arg` is --name=value.
inline bool take_flag(const std::string& arg, const char* name, std::string& value) {
  const std::string prefix = std::string("--") + name + "=";
  if (arg.compare(0, prefix.size(), prefix) != 0) return false;
  value = arg.substr(prefix.size());
  return true;
}

// --peak_gmacs=G: a positive number, recorded as the peak's source.
inline PeakSetting parse_peak_flag(const std::string& value) {
  const double peak = std::strtod(value.c_str(), nullptr);
  if (!(peak > 0)) throw Error("--peak_gmacs expects a positive number, got '" + value + "'");
  return {peak, "--peak_gmacs"};
}

}  // namespace mobileone::bench
