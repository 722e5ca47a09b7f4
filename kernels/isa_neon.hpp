// The AArch64 NEON kernel set: this ISA's tuning constants, its hand-scheduled pointwise, depthwise and
// stem kernels, then the families written over vector traits instantiated for it (simd_instantiate.hpp).
// Compiled in on AArch64 only (NEON is mandatory there).
#pragma once

#if defined(__aarch64__)

#include <cstddef>

#include "conv3x3_neon.hpp"
#include "dwconv3x3_neon.hpp"
#include "pack.hpp"
#include "pwconv1x1_neon.hpp"
#include "simd_neon.hpp"

namespace mobileone::kernels::neon {

struct Tuning {
  // Four independent vectors per step: one exp is a chain of ~10 dependent FMAs, which an in-order core
  // (Cortex-A55) only hides by interleaving chains.
  static constexpr int kElementwiseVectors = 4;
  static constexpr int kMeanVectors = 8;         // 32 channels: 8 add chains cover FADD latency on 2 pipes
  static constexpr int kLinearAccumulators = 2;  // 4 rows x 2 = 8 independent FMA chains
  static constexpr int kDotAccumulators = 4;
  static constexpr StemLayout kStemLayout = StemLayout::taps;  // conv3x3_neon.hpp reads [3][3][in][out]
  // Four 6-row microkernel tiles per task at least, so a split never leaves a thread only tail rows.
  static constexpr std::size_t kPointwiseMinPixelsPerTask = 4 * GemmTiles::kRows;
};

}  // namespace mobileone::kernels::neon

#define MOBILEONE_SIMD_NS neon
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_NEON
#include "simd_instantiate.hpp"

#endif  // __aarch64__
