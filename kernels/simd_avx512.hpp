// AVX-512 vector traits: the operations the kernels written once for every ISA (*_simd.hpp)
// and the x86 ones (*_x86.hpp) are written in; the other ISAs' traits are simd_<isa>.hpp.
// Tails use k-masks (masked lanes are neither read nor written, so they never fault).
#pragma once

#if defined(__x86_64__)

#include <immintrin.h>

#include "simd_target.hpp"

namespace mobileone::kernels::avx512 {

struct Vec {
  using type = __m512;
  static constexpr int kWidth = 16;
  // Masked loads and stores are single instructions: tails go through load_partial, not scalar code.
  static constexpr bool kCheapPartial = true;

  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type zero() { return _mm512_setzero_ps(); }
  // Used as an FMA operand straight from memory this becomes an embedded {1to16} broadcast.
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type set1(float x) { return _mm512_set1_ps(x); }
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type load(const float* p) { return _mm512_loadu_ps(p); }
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static void store(float* p, type v) { _mm512_storeu_ps(p, v); }
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static __mmask16 mask(int n) { return __mmask16((1u << n) - 1u); }
  // Lanes [0, n) of p, zeros elsewhere; n in [0, 16].
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type load_partial(const float* p, int n) {
    return _mm512_maskz_loadu_ps(mask(n), p);
  }
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static void store_partial(float* p, type v, int n) {
    _mm512_mask_storeu_ps(p, mask(n), v);
  }
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type fmadd(type a, type b, type c) {
    return _mm512_fmadd_ps(a, b, c);
  }
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type add(type a, type b) { return _mm512_add_ps(a, b); }
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type mul(type a, type b) { return _mm512_mul_ps(a, b); }
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type div(type a, type b) { return _mm512_div_ps(a, b); }
  // (All-lanes mask form: GCC 12's _mm512_max_ps trips -Wmaybe-uninitialized on its own internals.)
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type max(type a, type b) {
    return _mm512_maskz_max_ps(__mmask16(0xFFFF), a, b);
  }
  // max(v, 0) as the scalar reference's std::max(v, 0.f): a NaN stays NaN (vmaxps returns its second
  // operand when either is NaN, so zero goes first), and -0 stays -0.
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type relu(type v) { return _mm512_maskz_max_ps(__mmask16(0xFFFF), _mm512_setzero_ps(), v); }
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static float reduce_add(type v) {
    // (Masked extracts: GCC 12's _mm512_castps512_ps256 trips -Wmaybe-uninitialized on its own internals.)
    const __m256 h = _mm256_add_ps(_mm512_maskz_extractf32x8_ps(__mmask8(0xFF), v, 0),
                                   _mm512_maskz_extractf32x8_ps(__mmask8(0xFF), v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type sub(type a, type b) { return _mm512_sub_ps(a, b); }
  // (All-lanes mask forms below for the same GCC 12 warning as max.)
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type min(type a, type b) {
    return _mm512_maskz_min_ps(__mmask16(0xFFFF), a, b);
  }
  // To the nearest integer, ties to even.
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type round(type a) {
    return _mm512_maskz_roundscale_ps(__mmask16(0xFFFF), a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for integer-valued n in [-126, 127]: n + 127 written into the exponent field.
  MOBILEONE_TARGET_AVX512 MOBILEONE_SIMD_INLINE static type pow2i(type n) {
    const __m512i biased = _mm512_add_epi32(_mm512_maskz_cvtps_epi32(__mmask16(0xFFFF), n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(__mmask16(0xFFFF), biased, 23));
  }
};

}  // namespace mobileone::kernels::avx512

#endif  // __x86_64__
