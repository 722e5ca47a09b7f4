// The int8 requantization rule (kernel_args.hpp, requantize_u8) on NEON vectors, and float -> uint8
// activations (QuantizeArgs). Baseline NEON (no dot product): shared by every AArch64 int8 kernel set.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "kernel_args.hpp"
#include "simd_target.hpp"

namespace mobileone::kernels::neon {

// requantize_u8 on 4 lanes, widened to 32 bits: FMAXNM turns NaN into 0 (as v > 0 is false for NaN), FMIN
// saturates at 255 in float, FCVTNU rounds half to even (nearbyint in the default rounding mode).
MOBILEONE_SIMD_INLINE uint32x4_t requantize_u32(float32x4_t v) {
  return vcvtnq_u32_f32(vminq_f32(vmaxnmq_f32(v, vdupq_n_f32(0.f)), vdupq_n_f32(255.f)));
}

// 16 epilogue results (4 channels per vector, in order) -> 16 uint8.
MOBILEONE_SIMD_INLINE uint8x16_t requantize_u8x16(float32x4_t v0, float32x4_t v1, float32x4_t v2, float32x4_t v3) {
  const uint16x8_t lo = vcombine_u16(vmovn_u32(requantize_u32(v0)), vmovn_u32(requantize_u32(v1)));
  const uint16x8_t hi = vcombine_u16(vmovn_u32(requantize_u32(v2)), vmovn_u32(requantize_u32(v3)));
  return vcombine_u8(vmovn_u16(lo), vmovn_u16(hi));
}

inline void quantize(const QuantizeArgs& a, std::size_t begin, std::size_t end) {
  const float32x4_t s = vdupq_n_f32(a.inv_scale);
  std::size_t i = begin;
  for (; i + 16 <= end; i += 16) {
    const float* x = a.input + i;
    vst1q_u8(a.output + i, requantize_u8x16(vmulq_f32(vld1q_f32(x), s), vmulq_f32(vld1q_f32(x + 4), s),
                                            vmulq_f32(vld1q_f32(x + 8), s), vmulq_f32(vld1q_f32(x + 12), s)));
  }
  for (; i < end; ++i) a.output[i] = requantize_u8(a.input[i] * a.inv_scale);  // same product, same rule
}

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
