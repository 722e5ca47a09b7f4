// int8 pointwise 1x1 convolution (uint8 activations x int8 weights, int32 accumulation, float epilogue):
// scalar reference on the packed panels (QuantPointwiseArgs).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernel_args.hpp"
#include "pack.hpp"

namespace mobileone::kernels::ref {

// The epilogue every int8 kernel applies to one accumulator (kernel_args.hpp).
inline void store_quant_output(void* output, std::size_t index, std::int32_t acc, float scale, float bias, bool relu,
                               bool output_u8) {
  float v = std::fma(float(acc), scale, bias);
  if (relu) v = std::max(v, 0.f);
  if (output_u8)
    static_cast<std::uint8_t*>(output)[index] = requantize_u8(v);
  else
    static_cast<float*>(output)[index] = v;
}

inline void qpwconv1x1(const QuantPointwiseArgs& a, std::size_t pixel_begin, std::size_t pixel_end,
                       std::size_t panel_begin, std::size_t panel_end) {
  const std::size_t cin = std::size_t(a.in_channels), cout = std::size_t(a.out_channels);
  const std::size_t groups = quant_pointwise_groups(a.in_channels);
  for (std::size_t p = pixel_begin; p < pixel_end; ++p) {
    const std::uint8_t* in = a.input + p * cin;
    for (std::size_t panel = panel_begin; panel < panel_end; ++panel) {
      const std::int8_t* w = a.weights + panel * groups * kPanelWidth * kQuantGroup;
      const std::size_t co_begin = panel * kPanelWidth, co_end = std::min(cout, co_begin + kPanelWidth);
      for (std::size_t co = co_begin; co < co_end; ++co) {
        const std::size_t lane = co - co_begin;
        std::int32_t acc = 0;
        for (std::size_t ci = 0; ci < cin; ++ci)
          acc += std::int32_t(in[ci]) *
                 std::int32_t(w[(ci / kQuantGroup * kPanelWidth + lane) * kQuantGroup + ci % kQuantGroup]);
        if (a.diagonal) acc += a.diagonal[co] * std::int32_t(in[co]);
        store_quant_output(a.output, p * cout + co, acc, a.scale[co], a.bias[co], a.relu, a.output_u8);
      }
    }
  }
}

}  // namespace mobileone::kernels::ref
