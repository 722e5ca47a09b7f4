// Dense 3x3 convolution, padding 1 (the stem): scalar reference, on weights packed [3][3][in][out].
#pragma once

#include <cstddef>

#include "kernel_args.hpp"
#include "window_ref.hpp"

namespace mobileone::kernels::ref {

template <int Stride, class T>
void conv3x3(const Conv3x3ArgsOf<T>& a, int row_begin, int row_end) {
  const std::size_t cout = std::size_t(a.out_channels), cin = std::size_t(a.in_channels);
  convolve_rows<Stride>(a.in_height, a.in_width, a.out_width, cout, a.output, a.bias, a.relu, row_begin, row_end,
                        [&](float* out, std::size_t pixel, std::size_t tap) {
                          const float* in = a.input + pixel * cin;
                          const float* w = a.weights + tap * cin * cout;
                          for (std::size_t ci = 0; ci < cin; ++ci)
                            for (std::size_t co = 0; co < cout; ++co) out[co] += in[ci] * w[ci * cout + co];
                        });
}

}  // namespace mobileone::kernels::ref
