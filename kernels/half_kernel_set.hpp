// A 16-bit kernel set: every family on activations of a 16-bit float type (half.hpp), the struct the
// registry lists for Precision::bf16 and Precision::fp16 (include/mobileone/dispatch.hpp). NO include guard
// on purpose: included once inside each 16-bit namespace after defining MOBILEONE_HALF_NS (that namespace
// under mobileone::kernels) and MOBILEONE_HALF_NAME (its name in messages, e.g. "bf16" for avx512 + AVX512-BF16).
// The namespace holds:
//   Element     the activation type, bf16 or fp16;
//   HalfTuning  kStemLayout, kPointwiseGroup (input channels per packed weight group: 2 for pair dot
//               products, 1 for plain FMAs) and kPointwiseMinPixelsPerTask;
//   conv3x3<S>, dwconv3x3<S>, pwconv1x1, channel_mean, se_gate, scale_channels, linear over the
//   ...ArgsOf<Element> structs (kernel_args.hpp);
// and with MOBILEONE_HALF_GEMM_TILES 1 its pointwise register tiles as HalfGemmTiles (tests, bench_tiles);
// MOBILEONE_HALF_POINTWISE_IN_ELEMENT 1 says that its pointwise sums accumulate in Element, not float32
// (kPointwiseAccumulatesInElement: the tests' tolerance, kernels/README.md "The 16-bit rows").

#if !defined(MOBILEONE_HALF_NS) || !defined(MOBILEONE_HALF_NAME)
#error "include kernels/registry.hpp, not this file"
#endif

#include <cstddef>

#include "kernel_args.hpp"
#include "pack.hpp"

namespace mobileone::kernels::MOBILEONE_HALF_NS {

struct HalfKernels {
  using Element = kernels::MOBILEONE_HALF_NS::Element;
  static constexpr const char* kExtensionName = MOBILEONE_HALF_NAME;
  static constexpr StemLayout stem_layout = HalfTuning::kStemLayout;
  static constexpr int kPointwiseGroup = HalfTuning::kPointwiseGroup;
  static constexpr std::size_t kPointwiseMinPixelsPerTask = HalfTuning::kPointwiseMinPixelsPerTask;
#if MOBILEONE_HALF_GEMM_TILES
  using HalfGemmTiles = kernels::MOBILEONE_HALF_NS::HalfGemmTiles;
#endif
#if MOBILEONE_HALF_POINTWISE_IN_ELEMENT
  static constexpr bool kPointwiseAccumulatesInElement = true;
#endif

  template <int Stride>
  static void conv3x3(const Conv3x3ArgsOf<Element>& a, int row_begin, int row_end) {
    kernels::MOBILEONE_HALF_NS::conv3x3<Stride>(a, row_begin, row_end);
  }
  template <int Stride>
  static void dwconv3x3(const DepthwiseArgsOf<Element>& a, int row_begin, int row_end) {
    kernels::MOBILEONE_HALF_NS::dwconv3x3<Stride>(a, row_begin, row_end);
  }
  static void pwconv1x1(const PointwiseArgsOf<Element>& a, std::size_t p0, std::size_t p1, std::size_t n0,
                        std::size_t n1) {
    kernels::MOBILEONE_HALF_NS::pwconv1x1(a, p0, p1, n0, n1);
  }
  static void channel_mean(const ChannelMeanArgsOf<Element>& a, int c0, int c1) {
    kernels::MOBILEONE_HALF_NS::channel_mean(a, c0, c1);
  }
  static void se_gate(const SeGateArgs& a) { kernels::MOBILEONE_HALF_NS::se_gate(a); }
  static void scale_channels(const ScaleChannelsArgsOf<Element>& a, std::size_t p0, std::size_t p1) {
    kernels::MOBILEONE_HALF_NS::scale_channels(a, p0, p1);
  }
  static void linear(const LinearArgsOf<Element>& a, int o0, int o1) { kernels::MOBILEONE_HALF_NS::linear(a, o0, o1); }
};

}  // namespace mobileone::kernels::MOBILEONE_HALF_NS

#undef MOBILEONE_HALF_NS
#undef MOBILEONE_HALF_NAME
