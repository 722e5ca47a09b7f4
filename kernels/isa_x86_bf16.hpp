// The x86 bf16 kernel set, avx512_bf16 (AVX-512 F/BW/DQ/VL + AVX512-BF16): bf16 activations between layers
// (half the bytes of the memory-bound families), float32 arithmetic everywhere but the pointwise GEMM's
// bf16 x bf16 products (exact in float32; vdpbf16ps, pwconv1x1_bf16_avx512.hpp). Its vector traits `Vec`
// (avx512's float operations plus loads and stores of bf16), its tuning (and how it was measured), then the
// shared bodies (the x86 stem and depthwise, channel mean, squeeze-excite, classifier), written once over
// Vec and the element type, instantiated for it, and its kernel set (half_kernel_set.hpp). x86-64 only;
// the registry runs it only after the CPUID check (cpu_has_avx512_bf16, isa.hpp).
#pragma once

#if defined(__x86_64__)

#include <immintrin.h>

#include <cstddef>

#include "half.hpp"
#include "isa_x86.hpp"
#include "simd_avx512.hpp"
#include "simd_target.hpp"

namespace mobileone::kernels::avx512_bf16 {

using Element = bf16;

// avx512::Vec plus the loads and stores of bf16 the bodies written over an element type call (the float
// ones inherited: that target is a subset of this one, so they inline here).
struct Vec : avx512::Vec {
  using avx512::Vec::load;
  using avx512::Vec::load_partial;
  using avx512::Vec::store;
  using avx512::Vec::store_partial;

  // 16 bf16 as floats, exactly: each zero-extended to 32 bits (vpmovzxwd) and shifted into the high half.
  MOBILEONE_TARGET_AVX512_BF16 MOBILEONE_SIMD_INLINE static type widen(__m256i h) {
    const __mmask16 all = 0xFFFF;  // (mask forms: see simd_avx512.hpp on GCC 12's -Wmaybe-uninitialized)
    return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(all, _mm512_maskz_cvtepu16_epi32(all, h), 16));
  }
  // Rounded to nearest, ties to even (vcvtneps2bf16), as from_float<bf16>; NaN stays a quiet NaN.
  MOBILEONE_TARGET_AVX512_BF16 MOBILEONE_SIMD_INLINE static __m256i narrow(type v) {
    return reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v));
  }
  MOBILEONE_TARGET_AVX512_BF16 MOBILEONE_SIMD_INLINE static type load(const bf16* p) {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  // Lanes [0, n) of p, zeros elsewhere (masked lanes are not read); n in [0, 16].
  MOBILEONE_TARGET_AVX512_BF16 MOBILEONE_SIMD_INLINE static type load_partial(const bf16* p, int n) {
    return widen(_mm256_maskz_loadu_epi16(mask(n), p));
  }
  MOBILEONE_TARGET_AVX512_BF16 MOBILEONE_SIMD_INLINE static void store(bf16* p, type v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), narrow(v));
  }
  MOBILEONE_TARGET_AVX512_BF16 MOBILEONE_SIMD_INLINE static void store_partial(bf16* p, type v, int n) {
    _mm256_mask_storeu_epi16(p, mask(n), narrow(v));
  }
};

// The shared bodies' constants: avx512's (the stem on its 6 x 64 fp32 tiles, the mean, classifier and SE
// unrolls) but the depthwise blocking. Depthwise, measured on Zen5 on the S0 and S2 shapes (bf16 activations;
// 1, 2, 4 channel vectors x 1..6 pixels per step; min of 300 runs on warm buffers): 2 vectors, 4 pixels per
// step at stride 1 and 2 at stride 2, 5% ahead of avx512's 2 x 2 / 1 (each 16-bit load also widens, so
// sharing loaded columns between more outputs pays more), 1.4-1.7x the fp32 kernel's speed on the same
// shapes (S0's 28x28x128 stride 1: 12.8 us against 22-26 us fp32; 56x56x48: 18.4 against 32).
using Tuning = X86Tuning<avx512::Tuning::PointwiseTiling, X86DepthwiseTiling<2, 4, 4, 2>>;

// Pointwise tile: 6 pixels x 64 output channels (four panels), 24 zmm accumulators + 4 weight vectors + the
// broadcast pair, as fp32 and int8. Measured on Zen5 over S0's and S2's pointwise layers (whole layers, one
// thread, min of 300 runs): 6 x 64, 8 x 48 and 12 x 32 within 3% of each other (noise on a loaded machine),
// 5 x 80 7-10% and 7 x 64 (spilling) 25% slower, 4 x 96 4x slower (GCC spills its 6 weight vectors). The
// 6 x 64 tile on hot data (bench_tiles, K = 128): 418 GFLOP/s, 2.03x fp32's 206 GFLOP/s: one vdpbf16ps (32
// multiply-adds) issues at the rate of one fp32 FMA (16).
struct HalfTuning {
  using PointwiseTiling = X86PointwiseTiling<6, 4>;
  static constexpr StemLayout kStemLayout = StemLayout::panels;  // the stem on the fp32 tiles (conv3x3_x86.hpp)
  static constexpr int kPointwiseGroup = 2;                      // vdpbf16ps: input channels in pairs
  static constexpr std::size_t kPointwiseMinPixelsPerTask = 2 * PointwiseTiling::kRows;
};

}  // namespace mobileone::kernels::avx512_bf16

#define MOBILEONE_SIMD_NS avx512_bf16
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX512_BF16
#include "channel_mean_simd.hpp"
#include "linear_simd.hpp"
#include "squeeze_excite_simd.hpp"
#include "pwconv1x1_x86.hpp"
#include "conv3x3_x86.hpp"
#include "dwconv3x3_x86.hpp"
#include "pwconv1x1_bf16_avx512.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#define MOBILEONE_HALF_GEMM_TILES 1
#define MOBILEONE_HALF_NS avx512_bf16
#define MOBILEONE_HALF_NAME "bf16"
#include "half_kernel_set.hpp"
#undef MOBILEONE_HALF_GEMM_TILES

#endif  // __x86_64__
