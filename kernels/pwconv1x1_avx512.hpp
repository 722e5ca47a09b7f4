// Pointwise 1x1 convolution, AVX-512: the kernel itself is pwconv1x1_x86.hpp; this file picks its tile.
//
// 6 pixels x 64 output channels (four 16-channel panels) per tile: 24 zmm accumulators, one broadcast
// activation feeds 4 FMAs. On Zen4 (512-bit FMAs double-pumped: 1 per cycle, 4 cycles latency) this and
// 8 x 32 / 7 x 48 / 4 x 64 all reach 95-99% of peak on hot data; 6 x 64 measured best by a hair on S0..S4
// shapes. Tall tiles (12 x 32, 16 x 16) lose 3-5%.
#pragma once

#if defined(__x86_64__)

#include <cstddef>

#include "simd_avx512.hpp"

namespace mobileone::kernels::avx512 {
struct PointwiseTiling {
  static constexpr int kRows = 6;    // pixels per tile
  static constexpr int kPanels = 4;  // 16-channel weight panels per tile
  // Input floats per pixel block: the block's inputs (512 KB) stay in L2 while the panels sweep over them.
  static constexpr std::size_t kBlockFloats = 128 * 1024;
};
}  // namespace mobileone::kernels::avx512

#define MOBILEONE_SIMD_NS avx512
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX512
#include "pwconv1x1_x86.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#endif  // __x86_64__
