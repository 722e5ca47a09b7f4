// The avx512 kernel set (x86-64 only; chosen at run time when CPUID reports the ISA, see dispatch.hpp).
// Same interface as RefKernels (kernel_set_ref.hpp). The members themselves carry no target attribute:
// they only call the avx512-targeted kernels, which are never inlined into them.
#pragma once

#if defined(__x86_64__)

#include <cstddef>

#include "activation_avx512.hpp"
#include "channel_mean_avx512.hpp"
#include "conv3x3_avx512.hpp"
#include "dwconv3x3_avx512.hpp"
#include "kernel_args.hpp"
#include "linear_avx512.hpp"
#include "pwconv1x1_avx512.hpp"
#include "squeeze_excite_avx512.hpp"

namespace mobileone::kernels {

struct Avx512Kernels {
  static constexpr const char* name = "avx512";
  // Fewest pixels a pointwise task should get when layers.hpp splits pixels between threads.
  static constexpr std::size_t kPointwiseMinPixelsPerTask = 2 * avx512::PointwiseTiling::kRows;
  template <int Stride>
  static void conv3x3(const Conv3x3Args& a, int row_begin, int row_end) {
    avx512::conv3x3<Stride>(a, row_begin, row_end);
  }
  template <int Stride>
  static void dwconv3x3(const DepthwiseArgs& a, int row_begin, int row_end) {
    avx512::dwconv3x3<Stride>(a, row_begin, row_end);
  }
  static void pwconv1x1(const PointwiseArgs& a, std::size_t p0, std::size_t p1, std::size_t n0, std::size_t n1) {
    avx512::pwconv1x1(a, p0, p1, n0, n1);
  }
  static void channel_mean(const ChannelMeanArgs& a, int c0, int c1) { avx512::channel_mean(a, c0, c1); }
  static void se_gate(const SeGateArgs& a) { avx512::se_gate(a); }
  static void scale_channels(const ScaleChannelsArgs& a, std::size_t p0, std::size_t p1) {
    avx512::scale_channels(a, p0, p1);
  }
  static void linear(const LinearArgs& a, int o0, int o1) { avx512::linear(a, o0, o1); }
  template <Activation A>
  static void activate(const ActivationArgs& a, std::size_t begin, std::size_t end) { avx512::activate<A>(a, begin, end); }
  static void add(const AddArgs& a, std::size_t begin, std::size_t end) { avx512::add(a, begin, end); }
};

}  // namespace mobileone::kernels

#endif  // __x86_64__
