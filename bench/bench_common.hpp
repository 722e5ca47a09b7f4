// Settings and helpers shared by the benchmark programs in bench/: the synthetic models' seed, the CPU's
// peak, random models and inputs, and the parsing of our --name=value flags.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <mobileone/isa.hpp>
#include <mobileone/model.hpp>

#include "support/architecture.hpp"
#include "support/blob_writer.hpp"
#include "support/int8_blob.hpp"

namespace mobileone::bench {

// Seed of the random weights (mobileone::random_model_blob). bench_network and mobileone-make-model use the
// same default, so a .mone written by the tool holds exactly the weights bench_network times.
inline constexpr std::uint64_t kDefaultSeed = 20230101;

inline constexpr const char* kVariants[] = {"s0", "s1", "s2", "s3", "s4"};

// Peak fp32 multiply-adds per second of ONE core, in G/s: 58.5 on the AMD Zen4 development VM (measured
// with independent FMA chains: 117 GFLOP/s; AVX2 and AVX-512 reach the same peak there). Override with
// MOBILEONE_PEAK_GMACS or a command-line flag on another machine.
inline constexpr double kDefaultPeakGmacsPerCore = 58.5;
// Peak int8 multiply-adds per second of ONE core, in G/s: 4 x the fp32 peak, by assumption, not measured:
// a VNNI vpdpbusd does 4 uint8 x int8 multiply-adds per 32-bit lane where an FMA does 1, and is assumed to
// issue on the same pipes at the same rate and width as the FMA (so 234 on the Zen4 dev VM). On a CPU whose
// VNNI throughput differs from its FMA throughput, override with MOBILEONE_PEAK_INT8_GMACS or a flag.
inline constexpr double kDefaultPeakInt8GmacsPerCore = 4 * kDefaultPeakGmacsPerCore;
// Peak 16-bit multiply-adds (bf16 vdpbf16ps / BFDOT: 2 per 32-bit lane; fp16 FMLA .8h: twice the lanes): 2 x
// the fp32 peak by the same assumption; MOBILEONE_PEAK_BF16_GMACS / MOBILEONE_PEAK_FP16_GMACS override it.
inline constexpr double kDefaultPeakHalfGmacsPerCore = 2 * kDefaultPeakGmacsPerCore;

struct PeakSetting {
  double gmacs_per_core = kDefaultPeakGmacsPerCore;
  std::string source = "default (AMD Zen4 dev VM)";
};

// The environment variable that overrides a precision's default peak.
inline const char* peak_environment_variable(Precision precision) {
  switch (precision) {
    case Precision::int8: return "MOBILEONE_PEAK_INT8_GMACS";
    case Precision::bf16: return "MOBILEONE_PEAK_BF16_GMACS";
    case Precision::fp16: return "MOBILEONE_PEAK_FP16_GMACS";
    default: return "MOBILEONE_PEAK_GMACS";
  }
}

// The peak of `precision` (fp32 or int8) from its environment variable if set (and a positive number), else
// its default. A command-line flag, parsed by the caller, takes precedence over both.
inline PeakSetting peak_from_environment(Precision precision = Precision::fp32) {
  PeakSetting peak;
  if (precision == Precision::int8) {
    peak.gmacs_per_core = kDefaultPeakInt8GmacsPerCore;
    peak.source = "default (4 x the fp32 default: VNNI)";
  }
  if (precision == Precision::bf16 || precision == Precision::fp16) {
    peak.gmacs_per_core = kDefaultPeakHalfGmacsPerCore;
    peak.source = "default (2 x the fp32 default: 16-bit pairs or lanes)";
  }
  const char* variable = peak_environment_variable(precision);
  if (const char* env = std::getenv(variable); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const double value = std::strtod(env, &end);
    if (end != env && *end == '\0' && value > 0) {
      peak.gmacs_per_core = value;
      peak.source = variable;
    } else {
      peak.source += std::string(" (ignored invalid ") + variable + ")";
    }
  }
  return peak;
}

// The per-core peaks "% of peak" divides by: each layer's against the peak of the precision it runs in.
struct Peaks {
  PeakSetting fp32 = peak_from_environment(Precision::fp32);
  PeakSetting int8 = peak_from_environment(Precision::int8);
  PeakSetting bf16 = peak_from_environment(Precision::bf16);
  PeakSetting fp16 = peak_from_environment(Precision::fp16);
  const PeakSetting& of(Precision precision) const {
    switch (precision) {
      case Precision::int8: return int8;
      case Precision::bf16: return bf16;
      case Precision::fp16: return fp16;
      default: return fp32;
    }
  }
};

// A variant (s0..s4) with the deterministic random weights every benchmark program uses, as blob bytes;
// with `synthetic_int8`, an int8 version of it for timing the int8 kernels (tests/support/int8_blob.hpp:
// scales from one random input, no accuracy claim; calibrated models come from mobileone-quantize).
inline std::vector<unsigned char> random_variant_blob(const std::string& variant, std::uint64_t seed = kDefaultSeed,
                                                      int input_size = 224, bool synthetic_int8 = false) {
  std::vector<unsigned char> blob = random_model_blob(Architecture::variant(variant), seed, input_size);
  return synthetic_int8 ? int8_blob_from(blob, seed, input_size) : blob;
}

inline Model random_variant_model(const std::string& variant, std::uint64_t seed = kDefaultSeed, int input_size = 224,
                                  bool synthetic_int8 = false) {
  const auto blob = random_variant_blob(variant, seed, input_size, synthetic_int8);
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

// --peak_gmacs=G (or another peak flag): a positive number, recorded with the flag as the peak's source.
inline PeakSetting parse_peak_flag(const std::string& value, const std::string& flag = "--peak_gmacs") {
  char* end = nullptr;
  const double peak = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(peak > 0) || !std::isfinite(peak))
    throw Error(flag + " expects a positive number, got '" + value + "'");
  return {peak, flag};
}

}  // namespace mobileone::bench
