// Depthwise 3x3 convolution, padding 1: scalar reference.
#pragma once

#include <algorithm>
#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::ref {

template <int Stride>
void dwconv3x3(const DepthwiseArgs& a, int row_begin, int row_end) {
  const std::size_t channels = std::size_t(a.channels);
  for (int oy = row_begin; oy < row_end; ++oy)
    for (int ox = 0; ox < a.out_width; ++ox) {
      float* out = a.output + (std::size_t(oy) * std::size_t(a.out_width) + std::size_t(ox)) * channels;
      std::copy(a.bias, a.bias + channels, out);
      for (int ky = 0; ky < 3; ++ky) {
        const int iy = oy * Stride + ky - 1;
        if (iy < 0 || iy >= a.in_height) continue;
        for (int kx = 0; kx < 3; ++kx) {
          const int ix = ox * Stride + kx - 1;
          if (ix < 0 || ix >= a.in_width) continue;
          const float* in = a.input + (std::size_t(iy) * std::size_t(a.in_width) + std::size_t(ix)) * channels;
          const float* w = a.weights + std::size_t(ky * 3 + kx) * channels;
          for (std::size_t c = 0; c < channels; ++c) out[c] += in[c] * w[c];
        }
      }
      if (a.relu)
        for (std::size_t c = 0; c < channels; ++c) out[c] = std::max(out[c], 0.f);
    }
}

}  // namespace mobileone::kernels::ref
