// Elementwise activations and residual add, avx2: the kernel itself is activation_x86.hpp.
#pragma once

#if defined(__x86_64__)

#include "simd_avx2.hpp"

#define MOBILEONE_SIMD_NS avx2
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX2
#include "activation_x86.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#endif  // __x86_64__
