// The three x86 int8 kernel sets, avx512_vnni (AVX-512 F/BW/DQ/VL + AVX512-VNNI), avx2_vnni (AVX2 + FMA +
// AVX-VNNI) and avx2_maddubs (AVX2 + FMA alone, for CPUs without either VNNI): their int8 vector traits `QVec` (the fp32 `Vec` of the same width does the float epilogues),
// their tuning (and how it was measured), then the int8 bodies, written once for both widths, instantiated
// for each: qpwconv1x1_x86.hpp, qdwconv3x3_x86.hpp, quantize_x86.hpp. x86-64 only; the caller checks CPUID.
#pragma once

#if defined(__x86_64__)

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "simd_avx2.hpp"
#include "simd_avx512.hpp"
#include "simd_target.hpp"

namespace mobileone::kernels {

// The int8 pointwise register tile, Rows pixels x Panels 16-channel panels, on gemm_blocking.hpp's
// quant_pointwise_gemm (K is never split there).
template <int Rows, int Panels>
struct X86QuantPointwiseTiling {
  static constexpr int kRows = Rows;
  static constexpr int kPanels = Panels;
  // A block's uint8 inputs (512 KB) stay in L2 while the panels sweep over them, as in fp32.
  static constexpr std::size_t kBlockBytes = 512 * 1024;
  static constexpr std::size_t kMinBlockRows = Rows;
  // Panel group outside, row tiles inside, as in fp32 (isa_x86.hpp).
  static constexpr std::size_t kMaxResidentWeightBytes = 0;
};

// qdwconv3x3_x86.hpp: Vectors channel vectors per pass (their taps stay in registers), output pixels per
// step at stride 1 and 2.
template <int Vectors, int PixelsStride1, int PixelsStride2>
struct X86QuantDepthwiseTiling {
  static constexpr int kVectors = Vectors;
  static constexpr int kPixelsStride1 = PixelsStride1, kPixelsStride2 = PixelsStride2;
};

// An x86 int8 kernel set's tuning; quantize (memory-bound) runs four vectors per step.
template <class Pointwise, class Depthwise>
struct X86QuantTuning {
  using PointwiseTiling = Pointwise;
  using DepthwiseTiling = Depthwise;
  static constexpr int kQuantizeVectors = 4;
};

}  // namespace mobileone::kernels

