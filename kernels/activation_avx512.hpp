// Elementwise activations and residual add, avx512: the kernel itself is activation_x86.hpp.
#pragma once

#if defined(__x86_64__)

#include "simd_avx512.hpp"

#define MOBILEONE_SIMD_NS avx512
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX512
#include "activation_x86.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#endif  // __x86_64__
