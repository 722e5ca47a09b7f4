// Squeeze-excite after the squeeze, written once over a vector-traits type for both x86 ISAs: the gate
// (two small fully connected layers on the channel means, ReLU between, sigmoid after) and the per-channel
// scale of the feature map fused with the block's ReLU. NO include guard on purpose:
// squeeze_excite_avx2.hpp and squeeze_excite_avx512.hpp include it once each inside their namespace (see
// pwconv1x1_x86.hpp).
//
// The gate is a few thousand multiply-adds (negligible next to the scale pass over the feature map):
// vector dot products with a horizontal sum, sigmoid in scalar std::exp as the reference computes it.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include squeeze_excite_avx2.hpp or squeeze_excite_avx512.hpp, not this file"
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

// sum(x[i] * y[i]) for i in [0, n): two vector accumulators, masked tail, horizontal sum.
MOBILEONE_SIMD_TARGET inline float dot(const float* x, const float* y, int n) {
  using V = typename Vec::type;
  constexpr int W = Vec::kWidth;
  V s0 = Vec::zero(), s1 = Vec::zero();
  int i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 = Vec::fmadd(Vec::load(x + i), Vec::load(y + i), s0);
    s1 = Vec::fmadd(Vec::load(x + i + W), Vec::load(y + i + W), s1);
  }
  for (; i + W <= n; i += W) s0 = Vec::fmadd(Vec::load(x + i), Vec::load(y + i), s0);
  if (i < n) s1 = Vec::fmadd(Vec::load_partial(x + i, n - i), Vec::load_partial(y + i, n - i), s1);
  return Vec::reduce_add(Vec::add(s0, s1));
}

MOBILEONE_SIMD_TARGET inline void se_gate(const SeGateArgs& a) {
  const std::size_t channels = std::size_t(a.channels), hidden = std::size_t(a.hidden);
  for (std::size_t h = 0; h < hidden; ++h)
    a.hidden_scratch[h] = std::max(a.reduce_bias[h] + dot(a.reduce_weights + h * channels, a.mean, a.channels), 0.f);
  for (std::size_t c = 0; c < channels; ++c) {
    const float z = a.expand_bias[c] + dot(a.expand_weights + c * hidden, a.hidden_scratch, a.hidden);
    a.gate[c] = 1.f / (1.f + std::exp(-z));
  }
}

// data[p][c] *= gate[c] (then ReLU) for pixels [pixel_begin, pixel_end).
MOBILEONE_SIMD_TARGET inline void scale_channels(const ScaleChannelsArgs& a, std::size_t pixel_begin,
                                                 std::size_t pixel_end) {
  constexpr int W = Vec::kWidth;
  const std::size_t channels = std::size_t(a.channels);
  const int full = a.channels / W * W, tail = a.channels - full;
  for (std::size_t p = pixel_begin; p < pixel_end; ++p) {
    float* row = a.data + p * channels;
    for (int c = 0; c < full; c += W) {
      auto v = Vec::mul(Vec::load(row + c), Vec::load(a.gate + c));
      if (a.relu) v = Vec::max(v, Vec::zero());
      Vec::store(row + c, v);
    }
    if (tail) {
      auto v = Vec::mul(Vec::load_partial(row + full, tail), Vec::load_partial(a.gate + full, tail));
      if (a.relu) v = Vec::max(v, Vec::zero());
      Vec::store_partial(row + full, v, tail);
    }
  }
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
