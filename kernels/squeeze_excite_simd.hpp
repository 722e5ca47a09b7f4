// Squeeze-excite after the squeeze, written once over the vector traits of every SIMD ISA: the gate (two
// small fully connected layers on the channel means, ReLU between, sigmoid after) and the per-channel
// scale of the feature map fused with the block's ReLU. NO include guard on purpose: simd_instantiate.hpp
// includes it once per ISA, inside that ISA's namespace, after linear_simd.hpp (whose dot product it uses).
//
// The gate is a few thousand multiply-adds (negligible next to the scale pass over the feature map):
// dot products with Tuning::kDotAccumulators vectors and a fixed reduction, sigmoid in scalar std::exp as
// the reference computes it. The scale pass is one multiply (and max) per element: bitwise the reference's,
// on float or 16-bit T data (Vec's loads and stores of T convert; the product is float32, rounded once).

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include kernels/registry.hpp, not this file"
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

MOBILEONE_SIMD_TARGET inline float dot(const float* w, const float* x, int n) {
  float s;
  dot_detail::dot_rows<1, Tuning::kDotAccumulators>(&w, x, n, &s);
  return s;
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

template <bool Relu>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE typename Vec::type scale(typename Vec::type x, typename Vec::type gate) {
  return Relu ? Vec::relu(Vec::mul(x, gate)) : Vec::mul(x, gate);
}

// data[p][c] *= gate[c] (then ReLU) for pixels [pixel_begin, pixel_end).
template <bool Relu, class T>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE void scale_pixels(const ScaleChannelsArgsOf<T>& a, std::size_t pixel_begin,
                                                              std::size_t pixel_end) {
  constexpr int W = Vec::kWidth, U = Tuning::kElementwiseVectors;
  const std::size_t channels = std::size_t(a.channels);
  for (std::size_t p = pixel_begin; p < pixel_end; ++p) {
    T* row = a.data + p * channels;
    int c = 0;
    for (; c + U * W <= a.channels; c += U * W)
#pragma GCC unroll 8
      for (int u = 0; u < U; ++u) Vec::store(row + c + u * W, scale<Relu>(Vec::load(row + c + u * W), Vec::load(a.gate + c + u * W)));
    for (; c + W <= a.channels; c += W) Vec::store(row + c, scale<Relu>(Vec::load(row + c), Vec::load(a.gate + c)));
    if (c < a.channels) {
      const int n = a.channels - c;
      Vec::store_partial(row + c, scale<Relu>(Vec::load_partial(row + c, n), Vec::load_partial(a.gate + c, n)), n);
    }
  }
}

template <class T>
MOBILEONE_SIMD_TARGET void scale_channels(const ScaleChannelsArgsOf<T>& a, std::size_t pixel_begin,
                                          std::size_t pixel_end) {
  if (a.relu)
    scale_pixels<true>(a, pixel_begin, pixel_end);
  else
    scale_pixels<false>(a, pixel_begin, pixel_end);
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
