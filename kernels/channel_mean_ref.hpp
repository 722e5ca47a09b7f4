// Per-channel mean over all pixels (global average pool, SE squeeze): scalar reference.
#pragma once

#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::ref {

template <class T>
void channel_mean(const ChannelMeanArgsOf<T>& a, int channel_begin, int channel_end) {
  const std::size_t channels = std::size_t(a.channels);
  for (int c = channel_begin; c < channel_end; ++c) {
    float sum = 0.f;
    for (std::size_t p = 0; p < a.pixels; ++p) sum += to_float(a.input[p * channels + std::size_t(c)]);
    a.output[c] = sum / float(a.pixels);
  }
}

}  // namespace mobileone::kernels::ref
