// Per-channel mean over all pixels (global average pool, squeeze-excite's squeeze), written once over a
// vector-traits type for both x86 ISAs. NO include guard on purpose: channel_mean_avx2.hpp and
// channel_mean_avx512.hpp include it once each inside their namespace (see pwconv1x1_x86.hpp).
//
// Each lane sums its channel over pixels in order, as the reference does, then divides by the count:
// the same operations as the scalar reference, so the same result. Four vectors of channels go at once
// for four independent add chains.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include channel_mean_avx2.hpp or channel_mean_avx512.hpp, not this file"
#endif

#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

template <int NV, bool Tail>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE void channel_mean_block(const ChannelMeanArgs& a, int c, int n) {
  using V = typename Vec::type;
  constexpr int W = Vec::kWidth;
  const std::size_t channels = std::size_t(a.channels);
  V sum[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) sum[v] = Vec::zero();
  const float* in = a.input + c;
  for (std::size_t p = 0; p < a.pixels; ++p, in += channels)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) sum[v] = Vec::add(sum[v], Tail ? Vec::load_partial(in, n) : Vec::load(in + v * W));
  const V count = Vec::set1(float(a.pixels));
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const V mean = Vec::div(sum[v], count);
    if (Tail)
      Vec::store_partial(a.output + c, mean, n);
    else
      Vec::store(a.output + c + v * W, mean);
  }
}

// Channels [channel_begin, channel_end).
MOBILEONE_SIMD_TARGET inline void channel_mean(const ChannelMeanArgs& a, int channel_begin, int channel_end) {
  constexpr int W = Vec::kWidth;
  int c = channel_begin;
  for (; c + 4 * W <= channel_end; c += 4 * W) channel_mean_block<4, false>(a, c, 4 * W);
  for (; c + W <= channel_end; c += W) channel_mean_block<1, false>(a, c, W);
  if (c < channel_end) channel_mean_block<1, true>(a, c, channel_end - c);
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
