// Dense 3x3 convolution (the stem), avx2: the kernel itself is conv3x3_x86.hpp, on the pointwise GEMM
// microkernel and tile shape of pwconv1x1_avx2.hpp (for the 3 -> 48/64-channel stems no other shape
// measured faster).
#pragma once

#if defined(__x86_64__)

#include "pwconv1x1_avx2.hpp"
#include "simd_avx2.hpp"

#define MOBILEONE_SIMD_NS avx2
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX2
#include "conv3x3_x86.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#endif  // __x86_64__
