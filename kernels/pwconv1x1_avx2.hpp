// Pointwise 1x1 convolution, AVX2+FMA: the kernel itself is pwconv1x1_x86.hpp; this file picks its tile.
//
// 3 pixels x 32 output channels (two 16-channel panels) per tile: 12 ymm accumulators, enough independent
// FMA chains for 2 FMAs/cycle at 4 cycles latency. Measured on Zen4 against 6 x 16 (the classic AVX2
// shape, same 12 accumulators): equal on S0..S2 shapes, 2-3% better on S4 (K = 448..896 and the 7x7 x 2048
// layer), fewer concurrent input streams per tile (3 rows + 2 panels instead of 6 + 1).
#pragma once

#if defined(__x86_64__)

#include <cstddef>

#include "simd_avx2.hpp"

namespace mobileone::kernels::avx2 {
struct PointwiseTiling {
  static constexpr int kRows = 3;    // pixels per tile
  static constexpr int kPanels = 2;  // 16-channel weight panels per tile
  // Input floats per pixel block: the block's inputs (512 KB) stay in L2 while the panels sweep over them.
  static constexpr std::size_t kBlockFloats = 128 * 1024;
};
}  // namespace mobileone::kernels::avx2

#define MOBILEONE_SIMD_NS avx2
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX2
#include "pwconv1x1_x86.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#endif  // __x86_64__
