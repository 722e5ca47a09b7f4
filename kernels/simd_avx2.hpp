// AVX2+FMA vector traits: the operations the kernels written once for every ISA (*_simd.hpp)
// and the x86 ones (*_x86.hpp) are written in; the other ISAs' traits are simd_<isa>.hpp.
// Tails (channel counts not a multiple of 8) use vmaskmov loads/stores that never touch memory past n.
#pragma once

#if defined(__x86_64__)

#include <immintrin.h>

#include <cstdint>

#include "simd_target.hpp"

namespace mobileone::kernels::avx2 {

// Eight -1 then eight 0: the 8 ints at (kMaskTable + 8 - n) enable lanes [0, n).
alignas(64) inline constexpr std::int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

struct Vec {
  using type = __m256;
  static constexpr int kWidth = 8;
  // Masked loads and stores are single instructions: tails go through load_partial, not scalar code.
  static constexpr bool kCheapPartial = true;

  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type zero() { return _mm256_setzero_ps(); }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type set1(float x) { return _mm256_set1_ps(x); }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type load(const float* p) { return _mm256_loadu_ps(p); }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static void store(float* p, type v) { _mm256_storeu_ps(p, v); }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static __m256i mask(int n) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable + 8 - n));
  }
  // Lanes [0, n) of p, zeros elsewhere; n in [0, 8].
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type load_partial(const float* p, int n) {
    return _mm256_maskload_ps(p, mask(n));
  }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static void store_partial(float* p, type v, int n) {
    _mm256_maskstore_ps(p, mask(n), v);
  }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type fmadd(type a, type b, type c) {
    return _mm256_fmadd_ps(a, b, c);
  }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type add(type a, type b) { return _mm256_add_ps(a, b); }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type mul(type a, type b) { return _mm256_mul_ps(a, b); }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type div(type a, type b) { return _mm256_div_ps(a, b); }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type max(type a, type b) { return _mm256_max_ps(a, b); }
  // max(v, 0) as the scalar reference's std::max(v, 0.f): a NaN stays NaN (vmaxps returns its second
  // operand when either is NaN, so zero goes first), and -0 stays -0.
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type relu(type v) { return _mm256_max_ps(_mm256_setzero_ps(), v); }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static float reduce_add(type v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type sub(type a, type b) { return _mm256_sub_ps(a, b); }
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type min(type a, type b) { return _mm256_min_ps(a, b); }
  // To the nearest integer, ties to even.
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type round(type a) {
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for integer-valued n in [-126, 127]: n + 127 written into the exponent field.
  MOBILEONE_TARGET_AVX2 MOBILEONE_SIMD_INLINE static type pow2i(type n) {
    const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23));
  }
};

}  // namespace mobileone::kernels::avx2

#endif  // __x86_64__
