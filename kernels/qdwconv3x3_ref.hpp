// Depthwise 3x3 on uint8 activations (fp32 weights with the input scale folded in, fp32 accumulation in
// the fp32 kernels' tap order, uint8 or float output): scalar reference (QuantDepthwiseArgs).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernel_args.hpp"

namespace mobileone::kernels::ref {

template <int Stride>
void qdwconv3x3(const QuantDepthwiseArgs& a, int row_begin, int row_end) {
  constexpr std::size_t kBlock = 64;  // channels per pass: the accumulators live on the stack
  const std::size_t channels = std::size_t(a.channels);
  float acc[kBlock];
  for (int oy = row_begin; oy < row_end; ++oy)
    for (int ox = 0; ox < a.out_width; ++ox)
      for (std::size_t c0 = 0; c0 < channels; c0 += kBlock) {
        const std::size_t n = std::min(kBlock, channels - c0);
        std::copy(a.bias + c0, a.bias + c0 + n, acc);
        for (int ky = 0; ky < 3; ++ky) {
          const int iy = oy * Stride + ky - 1;
          if (iy < 0 || iy >= a.in_height) continue;
          for (int kx = 0; kx < 3; ++kx) {
            const int ix = ox * Stride + kx - 1;
            if (ix < 0 || ix >= a.in_width) continue;
            const std::uint8_t* in =
                a.input + (std::size_t(iy) * std::size_t(a.in_width) + std::size_t(ix)) * channels + c0;
            const float* w = a.weights + std::size_t(ky * 3 + kx) * channels + c0;
            for (std::size_t c = 0; c < n; ++c) acc[c] += float(in[c]) * w[c];
          }
        }
        const std::size_t out = (std::size_t(oy) * std::size_t(a.out_width) + std::size_t(ox)) * channels + c0;
        for (std::size_t c = 0; c < n; ++c) {
          const float v = a.relu ? std::max(acc[c], 0.f) : acc[c];
          if (a.output_u8)
            static_cast<std::uint8_t*>(a.output)[out + c] = requantize_u8(v);
          else
            static_cast<float*>(a.output)[out + c] = v;
        }
      }
}

}  // namespace mobileone::kernels::ref
