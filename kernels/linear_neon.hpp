// Fully connected layer (the classifier head): AArch64 NEON.
//
// Weights are [out][in] rows; the layer is a matrix-vector product limited by streaming the weights
// (1000 x 1024..2048 floats). Four output rows are computed together so each input vector load serves 4
// rows, with two accumulator vectors per row (8 independent FMA chains). Every output is computed the
// same way whichever block it falls in (lane-wise partial sums over in-features i = 8j..8j+7, then a
// fixed reduction, then the scalar tail, then the bias), so splitting outputs between threads never
// changes a result.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cmath>
#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::neon {

namespace linear_detail {

template <int R>
inline void rows(const LinearArgs& a, int o) {
  const std::size_t in = std::size_t(a.in_features);
  const float* x = a.input;
  const float* w0 = a.weights + std::size_t(o) * in;
  const float* w1 = w0 + (R > 1 ? in : 0);
  const float* w2 = w0 + (R > 2 ? 2 * in : 0);
  const float* w3 = w0 + (R > 3 ? 3 * in : 0);
  const float32x4_t zero = vdupq_n_f32(0.f);
  float32x4_t s0a = zero, s0b = zero, s1a = zero, s1b = zero, s2a = zero, s2b = zero, s3a = zero, s3b = zero;
  std::size_t i = 0;
  for (; i + 8 <= in; i += 8) {
    const float32x4_t xa = vld1q_f32(x + i), xb = vld1q_f32(x + i + 4);
    s0a = vfmaq_f32(s0a, vld1q_f32(w0 + i), xa);
    s0b = vfmaq_f32(s0b, vld1q_f32(w0 + i + 4), xb);
    if constexpr (R > 1) {
      s1a = vfmaq_f32(s1a, vld1q_f32(w1 + i), xa);
      s1b = vfmaq_f32(s1b, vld1q_f32(w1 + i + 4), xb);
    }
    if constexpr (R > 2) {
      s2a = vfmaq_f32(s2a, vld1q_f32(w2 + i), xa);
      s2b = vfmaq_f32(s2b, vld1q_f32(w2 + i + 4), xb);
    }
    if constexpr (R > 3) {
      s3a = vfmaq_f32(s3a, vld1q_f32(w3 + i), xa);
      s3b = vfmaq_f32(s3b, vld1q_f32(w3 + i + 4), xb);
    }
  }
  if (i + 4 <= in) {
    const float32x4_t xa = vld1q_f32(x + i);
    s0a = vfmaq_f32(s0a, vld1q_f32(w0 + i), xa);
    if constexpr (R > 1) s1a = vfmaq_f32(s1a, vld1q_f32(w1 + i), xa);
    if constexpr (R > 2) s2a = vfmaq_f32(s2a, vld1q_f32(w2 + i), xa);
    if constexpr (R > 3) s3a = vfmaq_f32(s3a, vld1q_f32(w3 + i), xa);
    i += 4;
  }
  auto finish = [&](float32x4_t sa, float32x4_t sb, const float* w, int r) {
    float s = vaddvq_f32(vaddq_f32(sa, sb));
    for (std::size_t j = i; j < in; ++j) s = std::fma(w[j], x[j], s);
    a.output[o + r] = a.bias[o + r] + s;
  };
  finish(s0a, s0b, w0, 0);
  if constexpr (R > 1) finish(s1a, s1b, w1, 1);
  if constexpr (R > 2) finish(s2a, s2b, w2, 2);
  if constexpr (R > 3) finish(s3a, s3b, w3, 3);
}

}  // namespace linear_detail

inline void linear(const LinearArgs& a, int out_begin, int out_end) {
  int o = out_begin;
  for (; o + 4 <= out_end; o += 4) linear_detail::rows<4>(a, o);
  for (; o < out_end; ++o) linear_detail::rows<1>(a, o);
}

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
