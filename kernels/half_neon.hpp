// Four activations of T <-> one float32x4_t on baseline ARMv8-A NEON (no extension): the loads and stores
// the hand-written NEON stem and depthwise kernels (conv3x3_neon.hpp, dwconv3x3_neon.hpp) are written in,
// for float and for the 16-bit types of the fp16 and bf16 kernel sets (half.hpp). Those kernels compute in
// float32 for every T, so only these conversions differ, and they need no target attribute: FCVTL / FCVTN
// (fp16 <-> float32) are baseline instructions, a bf16 widens exactly by a 16-bit shift, and a float32 is
// rounded to bf16 with integer operations (BFCVTN needs FEAT_BF16; the bf16 kernel set's own code, which
// carries that target, uses it: isa_neon_half.hpp).
// Rounding: to nearest, ties to even, as from_float<T> (half.hpp); FCVTN rounds by FPCR, which is
// round-to-nearest-even unless a program changes it. NaN stays a quiet NaN.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstdint>

#include "half.hpp"
#include "simd_target.hpp"

namespace mobileone::kernels::neon {

template <HalfFormat F>
MOBILEONE_SIMD_INLINE const std::uint16_t* half_bits(const Half<F>* p) {
  return reinterpret_cast<const std::uint16_t*>(p);
}
template <HalfFormat F>
MOBILEONE_SIMD_INLINE std::uint16_t* half_bits(Half<F>* p) {
  return reinterpret_cast<std::uint16_t*>(p);
}

MOBILEONE_SIMD_INLINE float32x4_t load4(const float* p) { return vld1q_f32(p); }
MOBILEONE_SIMD_INLINE float32x4_t load4(const fp16* p) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(half_bits(p))));
}
MOBILEONE_SIMD_INLINE float32x4_t load4(const bf16* p) {
  return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(half_bits(p)), 16));
}

// float32 -> bf16 bit patterns, round to nearest even: (u + 0x7FFF + bit 16 of u) >> 16; a NaN keeps its
// top mantissa bits with the quiet bit set, as from_float<bf16> does (the rounding could carry it to inf).
MOBILEONE_SIMD_INLINE uint16x4_t bf16_bits_of(float32x4_t v) {
  const uint32x4_t u = vreinterpretq_u32_f32(v);
  const uint32x4_t odd = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
  const uint32x4_t rounded = vaddq_u32(vaddq_u32(u, odd), vdupq_n_u32(0x7FFF));
  const uint32x4_t quiet_nan = vorrq_u32(u, vdupq_n_u32(0x00400000));
  return vshrn_n_u32(vbslq_u32(vceqq_f32(v, v), rounded, quiet_nan), 16);
}

MOBILEONE_SIMD_INLINE void store4(float* p, float32x4_t v) { vst1q_f32(p, v); }
MOBILEONE_SIMD_INLINE void store4(fp16* p, float32x4_t v) { vst1_u16(half_bits(p), vreinterpret_u16_f16(vcvt_f16_f32(v))); }
MOBILEONE_SIMD_INLINE void store4(bf16* p, float32x4_t v) { vst1_u16(half_bits(p), bf16_bits_of(v)); }

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
