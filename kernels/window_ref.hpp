// The 3x3, padding-1 convolution loop of the scalar references (conv3x3_ref.hpp, dwconv3x3_ref.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "half.hpp"

namespace mobileone::kernels::ref {

// Output rows [row_begin, row_end) of a 3x3, padding-1 convolution into `output` [out_h][out_w][channels]:
// each output pixel starts from the bias in float32, then tap(acc, input pixel iy * in_width + ix, tap
// ky * 3 + kx) accumulates every kernel position inside the image in row-major order (padding contributes
// nothing, not zeros), then the optional ReLU, then the rounding to T.
template <int Stride, class T, class Tap>
void convolve_rows(int in_height, int in_width, int out_width, std::size_t channels, T* output, const float* bias,
                   bool relu, int row_begin, int row_end, const Tap& tap) {
  std::vector<float> acc(channels);
  for (int oy = row_begin; oy < row_end; ++oy)
    for (int ox = 0; ox < out_width; ++ox) {
      std::copy(bias, bias + channels, acc.begin());
      for (int ky = 0; ky < 3; ++ky) {
        const int iy = oy * Stride + ky - 1;
        if (iy < 0 || iy >= in_height) continue;
        for (int kx = 0; kx < 3; ++kx) {
          const int ix = ox * Stride + kx - 1;
          if (ix < 0 || ix >= in_width) continue;
          tap(acc.data(), std::size_t(iy) * std::size_t(in_width) + std::size_t(ix), std::size_t(ky * 3 + kx));
        }
      }
      T* out = output + (std::size_t(oy) * std::size_t(out_width) + std::size_t(ox)) * channels;
      for (std::size_t c = 0; c < channels; ++c) out[c] = from_float<T>(relu ? std::max(acc[c], 0.f) : acc[c]);
    }
}

}  // namespace mobileone::kernels::ref
