// The AArch64 NEON kernel set (compiled in on AArch64 only; selected at compile time there, with the
// scalar set still available through MOBILEONE_ISA=scalar / Options::isa).
#pragma once

#if defined(__aarch64__)

#include <cstddef>

#include "activation_neon.hpp"
#include "channel_mean_neon.hpp"
#include "conv3x3_neon.hpp"
#include "dwconv3x3_neon.hpp"
#include "linear_neon.hpp"
#include "pwconv1x1_neon.hpp"
#include "squeeze_excite_neon.hpp"

namespace mobileone::kernels {

struct NeonKernels {
  static constexpr const char* name = "neon";
  // Four 6-row microkernel tiles per task at least, so a split never leaves a thread only tail rows.
  static constexpr std::size_t kPointwiseMinPixelsPerTask = 4 * neon::pw_detail::kMR;
  template <int Stride>
  static void conv3x3(const Conv3x3Args& a, int row_begin, int row_end) { neon::conv3x3<Stride>(a, row_begin, row_end); }
  template <int Stride>
  static void dwconv3x3(const DepthwiseArgs& a, int row_begin, int row_end) { neon::dwconv3x3<Stride>(a, row_begin, row_end); }
  static void pwconv1x1(const PointwiseArgs& a, std::size_t p0, std::size_t p1, std::size_t n0, std::size_t n1) {
    neon::pwconv1x1(a, p0, p1, n0, n1);
  }
  static void channel_mean(const ChannelMeanArgs& a, int c0, int c1) { neon::channel_mean(a, c0, c1); }
  static void se_gate(const SeGateArgs& a) { neon::se_gate(a); }
  static void scale_channels(const ScaleChannelsArgs& a, std::size_t p0, std::size_t p1) { neon::scale_channels(a, p0, p1); }
  static void linear(const LinearArgs& a, int o0, int o1) { neon::linear(a, o0, o1); }
  template <Activation A>
  static void activate(const ActivationArgs& a, std::size_t begin, std::size_t end) { neon::activate<A>(a, begin, end); }
  static void add(const AddArgs& a, std::size_t begin, std::size_t end) { neon::add(a, begin, end); }
};

}  // namespace mobileone::kernels

#endif  // __aarch64__
