// Squeeze-excite after the squeeze: the gate (two small FCs + sigmoid) and the per-channel scale
// (fused with the block's ReLU). Scalar reference.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::ref {

inline void se_gate(const SeGateArgs& a) {
  const std::size_t channels = std::size_t(a.channels), hidden = std::size_t(a.hidden);
  for (std::size_t h = 0; h < hidden; ++h) {
    float acc = a.reduce_bias[h];
    for (std::size_t c = 0; c < channels; ++c) acc += a.reduce_weights[h * channels + c] * a.mean[c];
    a.hidden_scratch[h] = std::max(acc, 0.f);
  }
  for (std::size_t c = 0; c < channels; ++c) {
    float acc = a.expand_bias[c];
    for (std::size_t h = 0; h < hidden; ++h) acc += a.expand_weights[c * hidden + h] * a.hidden_scratch[h];
    a.gate[c] = 1.f / (1.f + std::exp(-acc));
  }
}

template <class T>
void scale_channels(const ScaleChannelsArgsOf<T>& a, std::size_t pixel_begin, std::size_t pixel_end) {
  const std::size_t channels = std::size_t(a.channels);
  for (std::size_t p = pixel_begin; p < pixel_end; ++p)
    for (std::size_t c = 0; c < channels; ++c) {
      const float v = to_float(a.data[p * channels + c]) * a.gate[c];
      a.data[p * channels + c] = from_float<T>(a.relu ? std::max(v, 0.f) : v);
    }
}

}  // namespace mobileone::kernels::ref
