// Dense 3x3 convolution, padding 1 (the stem): scalar reference.
#pragma once

#include <algorithm>
#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::ref {

template <int Stride>
void conv3x3(const Conv3x3Args& a, int row_begin, int row_end) {
  const std::size_t cout = std::size_t(a.out_channels), cin = std::size_t(a.in_channels);
  for (int oy = row_begin; oy < row_end; ++oy)
    for (int ox = 0; ox < a.out_width; ++ox) {
      float* out = a.output + (std::size_t(oy) * std::size_t(a.out_width) + std::size_t(ox)) * cout;
      std::copy(a.bias, a.bias + cout, out);
      for (int ky = 0; ky < 3; ++ky) {
        const int iy = oy * Stride + ky - 1;
        if (iy < 0 || iy >= a.in_height) continue;
        for (int kx = 0; kx < 3; ++kx) {
          const int ix = ox * Stride + kx - 1;
          if (ix < 0 || ix >= a.in_width) continue;
          const float* in = a.input + (std::size_t(iy) * std::size_t(a.in_width) + std::size_t(ix)) * cin;
          const float* w = a.weights + std::size_t(ky * 3 + kx) * cin * cout;
          for (std::size_t ci = 0; ci < cin; ++ci)
            for (std::size_t co = 0; co < cout; ++co) out[co] += in[ci] * w[ci * cout + co];
        }
      }
      if (a.relu)
        for (std::size_t co = 0; co < cout; ++co) out[co] = std::max(out[co], 0.f);
    }
}

}  // namespace mobileone::kernels::ref
