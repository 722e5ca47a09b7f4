// Pointwise 1x1 convolution on packed panels: scalar reference.
#pragma once

#include <algorithm>
#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::ref {

inline void pwconv1x1(const PointwiseArgs& a, std::size_t pixel_begin, std::size_t pixel_end, std::size_t panel_begin,
                      std::size_t panel_end) {
  const std::size_t cin = std::size_t(a.in_channels), cout = std::size_t(a.out_channels);
  for (std::size_t p = pixel_begin; p < pixel_end; ++p) {
    const float* in = a.input + p * cin;
    for (std::size_t panel = panel_begin; panel < panel_end; ++panel) {
      const float* w = a.weights + panel * cin * kPanelWidth;
      const std::size_t co_begin = panel * kPanelWidth, co_end = std::min(cout, co_begin + kPanelWidth);
      for (std::size_t co = co_begin; co < co_end; ++co) {
        float acc = a.bias[co];
        for (std::size_t ci = 0; ci < cin; ++ci) acc += in[ci] * w[ci * kPanelWidth + (co - co_begin)];
        a.output[p * cout + co] = a.relu ? std::max(acc, 0.f) : acc;
      }
    }
  }
}

}  // namespace mobileone::kernels::ref
