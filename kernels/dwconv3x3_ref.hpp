// Depthwise 3x3 convolution, padding 1: scalar reference, on weights packed [3][3][channels].
#pragma once

#include <cstddef>

#include "kernel_args.hpp"
#include "window_ref.hpp"

namespace mobileone::kernels::ref {

template <int Stride, class T>
void dwconv3x3(const DepthwiseArgsOf<T>& a, int row_begin, int row_end) {
  const std::size_t channels = std::size_t(a.channels);
  convolve_rows<Stride>(a.in_height, a.in_width, a.out_width, channels, a.output, a.bias, a.relu, row_begin, row_end,
                        [&](float* out, std::size_t pixel, std::size_t tap) {
                          const T* in = a.input + pixel * channels;
                          const float* w = a.weights + tap * channels;
                          for (std::size_t c = 0; c < channels; ++c) out[c] += to_float(in[c]) * w[c];
                        });
}

}  // namespace mobileone::kernels::ref
