// Pointwise 1x1 convolution on packed panels: scalar reference. Group is the panels' group of input
// channels (PointwiseArgsOf: 1 for float32, 2 for the bf16 pair layout); float32 accumulation in k order.
#pragma once

#include <algorithm>
#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::ref {

template <int Group = 1, class T>
void pwconv1x1(const PointwiseArgsOf<T>& a, std::size_t pixel_begin, std::size_t pixel_end, std::size_t panel_begin,
               std::size_t panel_end) {
  constexpr std::size_t G = Group;
  const std::size_t cin = std::size_t(a.in_channels), cout = std::size_t(a.out_channels);
  const std::size_t panel_size = (cin + G - 1) / G * G * kPanelWidth;
  for (std::size_t p = pixel_begin; p < pixel_end; ++p) {
    const T* in = a.input + p * cin;
    for (std::size_t panel = panel_begin; panel < panel_end; ++panel) {
      const T* w = a.weights + panel * panel_size;
      const std::size_t co_begin = panel * kPanelWidth, co_end = std::min(cout, co_begin + kPanelWidth);
      for (std::size_t co = co_begin; co < co_end; ++co) {
        float acc = a.bias[co];
        for (std::size_t ci = 0; ci < cin; ++ci)
          acc += to_float(in[ci]) * to_float(w[ci / G * kPanelWidth * G + (co - co_begin) * G + ci % G]);
        if (a.diagonal) acc += a.diagonal[co] * to_float(in[co]);
        a.output[p * cout + co] = from_float<T>(a.relu ? std::max(acc, 0.f) : acc);
      }
    }
  }
}

}  // namespace mobileone::kernels::ref
