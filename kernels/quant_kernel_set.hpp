// The int8 families of one int8 namespace as a struct (what QuantKernels combines with a float32 kernel
// set). NO include guard on purpose: included once inside each int8 namespace after defining
// MOBILEONE_QUANT_NS (that namespace under mobileone::kernels, which holds qpwconv1x1, qdwconv3x3<Stride>,
// quantize) and MOBILEONE_QUANT_NAME (its name in messages and benchmark names); with
// MOBILEONE_QUANT_GEMM_TILES 1 the namespace's register tiles (QuantGemmTiles) are exposed for tests and
// per-tile benchmarks.

#if !defined(MOBILEONE_QUANT_NS) || !defined(MOBILEONE_QUANT_NAME)
#error "include kernels/registry.hpp, not this file"
#endif

#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_QUANT_NS {

struct QuantFamilies {
  static constexpr const char* kExtensionName = MOBILEONE_QUANT_NAME;
#if MOBILEONE_QUANT_GEMM_TILES
  using QuantGemmTiles = kernels::MOBILEONE_QUANT_NS::QuantGemmTiles;
#endif
  static void qpwconv1x1(const QuantPointwiseArgs& a, std::size_t p0, std::size_t p1, std::size_t n0, std::size_t n1) {
    kernels::MOBILEONE_QUANT_NS::qpwconv1x1(a, p0, p1, n0, n1);
  }
  template <int Stride>
  static void qdwconv3x3(const QuantDepthwiseArgs& a, int row_begin, int row_end) {
    kernels::MOBILEONE_QUANT_NS::qdwconv3x3<Stride>(a, row_begin, row_end);
  }
  static void quantize(const QuantizeArgs& a, std::size_t begin, std::size_t end) {
    kernels::MOBILEONE_QUANT_NS::quantize(a, begin, end);
  }
};

}  // namespace mobileone::kernels::MOBILEONE_QUANT_NS

#undef MOBILEONE_QUANT_NS
#undef MOBILEONE_QUANT_NAME
