// The AArch64 16-bit kernel sets: neon_fp16 (FEAT_FP16, IEEE half activations and pointwise/classifier weights)
// and neon_bf16 (FEAT_BF16). Each namespace holds its element type, its vector traits `Vec` (neon's float
// operations plus loads and stores of its element), its tuning, then the families: the NEON stem and
// depthwise kernels on its element type (conv3x3_neon.hpp, dwconv3x3_neon.hpp: float32 arithmetic, converting
// loads and stores), its pointwise tiles, and the bodies written once over Vec (channel mean, squeeze-excite,
// classifier) instantiated for it; then its kernel set (half_kernel_set.hpp). The registry runs each only
// after the HWCAP check (cpu_has_fp16_arithmetic, cpu_has_arm_bf16: isa.hpp).
//
// Where the arithmetic is 16-bit and where float32, and why (figures: the real S0, max |logit - fp32 logit|
// / max |fp32 logit| on the apple / chelsea reference tensors, measured by modelling each choice's
// roundings in the scalar reference; the kernels' own figures are in the README):
//   pointwise, fp16   fp16 FMLA chains within blocks of 32 input channels, the block sums added in fp16, the
//                     bias in fp16; a square layer's diagonal in float32 (pwconv1x1_fp16_neon.hpp): 2.9e-3 /
//                     2.2e-3, against 9.3e-3 / 6.5e-3 for one fp16 chain over all of K and 1.8e-3 / 1.9e-3
//                     for float32 sums. Twice the fp32 multiply-adds per instruction; the blocks cost ~9%.
//   pointwise, bf16   BFDOT: float32 sums of bf16 products (pwconv1x1_bf16_neon.hpp).
//   depthwise         float32 FMAs for both (dwconv3x3_neon.hpp on T): fp16 FMLA .8h sums of the 9 taps and
//                     the bias give 5.2e-3 / 3.7e-3 even with float32 pointwise sums, 2.8x float32's error.
//                     The price is the conversions: an FCVTL per loaded vector (half rate, one pipe on
//                     Neoverse N1/N2) holds the 16-bit interior at a third of the FMA peak in llvm-mca-19
//                     against fp32's 69% (bench/arm/mca_report.sh), for half the bytes read and written.
//   stem, SE, pool,   float32 (kernel_args.hpp), the diagonal of square pointwise layers too; activations
//   classifier        are rounded to the element type once per layer, at the store.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstddef>
#include <cstring>

#include "conv3x3_neon.hpp"
#include "dwconv3x3_neon.hpp"
#include "half.hpp"
#include "half_neon.hpp"
#include "isa_neon.hpp"
#include "pack.hpp"
#include "pwconv1x1_bf16_neon.hpp"
#include "pwconv1x1_fp16_neon.hpp"
#include "simd_neon.hpp"
#include "simd_target.hpp"

namespace mobileone::kernels::neon_half_detail {

// neon::Vec plus the loads and stores of T the bodies written over an element type call (neon's float ones
// inherited). Four lanes; a partial vector goes through a 4-element copy, as neon::Vec's.
template <class T>
struct VecOf : neon::Vec {
  using neon::Vec::load;
  using neon::Vec::load_partial;
  using neon::Vec::store;
  using neon::Vec::store_partial;

  MOBILEONE_SIMD_INLINE static type load(const T* p) { return neon::load4(p); }
  MOBILEONE_SIMD_INLINE static type load_partial(const T* p, int n) {
    T lanes[4] = {};
    std::memcpy(lanes, p, std::size_t(n) * sizeof(T));
    return neon::load4(lanes);
  }
  MOBILEONE_SIMD_INLINE static void store(T* p, type v) { neon::store4(p, v); }
  MOBILEONE_SIMD_INLINE static void store_partial(T* p, type v, int n) {
    T lanes[4];
    neon::store4(lanes, v);
    std::memcpy(p, lanes, std::size_t(n) * sizeof(T));
  }
};

// A 16-bit NEON set's constants (half_kernel_set.hpp): the stem on neon's taps layout, the pointwise weight
// group of its tiles, four tiles per pointwise task at least (as neon's fp32 set).
template <class Tiles>
struct HalfTuningOf {
  static constexpr StemLayout kStemLayout = StemLayout::taps;  // conv3x3_neon.hpp reads [3][3][in][out]
  static constexpr int kPointwiseGroup = Tiles::kGroup;
  static constexpr std::size_t kPointwiseMinPixelsPerTask = 4 * Tiles::kRows;
};

}  // namespace mobileone::kernels::neon_half_detail

namespace mobileone::kernels::neon_fp16 {
using Element = fp16;
using Vec = neon_half_detail::VecOf<fp16>;
using Tuning = neon::Tuning;  // the bodies' unrolls: neon's
using HalfTuning = neon_half_detail::HalfTuningOf<HalfGemmTiles>;
using neon::conv3x3;
using neon::dwconv3x3;
}  // namespace mobileone::kernels::neon_fp16

#define MOBILEONE_SIMD_NS neon_fp16
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_NEON_FP16
#include "channel_mean_simd.hpp"
#include "linear_simd.hpp"
#include "squeeze_excite_simd.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#define MOBILEONE_HALF_GEMM_TILES 1
#define MOBILEONE_HALF_POINTWISE_IN_ELEMENT 1  // fp16 FMLA chains within each K block
#define MOBILEONE_HALF_NS neon_fp16
#define MOBILEONE_HALF_NAME "fp16"
#include "half_kernel_set.hpp"
#undef MOBILEONE_HALF_POINTWISE_IN_ELEMENT
#undef MOBILEONE_HALF_GEMM_TILES

namespace mobileone::kernels::neon_bf16 {
using Element = bf16;
// neon's traits with bf16 loads and stores; the stores of the bodies instantiated here round with BFCVTN.
struct Vec : neon_half_detail::VecOf<bf16> {
  using neon_half_detail::VecOf<bf16>::store;
  MOBILEONE_TARGET_NEON_BF16 MOBILEONE_SIMD_INLINE static void store(bf16* p, type v) {
    vst1_u16(neon::half_bits(p), vreinterpret_u16_bf16(vcvt_bf16_f32(v)));
  }
};
using Tuning = neon::Tuning;
using HalfTuning = neon_half_detail::HalfTuningOf<HalfGemmTiles>;
using neon::conv3x3;
using neon::dwconv3x3;
}  // namespace mobileone::kernels::neon_bf16

#define MOBILEONE_SIMD_NS neon_bf16
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_NEON_BF16
#include "channel_mean_simd.hpp"
#include "linear_simd.hpp"
#include "squeeze_excite_simd.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#define MOBILEONE_HALF_GEMM_TILES 1
#define MOBILEONE_HALF_NS neon_bf16
#define MOBILEONE_HALF_NAME "bf16"
#include "half_kernel_set.hpp"
#undef MOBILEONE_HALF_GEMM_TILES

#endif  // __aarch64__
