// Per-channel mean (global average pool, SE squeeze), avx512: the kernel itself is channel_mean_x86.hpp.
#pragma once

#if defined(__x86_64__)

#include "simd_avx512.hpp"

#define MOBILEONE_SIMD_NS avx512
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX512
#include "channel_mean_x86.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#endif  // __x86_64__
