// AArch64 NEON vector traits: the operations the kernels written once for every ISA (*_simd.hpp) are
// written in (simd_avx2.hpp has the x86 counterpart). Four lanes. NEON has no masked loads: a partial
// vector goes through a 4-lane copy on the stack, so kCheapPartial is false and the kernels finish their
// reductions' tails in scalar code instead.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstring>

#include "simd_target.hpp"

namespace mobileone::kernels::neon {

struct Vec {
  using type = float32x4_t;
  static constexpr int kWidth = 4;
  static constexpr bool kCheapPartial = false;

  MOBILEONE_SIMD_INLINE static type zero() { return vdupq_n_f32(0.f); }
  MOBILEONE_SIMD_INLINE static type set1(float x) { return vdupq_n_f32(x); }
  MOBILEONE_SIMD_INLINE static type load(const float* p) { return vld1q_f32(p); }
  MOBILEONE_SIMD_INLINE static void store(float* p, type v) { vst1q_f32(p, v); }
  // Lanes [0, n) of p, zeros elsewhere; n in [0, 4]. Never touches memory past p + n.
  MOBILEONE_SIMD_INLINE static type load_partial(const float* p, int n) {
    float lanes[4] = {0.f, 0.f, 0.f, 0.f};
    std::memcpy(lanes, p, std::size_t(n) * sizeof(float));
    return vld1q_f32(lanes);
  }
  MOBILEONE_SIMD_INLINE static void store_partial(float* p, type v, int n) {
    float lanes[4];
    vst1q_f32(lanes, v);
    std::memcpy(p, lanes, std::size_t(n) * sizeof(float));
  }
  MOBILEONE_SIMD_INLINE static type fmadd(type a, type b, type c) { return vfmaq_f32(c, a, b); }
  MOBILEONE_SIMD_INLINE static type add(type a, type b) { return vaddq_f32(a, b); }
  MOBILEONE_SIMD_INLINE static type sub(type a, type b) { return vsubq_f32(a, b); }
  MOBILEONE_SIMD_INLINE static type mul(type a, type b) { return vmulq_f32(a, b); }
  MOBILEONE_SIMD_INLINE static type div(type a, type b) { return vdivq_f32(a, b); }
  MOBILEONE_SIMD_INLINE static type max(type a, type b) { return vmaxq_f32(a, b); }
  MOBILEONE_SIMD_INLINE static type min(type a, type b) { return vminq_f32(a, b); }
  // fmax keeps a NaN (as the scalar reference's std::max(v, 0.f) does); -0 becomes +0.
  MOBILEONE_SIMD_INLINE static type relu(type v) { return vmaxq_f32(v, vdupq_n_f32(0.f)); }
  MOBILEONE_SIMD_INLINE static float reduce_add(type v) { return vaddvq_f32(v); }
  // To the nearest integer, ties to even.
  MOBILEONE_SIMD_INLINE static type round(type a) { return vrndnq_f32(a); }
  // 2^n for integer-valued n in [-126, 127]: n + 127 written into the exponent field.
  MOBILEONE_SIMD_INLINE static type pow2i(type n) {
    const int32x4_t biased = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));  // n is integral: exact
    return vreinterpretq_f32_s32(vshlq_n_s32(biased, 23));
  }
};

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
