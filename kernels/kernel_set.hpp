// A kernel set: one implementation of every kernel family for one (ISA, precision), the type the engine's
// layers are templated on (include/mobileone/layers.hpp) and the registry lists (kernels/registry.hpp).
// NO include guard on purpose: included once inside each ISA's namespace (isa_scalar.hpp directly, the SIMD
// ISAs through simd_instantiate.hpp), whose kernels it forwards to. `Tuning` in that namespace gives the
// constants the layers and the model's packing need.

#if !defined(MOBILEONE_SIMD_NS)
#error "include kernels/registry.hpp, not this file"
#endif

#include <cstddef>

#include "kernel_args.hpp"
#include "pack.hpp"


namespace mobileone::kernels::MOBILEONE_SIMD_NS {

struct F32Kernels {
  using Element = float;  // activations between layers
  static constexpr int kPointwiseGroup = 1;  // pointwise weights: panels [out/16][in][16] (pack.hpp)
  // How the stem's weights are packed (pack.hpp); the model packs once per layout and shares it.
  static constexpr StemLayout stem_layout = Tuning::kStemLayout;
  // Fewest pixels a pointwise task should get when the layer splits pixels between threads.
  static constexpr std::size_t kPointwiseMinPixelsPerTask = Tuning::kPointwiseMinPixelsPerTask;
#if MOBILEONE_KERNEL_SET_GEMM_TILES
  // The register tiles of the pointwise GEMM (gemm_blocking.hpp), for tests and per-tile benchmarks.
  using GemmTiles = kernels::MOBILEONE_SIMD_NS::GemmTiles;
#endif

  template <int Stride>
  static void conv3x3(const Conv3x3Args& a, int row_begin, int row_end) {
    kernels::MOBILEONE_SIMD_NS::conv3x3<Stride>(a, row_begin, row_end);
  }
  template <int Stride>
  static void dwconv3x3(const DepthwiseArgs& a, int row_begin, int row_end) {
    kernels::MOBILEONE_SIMD_NS::dwconv3x3<Stride>(a, row_begin, row_end);
  }
  static void pwconv1x1(const PointwiseArgs& a, std::size_t p0, std::size_t p1, std::size_t n0, std::size_t n1) {
    kernels::MOBILEONE_SIMD_NS::pwconv1x1(a, p0, p1, n0, n1);
  }
  static void channel_mean(const ChannelMeanArgs& a, int c0, int c1) { kernels::MOBILEONE_SIMD_NS::channel_mean(a, c0, c1); }
  static void se_gate(const SeGateArgs& a) { kernels::MOBILEONE_SIMD_NS::se_gate(a); }
  static void scale_channels(const ScaleChannelsArgs& a, std::size_t p0, std::size_t p1) {
    kernels::MOBILEONE_SIMD_NS::scale_channels(a, p0, p1);
  }
  static void linear(const LinearArgs& a, int o0, int o1) { kernels::MOBILEONE_SIMD_NS::linear(a, o0, o1); }
  template <Activation A>
  static void activate(const ActivationArgs& a, std::size_t begin, std::size_t end) {
    kernels::MOBILEONE_SIMD_NS::activate<A>(a, begin, end);
  }
  static void add(const AddArgs& a, std::size_t begin, std::size_t end) { kernels::MOBILEONE_SIMD_NS::add(a, begin, end); }
};

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS

