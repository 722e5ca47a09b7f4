// Squeeze-excite after the squeeze (the channel means come from channel_mean): the gate, two small fully
// connected layers + sigmoid, and the per-channel scale fused with the block's ReLU. AArch64 NEON.
//
// The gate is tiny (channels x hidden x 2 MACs, hidden = channels / 16), so it is written for clarity:
// reduce = dot products along contiguous rows with 4 accumulator vectors (16 lanes of partial sums,
// reduced pairwise in a fixed order), expand = the same on the [channels][hidden] rows. The sigmoid uses
// std::exp on each of the <= 2048 gate values, like the reference. scale_channels streams the feature map
// once: one multiply (and max) per vector, bitwise identical to the reference.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "kernel_args.hpp"

namespace mobileone::kernels::neon {

namespace se_detail {

// sum_i w[i] * x[i], in a fixed order for a given n.
inline float dot(const float* w, const float* x, std::size_t n) {
  float32x4_t s0 = vdupq_n_f32(0.f), s1 = s0, s2 = s0, s3 = s0;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = vfmaq_f32(s0, vld1q_f32(w + i), vld1q_f32(x + i));
    s1 = vfmaq_f32(s1, vld1q_f32(w + i + 4), vld1q_f32(x + i + 4));
    s2 = vfmaq_f32(s2, vld1q_f32(w + i + 8), vld1q_f32(x + i + 8));
    s3 = vfmaq_f32(s3, vld1q_f32(w + i + 12), vld1q_f32(x + i + 12));
  }
  for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(w + i), vld1q_f32(x + i));
  float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
  for (; i < n; ++i) s = std::fma(w[i], x[i], s);
  return s;
}

}  // namespace se_detail

inline void se_gate(const SeGateArgs& a) {
  const std::size_t channels = std::size_t(a.channels), hidden = std::size_t(a.hidden);
  for (std::size_t h = 0; h < hidden; ++h)
    a.hidden_scratch[h] = std::max(a.reduce_bias[h] + se_detail::dot(a.reduce_weights + h * channels, a.mean, channels), 0.f);
  for (std::size_t c = 0; c < channels; ++c) {
    const float z = a.expand_bias[c] + se_detail::dot(a.expand_weights + c * hidden, a.hidden_scratch, hidden);
    a.gate[c] = 1.f / (1.f + std::exp(-z));
  }
}

inline void scale_channels(const ScaleChannelsArgs& a, std::size_t pixel_begin, std::size_t pixel_end) {
  const std::size_t C = std::size_t(a.channels), C4 = C / 4 * 4;
  const float32x4_t floor = vdupq_n_f32(a.relu ? 0.f : -std::numeric_limits<float>::infinity());
  for (std::size_t p = pixel_begin; p < pixel_end; ++p) {
    float* row = a.data + p * C;
    std::size_t c = 0;
    for (; c + 16 <= C; c += 16) {
      vst1q_f32(row + c, vmaxq_f32(vmulq_f32(vld1q_f32(row + c), vld1q_f32(a.gate + c)), floor));
      vst1q_f32(row + c + 4, vmaxq_f32(vmulq_f32(vld1q_f32(row + c + 4), vld1q_f32(a.gate + c + 4)), floor));
      vst1q_f32(row + c + 8, vmaxq_f32(vmulq_f32(vld1q_f32(row + c + 8), vld1q_f32(a.gate + c + 8)), floor));
      vst1q_f32(row + c + 12, vmaxq_f32(vmulq_f32(vld1q_f32(row + c + 12), vld1q_f32(a.gate + c + 12)), floor));
    }
    for (; c < C4; c += 4) vst1q_f32(row + c, vmaxq_f32(vmulq_f32(vld1q_f32(row + c), vld1q_f32(a.gate + c)), floor));
    for (; c < C; ++c) {
      const float v = row[c] * a.gate[c];
      row[c] = a.relu ? std::max(v, 0.f) : v;
    }
  }
}

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
