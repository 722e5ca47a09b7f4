// The scalar kernel set: the oracle every SIMD kernel is tested against, and the fallback on any CPU.
#pragma once

#include <cstddef>

#include "activation_ref.hpp"
#include "channel_mean_ref.hpp"
#include "conv3x3_ref.hpp"
#include "dwconv3x3_ref.hpp"
#include "linear_ref.hpp"
#include "pack.hpp"
#include "pwconv1x1_ref.hpp"
#include "qdwconv3x3_ref.hpp"
#include "qpwconv1x1_ref.hpp"
#include "quantize_ref.hpp"
#include "squeeze_excite_ref.hpp"

namespace mobileone::kernels::ref {

struct Tuning {
  static constexpr StemLayout kStemLayout = StemLayout::taps;  // conv3x3_ref.hpp reads [3][3][in][out]
  static constexpr std::size_t kPointwiseMinPixelsPerTask = 8;
};

}  // namespace mobileone::kernels::ref

#define MOBILEONE_SIMD_NS ref
#include "kernel_set.hpp"
#undef MOBILEONE_SIMD_NS

#define MOBILEONE_QUANT_NS ref
#define MOBILEONE_QUANT_NAME "scalar"
#include "quant_kernel_set.hpp"

namespace mobileone::kernels::ref {

// The scalar 16-bit kernel sets (bf16, fp16): the references' arithmetic (float32 accumulation) on
// activations of T, pointwise weights in groups of Group input channels (the layout of the SIMD sets of
// the same precision, so that they share a packing).
template <class T, int Group>
struct HalfKernels {
  using Element = T;
  static constexpr const char* kExtensionName = "scalar";
  static constexpr StemLayout stem_layout = Tuning::kStemLayout;
  static constexpr int kPointwiseGroup = Group;
  static constexpr std::size_t kPointwiseMinPixelsPerTask = Tuning::kPointwiseMinPixelsPerTask;

  template <int Stride>
  static void conv3x3(const Conv3x3ArgsOf<T>& a, int row_begin, int row_end) {
    ref::conv3x3<Stride>(a, row_begin, row_end);
  }
  template <int Stride>
  static void dwconv3x3(const DepthwiseArgsOf<T>& a, int row_begin, int row_end) {
    ref::dwconv3x3<Stride>(a, row_begin, row_end);
  }
  static void pwconv1x1(const PointwiseArgsOf<T>& a, std::size_t p0, std::size_t p1, std::size_t n0, std::size_t n1) {
    ref::pwconv1x1<Group>(a, p0, p1, n0, n1);
  }
  static void channel_mean(const ChannelMeanArgsOf<T>& a, int c0, int c1) { ref::channel_mean(a, c0, c1); }
  static void se_gate(const SeGateArgs& a) { ref::se_gate(a); }
  static void scale_channels(const ScaleChannelsArgsOf<T>& a, std::size_t p0, std::size_t p1) {
    ref::scale_channels(a, p0, p1);
  }
  static void linear(const LinearArgsOf<T>& a, int o0, int o1) { ref::linear(a, o0, o1); }
};

// bf16 in pairs (vdpbf16ps, BFDOT), fp16 one channel per step (FMLA .8h).
using Bf16Kernels = HalfKernels<bf16, 2>;
using Fp16Kernels = HalfKernels<fp16, 1>;

}  // namespace mobileone::kernels::ref
