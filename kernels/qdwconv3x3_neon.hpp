// Depthwise 3x3, padding 1, stride 1 or 2, on uint8 activations (QuantDepthwiseArgs): AArch64 NEON.
// Baseline NEON (no dot product: the weights are fp32), shared by every AArch64 int8 kernel set.
//
// NHWC: a block is 16 neighbouring channels of one pixel, 16 input bytes widened to four float vectors
// (UXTL to 16, then to 32 bits, UCVTF: exact). Per output pixel and block: four accumulators start at the
// bias and take one FMA per vector and tap in the reference's order (kernel row, then column), taps
// outside the image skipped; then ReLU and the float store or the requantization (quantize_neon.hpp).
// Channels past the last multiple of 16 run the same code 4 at a time, the last 1..3 in scalar code.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernel_args.hpp"
#include "quantize_neon.hpp"

namespace mobileone::kernels::neon {

namespace qdw_detail {

// 4 * V uint8 at p (V = 4: a 16-channel block, V = 1: 4 channels) as V float vectors.
template <int V>
inline void widen(const std::uint8_t* p, float32x4_t (&x)[V]) {
  if constexpr (V == 4) {
    const uint8x16_t q = vld1q_u8(p);
    const uint16x8_t lo = vmovl_u8(vget_low_u8(q)), hi = vmovl_u8(vget_high_u8(q));
    x[0] = vcvtq_f32_u32(vmovl_u16(vget_low_u16(lo)));
    x[1] = vcvtq_f32_u32(vmovl_u16(vget_high_u16(lo)));
    x[2] = vcvtq_f32_u32(vmovl_u16(vget_low_u16(hi)));
    x[3] = vcvtq_f32_u32(vmovl_u16(vget_high_u16(hi)));
  } else {
    static_assert(V == 1);
    std::uint32_t bytes;  // exactly 4 bytes: the channel tail may end the tensor
    std::memcpy(&bytes, p, sizeof(bytes));
    const uint16x8_t w = vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(bytes)));
    x[0] = vcvtq_f32_u32(vmovl_u16(vget_low_u16(w)));
  }
}

// Channels [c, c + 4V) of output pixel (oy, ox), kernel rows [ky0, ky1) and columns [kx0, kx1) inside.
template <int S, int V>
inline void block(const QuantDepthwiseArgs& a, int oy, int ox, int ky0, int ky1, int kx0, int kx1, std::size_t c) {
  const std::size_t C = std::size_t(a.channels);
  float32x4_t acc[V];
  for (int v = 0; v < V; ++v) acc[v] = vld1q_f32(a.bias + c + 4 * std::size_t(v));
  for (int ky = ky0; ky < ky1; ++ky) {
    const std::size_t iy = std::size_t(oy * S + ky - 1);
    for (int kx = kx0; kx < kx1; ++kx) {
      const std::size_t ix = std::size_t(ox * S + kx - 1);
      float32x4_t x[V];
      widen<V>(a.input + (iy * std::size_t(a.in_width) + ix) * C + c, x);
      const float* w = a.weights + std::size_t(ky * 3 + kx) * C + c;
      for (int v = 0; v < V; ++v) acc[v] = vfmaq_f32(acc[v], x[v], vld1q_f32(w + 4 * v));
    }
  }
  if (a.relu)
    for (int v = 0; v < V; ++v) acc[v] = vmaxq_f32(acc[v], vdupq_n_f32(0.f));
  const std::size_t out = (std::size_t(oy) * std::size_t(a.out_width) + std::size_t(ox)) * C + c;
  if (!a.output_u8) {
    for (int v = 0; v < V; ++v) vst1q_f32(static_cast<float*>(a.output) + out + 4 * v, acc[v]);
  } else if constexpr (V == 4) {
    vst1q_u8(static_cast<std::uint8_t*>(a.output) + out, requantize_u8x16(acc[0], acc[1], acc[2], acc[3]));
  } else {
    const uint16x4_t h = vmovn_u32(requantize_u32(acc[0]));
    const std::uint32_t bytes = vget_lane_u32(vreinterpret_u32_u8(vmovn_u16(vcombine_u16(h, h))), 0);
    std::memcpy(static_cast<std::uint8_t*>(a.output) + out, &bytes, sizeof(bytes));
  }
}

}  // namespace qdw_detail

template <int Stride>
void qdwconv3x3(const QuantDepthwiseArgs& a, int row_begin, int row_end) {
  static_assert(Stride == 1 || Stride == 2);
  const std::size_t C = std::size_t(a.channels), C16 = C / 16 * 16, C4 = C / 4 * 4;
  for (int oy = row_begin; oy < row_end; ++oy) {
    const int ky0 = oy * Stride - 1 < 0 ? 1 : 0, ky1 = oy * Stride + 1 >= a.in_height ? 2 : 3;
    for (int ox = 0; ox < a.out_width; ++ox) {
      const int kx0 = ox * Stride - 1 < 0 ? 1 : 0, kx1 = ox * Stride + 1 >= a.in_width ? 2 : 3;
      std::size_t c = 0;
      for (; c < C16; c += 16) qdw_detail::block<Stride, 4>(a, oy, ox, ky0, ky1, kx0, kx1, c);
      for (; c < C4; c += 4) qdw_detail::block<Stride, 1>(a, oy, ox, ky0, ky1, kx0, kx1, c);
      for (; c < C; ++c) {  // the last 1..3 channels: the same sums in scalar code
        float acc = a.bias[c];
        for (int ky = ky0; ky < ky1; ++ky)
          for (int kx = kx0; kx < kx1; ++kx) {
            const std::size_t pixel =
                std::size_t(oy * Stride + ky - 1) * std::size_t(a.in_width) + std::size_t(ox * Stride + kx - 1);
            acc = std::fma(float(a.input[pixel * C + c]), a.weights[std::size_t(ky * 3 + kx) * C + c], acc);
          }
        if (a.relu) acc = std::max(acc, 0.f);
        const std::size_t out = (std::size_t(oy) * std::size_t(a.out_width) + std::size_t(ox)) * C + c;
        if (a.output_u8)
          static_cast<std::uint8_t*>(a.output)[out] = requantize_u8(acc);
        else
          static_cast<float*>(a.output)[out] = acc;
      }
    }
  }
}

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
