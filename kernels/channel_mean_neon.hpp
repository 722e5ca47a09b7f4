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

// Means of channels [c, c + 4 * N): N independent accumulators, one per 4 channels, summed down the pixels.
template <int N>
inline void channel_mean_vectors(const ChannelMeanArgs& a, std::size_t c, float32x4_t count) {
  float32x4_t sum[N];
#pragma GCC unroll 8
  for (int j = 0; j < N; ++j) sum[j] = vdupq_n_f32(0.f);
  const float* p = a.input + c;
  for (std::size_t i = 0; i < a.pixels; ++i, p += a.channels) {
#pragma GCC unroll 8
    for (int j = 0; j < N; ++j) sum[j] = vaddq_f32(sum[j], vld1q_f32(p + 4 * j));
  }
#pragma GCC unroll 8
  for (int j = 0; j < N; ++j) vst1q_f32(a.output + c + 4 * j, vdivq_f32(sum[j], count));
}

inline void channel_mean(const ChannelMeanArgs& a, int channel_begin, int channel_end) {
  const std::size_t C = std::size_t(a.channels), P = a.pixels;
  const float32x4_t count = vdupq_n_f32(float(P));
  std::size_t c = std::size_t(channel_begin);
  const std::size_t end = std::size_t(channel_end);
  for (; c + 32 <= end; c += 32) channel_mean_vectors<8>(a, c, count);
  for (; c + 16 <= end; c += 16) channel_mean_vectors<4>(a, c, count);
  for (; c + 4 <= end; c += 4) channel_mean_vectors<1>(a, c, count);
  for (; c < end; ++c) {
    float s = 0.f;
    for (std::size_t i = 0; i < P; ++i) s += a.input[i * C + c];
    a.output[c] = s / float(P);
  }
}

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
