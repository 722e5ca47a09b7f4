// Depthwise 3x3 convolution (stride 1 and 2), avx2: the kernel itself is dwconv3x3_x86.hpp; this file
// picks its blocking. Measured on Zen4 over the S0..S4 depthwise shapes (1, 2, 4 channel vectors x 1, 2,
// 4 pixels per step): 2 vectors per pass (18 taps + 8 accumulators do not fit 16 ymm registers, so GCC
// keeps some taps as FMA memory operands; still faster than 1 vector), 4 pixels per step at stride 1
// (shared input columns), 1 at stride 2 (few shared columns, and the registers go to the taps). The
// 512-multiple channel case gains nothing from other blockings here (16 registers).
#pragma once

#if defined(__x86_64__)

#include "simd_avx2.hpp"

namespace mobileone::kernels::avx2 {
struct DepthwiseTiling {
  static constexpr int kVectors = 2;  // channel vectors per pass (their taps stay in registers)
  // Channel vectors per pass when channels % 512 == 0 (0: no special case; see dwconv3x3_x86.hpp).
  static constexpr int kAliasVectors = 0;
  static constexpr int kPixelsStride1 = 4, kPixelsStride2 = 1;  // output pixels per step
};
}  // namespace mobileone::kernels::avx2

#define MOBILEONE_SIMD_NS avx2
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX2
#include "dwconv3x3_x86.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#endif  // __x86_64__
