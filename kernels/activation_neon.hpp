// Elementwise activations (in place) and the residual add: AArch64 NEON.
//
// The arithmetic of the x86 kernels (activation_x86.hpp; exp constants and error bounds in
// kernel_args.hpp): sigmoid(v) = 1 / (1 + exp(-v)), exp on a clamped argument by Cody-Waite reduction, a
// degree-6 Taylor polynomial and 2^n built in the exponent bits, so no input produces inf or NaN.
// Four independent vectors per iteration: one exp is a chain of ~10 dependent FMAs, which an in-order
// core (Cortex-A55) only hides by interleaving independent chains. The last < 4 elements go through a
// 4-lane copy on the stack, so every element is computed the same way whatever the range split.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstddef>
#include <cstring>
#include <iterator>
#include <limits>

#include "kernel_args.hpp"

namespace mobileone::kernels::neon {

namespace activation_detail {

inline float32x4_t exp(float32x4_t x) {
  namespace c = exp_constants;
  x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(c::kMin)), vdupq_n_f32(c::kMax));
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(c::kLog2e)));
  float32x4_t r = vfmaq_f32(x, n, vdupq_n_f32(-c::kLn2Hi));
  r = vfmaq_f32(r, n, vdupq_n_f32(-c::kLn2Lo));
  float32x4_t p = vdupq_n_f32(c::kTaylor[0]);
#pragma GCC unroll 8
  for (std::size_t k = 1; k < std::size(c::kTaylor); ++k) p = vfmaq_f32(vdupq_n_f32(c::kTaylor[k]), p, r);
  const int32x4_t biased = vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127));  // n is integral: exact
  return vmulq_f32(p, vreinterpretq_f32_s32(vshlq_n_s32(biased, 23)));
}

inline float32x4_t sigmoid(float32x4_t v) {
  const float32x4_t one = vdupq_n_f32(1.f);
  return vdivq_f32(one, vaddq_f32(one, exp(vnegq_f32(v))));
}

template <Activation A>
inline float32x4_t activation(float32x4_t x) {
  if constexpr (A == Activation::relu) {
    return vmaxq_f32(x, vdupq_n_f32(0.f));
  } else if constexpr (A == Activation::gelu) {
    const float32x4_t inner = vfmaq_f32(x, vmulq_f32(vmulq_f32(x, x), x), vdupq_n_f32(kGeluCubic));
    return vmulq_f32(x, sigmoid(vmulq_f32(inner, vdupq_n_f32(kGeluSigmoidScale))));
  } else if constexpr (A == Activation::silu) {
    return vmulq_f32(x, sigmoid(x));
  } else {
    static_assert(A == Activation::hard_swish);
    const float32x4_t gate = vminq_f32(vmaxq_f32(vaddq_f32(x, vdupq_n_f32(3.f)), vdupq_n_f32(0.f)), vdupq_n_f32(6.f));
    return vmulq_f32(vmulq_f32(x, gate), vdupq_n_f32(1.f / 6.f));
  }
}

// data[i] = op(data[i]) (4 lanes at a time; `addend` lanes alongside when given) for [begin, end).
template <class Op>
inline void for_each_vector(float* data, const float* addend, std::size_t begin, std::size_t end, const Op& op) {
  auto other = [&](std::size_t i) { return addend ? vld1q_f32(addend + i) : vdupq_n_f32(0.f); };
  std::size_t i = begin;
  for (; i + 16 <= end; i += 16) {
    const float32x4_t y0 = op(vld1q_f32(data + i), other(i)), y1 = op(vld1q_f32(data + i + 4), other(i + 4)),
                      y2 = op(vld1q_f32(data + i + 8), other(i + 8)), y3 = op(vld1q_f32(data + i + 12), other(i + 12));
    vst1q_f32(data + i, y0);
    vst1q_f32(data + i + 4, y1);
    vst1q_f32(data + i + 8, y2);
    vst1q_f32(data + i + 12, y3);
  }
  for (; i + 4 <= end; i += 4) vst1q_f32(data + i, op(vld1q_f32(data + i), other(i)));
  if (i < end) {
    const std::size_t bytes = (end - i) * sizeof(float);
    float lanes[4] = {}, addend_lanes[4] = {};
    std::memcpy(lanes, data + i, bytes);
    if (addend) std::memcpy(addend_lanes, addend + i, bytes);
    vst1q_f32(lanes, op(vld1q_f32(lanes), vld1q_f32(addend_lanes)));
    std::memcpy(data + i, lanes, bytes);
  }
}

}  // namespace activation_detail

// Elements [begin, end), in place.
template <Activation A>
inline void activate(const ActivationArgs& a, std::size_t begin, std::size_t end) {
  activation_detail::for_each_vector(a.data, nullptr, begin, end,
                                     [](float32x4_t x, float32x4_t) { return activation_detail::activation<A>(x); });
}

// data[i] += addend[i] (then ReLU: a max against 0, or against -inf, which changes nothing) for elements
// [begin, end); the values equal the reference's.
inline void add(const AddArgs& a, std::size_t begin, std::size_t end) {
  const float32x4_t floor = vdupq_n_f32(a.relu ? 0.f : -std::numeric_limits<float>::infinity());
  activation_detail::for_each_vector(a.data, a.addend, begin, end,
                                     [floor](float32x4_t x, float32x4_t y) { return vmaxq_f32(vaddq_f32(x, y), floor); });
}

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