namespace mobileone::kernels::avx512_vnni {

using Vec = avx512::Vec;  // the float operations (a subset of this set's target, so they inline)

// The int8 operations on 16 int32 lanes. Requantization (a store to uint8) is requantize_u8 (kernel_args.hpp)
// per lane: max(v, 0) first (vmaxps returns its second operand, 0, for a NaN), then cvtps2dq (MXCSR's default
// rounding: ties to even, as nearbyint), then vpmovusdb, which saturates as unsigned: above 255 gives 255,
// and so does cvtps2dq's 0x80000000 for anything >= 2^31, so no min(., 255) is needed.
struct QVec {
  using type = __m512i;
  static constexpr int kLanes = 16;
  // (All-lanes mask forms of the conversions: GCC 12's unmasked ones trip -Wmaybe-uninitialized on their
  // own internals, as in simd_avx512.hpp.)
  static constexpr __mmask16 kAll = 0xFFFF;

  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static type zero() { return _mm512_setzero_si512(); }
  // The 4 bytes at p in every lane (vpbroadcastd).
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static type broadcast4(const std::uint8_t* p) {
    std::int32_t x;
    std::memcpy(&x, p, sizeof x);
    return _mm512_set1_epi32(x);
  }
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static type load(const void* p) { return _mm512_loadu_si512(p); }
  // acc + the dot products of u's 4 unsigned bytes and s's 4 signed bytes, per lane (exact in int32).
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static type dpbusd(type acc, type u, type s) {
    return _mm512_dpbusd_epi32(acc, u, s);
  }
  // acc + x * y, per lane.
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static type mul_add(type x, type y, type acc) {
    return _mm512_add_epi32(acc, _mm512_mullo_epi32(x, y));
  }
  // 16 bytes at p, zero-extended.
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static type load_u8_i32(const std::uint8_t* p) {
    return _mm512_maskz_cvtepu8_epi32(kAll, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static Vec::type to_float(type x) {
    return _mm512_maskz_cvtepi32_ps(kAll, x);
  }
  // 16 (or n, zeros elsewhere; never reading past p + n) bytes at p as floats.
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static Vec::type load_u8(const std::uint8_t* p) {
    return to_float(load_u8_i32(p));
  }
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static Vec::type load_u8_partial(const std::uint8_t* p, int n) {
    return to_float(_mm512_maskz_cvtepu8_epi32(kAll, _mm_maskz_loadu_epi8(Vec::mask(n), p)));
  }
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static type requantize(Vec::type v) {
    return _mm512_maskz_cvtps_epi32(kAll, Vec::max(v, Vec::zero()));
  }
  // Epilogue results to an output of either element type: float as is, uint8 requantized.
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static void store(float* p, Vec::type v) { Vec::store(p, v); }
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static void store_partial(float* p, Vec::type v, int n) {
    Vec::store_partial(p, v, n);
  }
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static void store(std::uint8_t* p, Vec::type v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_maskz_cvtusepi32_epi8(kAll, requantize(v)));
  }
  MOBILEONE_TARGET_AVX512_VNNI MOBILEONE_SIMD_INLINE static void store_partial(std::uint8_t* p, Vec::type v, int n) {
    _mm512_mask_cvtusepi32_storeu_epi8(p, Vec::mask(n), requantize(v));
  }
};

// Pointwise tile: 6 pixels x 64 output channels (four panels), 24 zmm accumulators + 4 weight vectors + the
// broadcast. Measured on Zen5 (2 zmm vpdpbusd per cycle), whole qpwconv1x1 on S0..S4 shapes, one thread, uint8
// output: 6x64 810-845 GOP/s at K = 256..1024 (~97% of peak; fp32's 6x64 on the same shapes: 205 GFLOP/s,
// so 3.7-4.2x), 540-700 at K = 48..64 (3x: the epilogue weighs more); 8x48, 7x48, 10x32, 14x32 and 12x32
// within 2% of it (noise), 5x80 up to 10% slower at small K, 4x96 up to 20% slower at K >= 512.
// Depthwise, measured on Zen5 over S0..S4 shapes (1, 2, 4 channel vectors x 1..4 pixels per step, then 1
// vector x 5..8): 1 vector, 6 pixels per step at stride 1, 2 at stride 2; 1.9-2.8x the fp32 kernel's speed (a
// quarter of the input bytes). Against the former 2 vectors x 4 / 1 (S0 shapes, uint8 out, min of 400): stride
// 2 8-13% faster (112x112x48 26.7 -> 23.6 us, 28x28x128 4.4 -> 4.0), 56x56x48 stride 1 5% (19.4 -> 18.5),
// 28x28x128 and 14x14x256 stride 1 within 2%; 5 or 7 pixels per step tie or lose up to 15% at 14x14.
using QuantTuning = X86QuantTuning<X86QuantPointwiseTiling<6, 4>, X86QuantDepthwiseTiling<1, 6, 2>>;

}  // namespace mobileone::kernels::avx512_vnni

namespace mobileone::kernels::avx2_vnni {

using Vec = avx2::Vec;

#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX2_VNNI
#define MOBILEONE_QVEC_AVX_VNNI 1
#include "qvec_avx2.hpp"
#undef MOBILEONE_QVEC_AVX_VNNI
#undef MOBILEONE_SIMD_TARGET

// Pointwise tile: 6 pixels x 16 output channels (one panel, two ymm per row), 12 accumulators + 2 weight
// vectors + the broadcast in 16 ymm. Measured on Zen5 as for avx512_vnni: 400-415 GOP/s at K = 256..1024
// (~95% of the ymm peak; fp32 avx2 on the same shapes 3.7-4.8x slower, 2.5-3x at K = 48..64); 3x32 (17
// registers) 0-5% slower, 5x16 3-8%, 4x16 6-12%, 7x16 and 2x48 (spilling) 40% slower.
// Depthwise: 2 vectors, 4 pixels per step at stride 1 and 2 at stride 2 (within 2% of 1 vector x 4/2, 6%
// ahead of 2 pixels per step).
using QuantTuning = X86QuantTuning<X86QuantPointwiseTiling<6, 1>, X86QuantDepthwiseTiling<2, 4, 2>>;

}  // namespace mobileone::kernels::avx2_vnni

namespace mobileone::kernels::avx2_maddubs {

using Vec = avx2::Vec;

#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX2
#define MOBILEONE_QVEC_AVX_VNNI 0
#include "qvec_avx2.hpp"
#undef MOBILEONE_QVEC_AVX_VNNI
#undef MOBILEONE_SIMD_TARGET

// Pointwise tile: 4 pixels x 16 output channels: each dot-product step takes two more registers (the split
// activation) and four constants, so 8 accumulators + 2 weight vectors fit the 16 ymm without spilling.
// Depthwise and quantize as avx2_vnni (they use no VNNI).
using QuantTuning = X86QuantTuning<X86QuantPointwiseTiling<4, 1>, avx2_vnni::QuantTuning::DepthwiseTiling>;

}  // namespace mobileone::kernels::avx2_maddubs

#define MOBILEONE_SIMD_NS avx512_vnni
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX512_VNNI
#include "qpwconv1x1_x86.hpp"
#include "qdwconv3x3_x86.hpp"
#include "quantize_x86.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#define MOBILEONE_SIMD_NS avx2_vnni
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX2_VNNI
#include "qpwconv1x1_x86.hpp"
#include "qdwconv3x3_x86.hpp"
#include "quantize_x86.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#define MOBILEONE_SIMD_NS avx2_maddubs
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX2
#include "qpwconv1x1_x86.hpp"
#include "qdwconv3x3_x86.hpp"
#include "quantize_x86.hpp"
#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET

#define MOBILEONE_QUANT_GEMM_TILES 1
#define MOBILEONE_QUANT_NS avx512_vnni
#define MOBILEONE_QUANT_NAME "vnni"
#include "quant_kernel_set.hpp"
#define MOBILEONE_QUANT_NS avx2_vnni
#define MOBILEONE_QUANT_NAME "avxvnni"
#include "quant_kernel_set.hpp"
#define MOBILEONE_QUANT_NS avx2_maddubs
#define MOBILEONE_QUANT_NAME "maddubs"
#include "quant_kernel_set.hpp"
#undef MOBILEONE_QUANT_GEMM_TILES

#endif  // __x86_64__
