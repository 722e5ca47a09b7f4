// Per-channel mean over all pixels (global average pool, squeeze-excite's squeeze), written once over the
// vector traits of every SIMD ISA. NO include guard on purpose: simd_instantiate.hpp includes it once per
// ISA, inside that ISA's namespace.
//
// Each lane sums its channel over pixels in order, as the reference does, then divides by the count: the
// same operations as the scalar reference, so the same result. Tuning::kMeanVectors vectors of channels go
// at once, enough independent add chains to cover the add latency on the ISA's pipes. The input is float or a
// 16-bit T (Vec's loads of T convert); the sums are float32 either way.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include kernels/registry.hpp, not this file"
#endif

#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

template <int NV, bool Tail, class T>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE void channel_mean_block(const ChannelMeanArgsOf<T>& a, int c, int n) {
  using V = typename Vec::type;
  constexpr int W = Vec::kWidth;
  const std::size_t channels = std::size_t(a.channels);
  V sum[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) sum[v] = Vec::zero();
  const T* in = a.input + c;
  for (std::size_t p = 0; p < a.pixels; ++p, in += channels)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) sum[v] = Vec::add(sum[v], Tail ? Vec::load_partial(in, n) : Vec::load(in + v * W));
  const V count = Vec::set1(float(a.pixels));
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    const V mean = Vec::div(sum[v], count);
    if (Tail)
      Vec::store_partial(a.output + c, mean, n);
    else
      Vec::store(a.output + c + v * W, mean);
  }
}

// Channels [channel_begin, channel_end).
template <class T>
MOBILEONE_SIMD_TARGET void channel_mean(const ChannelMeanArgsOf<T>& a, int channel_begin, int channel_end) {
  constexpr int W = Vec::kWidth, NV = Tuning::kMeanVectors;
  int c = channel_begin;
  for (; c + NV * W <= channel_end; c += NV * W) channel_mean_block<NV, false>(a, c, NV * W);
  for (; c + W <= channel_end; c += W) channel_mean_block<1, false>(a, c, W);
  if (c < channel_end) channel_mean_block<1, true>(a, c, channel_end - c);
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
