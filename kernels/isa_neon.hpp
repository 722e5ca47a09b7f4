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

namespace mobileone::kernels::neon_in_order {

// The NEON kernel set of in-order cores (Cortex-A53, A55, A510, A520; dispatch.hpp picks it from MIDR):
// the same kernels, with the depthwise schedule that suits an in-order pipeline (dwconv3x3_neon.hpp
// CoreKind). Results are bitwise those of kernels::neon (each output is the same FMA chain).
//
// Why not the pointwise tile too: a Cortex-A55 cannot dual-issue a 128-bit load with an FMLA (ncnn's
// measured rules; XNNPACK's cortex_a55 GEMMs load 64 bits at a time, LDR D + LDR X + INS, for that
// reason), which by those rules costs the tile about a third of its peak; but LLVM 19's Cortex-A55 model
// issues Q-form FMLA at 2 per cycle and charges the split loads' extra instructions, and rated such a
// tile at 143 cycles per iteration against 79. Where the model and the rules disagree the tile stays
// shared (bench/README.md "NEON throughput by model").
struct F32Kernels : neon::F32Kernels {
  template <int Stride>
  static void dwconv3x3(const DepthwiseArgs& a, int row_begin, int row_end) {
    neon::dwconv3x3<Stride, neon::CoreKind::in_order>(a, row_begin, row_end);
  }
};

}  // namespace mobileone::kernels::neon_in_order

#endif  // __aarch64__
