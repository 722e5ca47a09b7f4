// Settings shared by the benchmark programs in bench/: the synthetic models' seed and the CPU's peak.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

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

}  // namespace mobileone::bench
