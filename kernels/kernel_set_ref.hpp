// The scalar kernel set: the oracle for every SIMD kernel, and the fallback on any CPU.
#pragma once

#include "activation_ref.hpp"
#include "channel_mean_ref.hpp"
#include "conv3x3_ref.hpp"
#include "dwconv3x3_ref.hpp"
#include "linear_ref.hpp"
#include "pwconv1x1_ref.hpp"
#include "squeeze_excite_ref.hpp"

namespace mobileone::kernels {

// A kernel set names one implementation per family; the engine's layers are templated on it.
struct RefKernels {
  static constexpr const char* name = "scalar";
  static constexpr std::size_t kPointwiseMinPixelsPerTask = 8;
  template <int Stride>
  static void conv3x3(const Conv3x3Args& a, int row_begin, int row_end) { ref::conv3x3<Stride>(a, row_begin, row_end); }
  template <int Stride>
  static void dwconv3x3(const DepthwiseArgs& a, int row_begin, int row_end) { ref::dwconv3x3<Stride>(a, row_begin, row_end); }
  static void pwconv1x1(const PointwiseArgs& a, std::size_t p0, std::size_t p1, std::size_t n0, std::size_t n1) {
    ref::pwconv1x1(a, p0, p1, n0, n1);
  }
  static void channel_mean(const ChannelMeanArgs& a, int c0, int c1) { ref::channel_mean(a, c0, c1); }
  static void se_gate(const SeGateArgs& a) { ref::se_gate(a); }
  static void scale_channels(const ScaleChannelsArgs& a, std::size_t p0, std::size_t p1) { ref::scale_channels(a, p0, p1); }
  static void linear(const LinearArgs& a, int o0, int o1) { ref::linear(a, o0, o1); }
  template <Activation A>
  static void activate(const ActivationArgs& a, std::size_t begin, std::size_t end) { ref::activate<A>(a, begin, end); }
  static void add(const AddArgs& a, std::size_t begin, std::size_t end) { ref::add(a, begin, end); }
};

}  // namespace mobileone::kernels
