// Per-channel mean over all pixels (global average pool, SE squeeze): AArch64 NEON.
//
// NHWC rows are contiguous channels, so the sum runs down the pixels with one vector accumulator per 4
// channels: 32 channels (8 independent add chains, enough to cover the FADD latency on 2 pipes) per
// pass, then 16, 4 and scalar. Each channel is summed in pixel order and divided by the pixel count,
// exactly as the reference does, so results are bitwise identical to it.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::neon {

inline void channel_mean(const ChannelMeanArgs& a, int channel_begin, int channel_end) {
  const std::size_t C = std::size_t(a.channels), P = a.pixels;
  const float32x4_t count = vdupq_n_f32(float(P));
  std::size_t c = std::size_t(channel_begin);
  const std::size_t end = std::size_t(channel_end);
  for (; c + 32 <= end; c += 32) {
    float32x4_t s0 = vdupq_n_f32(0.f), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    const float* p = a.input + c;
    for (std::size_t i = 0; i < P; ++i, p += C) {
      s0 = vaddq_f32(s0, vld1q_f32(p));
      s1 = vaddq_f32(s1, vld1q_f32(p + 4));
      s2 = vaddq_f32(s2, vld1q_f32(p + 8));
      s3 = vaddq_f32(s3, vld1q_f32(p + 12));
      s4 = vaddq_f32(s4, vld1q_f32(p + 16));
      s5 = vaddq_f32(s5, vld1q_f32(p + 20));
      s6 = vaddq_f32(s6, vld1q_f32(p + 24));
      s7 = vaddq_f32(s7, vld1q_f32(p + 28));
    }
    float* o = a.output + c;
    vst1q_f32(o, vdivq_f32(s0, count));
    vst1q_f32(o + 4, vdivq_f32(s1, count));
    vst1q_f32(o + 8, vdivq_f32(s2, count));
    vst1q_f32(o + 12, vdivq_f32(s3, count));
    vst1q_f32(o + 16, vdivq_f32(s4, count));
    vst1q_f32(o + 20, vdivq_f32(s5, count));
    vst1q_f32(o + 24, vdivq_f32(s6, count));
    vst1q_f32(o + 28, vdivq_f32(s7, count));
  }
  for (; c + 16 <= end; c += 16) {
    float32x4_t s0 = vdupq_n_f32(0.f), s1 = s0, s2 = s0, s3 = s0;
    const float* p = a.input + c;
    for (std::size_t i = 0; i < P; ++i, p += C) {
      s0 = vaddq_f32(s0, vld1q_f32(p));
      s1 = vaddq_f32(s1, vld1q_f32(p + 4));
      s2 = vaddq_f32(s2, vld1q_f32(p + 8));
      s3 = vaddq_f32(s3, vld1q_f32(p + 12));
    }
    float* o = a.output + c;
    vst1q_f32(o, vdivq_f32(s0, count));
    vst1q_f32(o + 4, vdivq_f32(s1, count));
    vst1q_f32(o + 8, vdivq_f32(s2, count));
    vst1q_f32(o + 12, vdivq_f32(s3, count));
  }
  for (; c + 4 <= end; c += 4) {
    float32x4_t s = vdupq_n_f32(0.f);
    const float* p = a.input + c;
    for (std::size_t i = 0; i < P; ++i, p += C) s = vaddq_f32(s, vld1q_f32(p));
    vst1q_f32(a.output + c, vdivq_f32(s, count));
  }
  for (; c < end; ++c) {
    float s = 0.f;
    for (std::size_t i = 0; i < P; ++i) s += a.input[i * C + c];
    a.output[c] = s / float(P);
  }
}

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
