// The two x86 kernel sets, avx2 (AVX2 + FMA) and avx512 (AVX-512 F/BW/DQ/VL): the shape of their tuning,
// each one's values (and how they were measured), then every family instantiated for each
// (simd_instantiate.hpp). x86-64 only; one is chosen at run time from CPUID (isa.hpp).
#pragma once

#if defined(__x86_64__)

#include <cstddef>

#include "pack.hpp"
#include "simd_avx2.hpp"
#include "simd_avx512.hpp"

namespace mobileone::kernels {

// The pointwise GEMM's register tile, Rows pixels x Panels 16-channel weight panels (gemm_blocking.hpp).
template <int Rows, int Panels>
struct X86PointwiseTiling {
  static constexpr int kRows = Rows;
  static constexpr int kPanels = Panels;
  static constexpr std::size_t kChunk = 0;  // K is never split: a tile's whole K in one pass
  // A block's inputs (512 KB) stay in L2 while the panels sweep over them.
  static constexpr std::size_t kBlockBytes = 512 * 1024;
  static constexpr std::size_t kMinBlockRows = Rows;
  // Always panel group outside, row tiles inside (the order these tiles were tuned in): a group's panels
  // stay in L1 while the A block streams from L2; without K chunks all panels' weights rarely fit L1.
  static constexpr std::size_t kMaxResidentWeightBytes = 0;
};

// dwconv3x3_x86.hpp: Vectors channel vectors per pass (their taps stay in registers), AliasVectors per pass
// when channels % 512 == 0 (0: no special case), output pixels per step at stride 1 and 2.
template <int Vectors, int AliasVectors, int PixelsStride1, int PixelsStride2>
struct X86DepthwiseTiling {
  static constexpr int kVectors = Vectors;
  static constexpr int kAliasVectors = AliasVectors;
  static constexpr int kPixelsStride1 = PixelsStride1, kPixelsStride2 = PixelsStride2;
};

// An x86 kernel set's tuning: its pointwise and depthwise tilings and, for the memory-bound families, one
// vector per elementwise step (out-of-order cores overlap the exp chains), four channel vectors per mean
// pass, one accumulator per classifier row (four rows at once), two per SE dot product; the stem on the
// GEMM tiles; at least two tiles of pixels per pointwise task.
template <class Pointwise, class Depthwise>
struct X86Tuning {
  using PointwiseTiling = Pointwise;
  using DepthwiseTiling = Depthwise;
  static constexpr int kElementwiseVectors = 1;
  static constexpr int kMeanVectors = 4;
  static constexpr int kLinearAccumulators = 1;
  static constexpr int kDotAccumulators = 2;
  static constexpr StemLayout kStemLayout = StemLayout::panels;
  static constexpr std::size_t kPointwiseMinPixelsPerTask = 2 * PointwiseTiling::kRows;
};

}  // namespace mobileone::kernels

namespace mobileone::kernels::avx2 {
// Pointwise (and stem) tile: 3 pixels x 32 output channels (two 16-channel panels), 12 ymm accumulators,
// enough independent FMA chains for 2 FMAs/cycle at 4 cycles latency. Measured on Zen4 against 6 x 16 (the
// classic AVX2 shape, same 12 accumulators): equal on S0..S2 shapes, 2-3% better on S4 (K = 448..896 and
// the 7x7 x 2048 layer), fewer concurrent input streams per tile (3 rows + 2 panels instead of 6 + 1); for
// the 3 -> 48/64-channel stems no other shape measured faster.
// Depthwise, measured on Zen4 over the S0..S4 shapes (1, 2, 4 channel vectors x 1, 2, 4 pixels per step):
// 2 vectors per pass (18 taps + 8 accumulators do not fit 16 ymm registers, so GCC keeps some taps as FMA
// memory operands; still faster than 1 vector), 4 pixels per step at stride 1 (shared input columns), 1 at
// stride 2 (few shared columns, and the registers go to the taps). The 512-multiple channel case gains
// nothing from other blockings here (16 registers).
using Tuning = X86Tuning<X86PointwiseTiling<3, 2>, X86DepthwiseTiling<2, 0, 4, 1>>;
}  // namespace mobileone::kernels::avx2

namespace mobileone::kernels::avx512 {
// Pointwise (and stem) tile: 6 pixels x 64 output channels (four 16-channel panels), 24 zmm accumulators,
// one broadcast activation feeds 4 FMAs. On Zen4 (512-bit FMAs double-pumped: 1 per cycle, 4 cycles
// latency) this and 8 x 32 / 7 x 48 / 4 x 64 all reach 95-99% of peak on hot data; 6 x 64 measured best by
// a hair on S0..S4 shapes. Tall tiles (12 x 32, 16 x 16) lose 3-5%.
// Depthwise, measured on Zen4 over the S0..S4 shapes (1, 2, 4 channel vectors x 1, 2, 4 pixels per step):
// 2 vectors per pass, 2 pixels per step at stride 1 (shared input columns), 1 at stride 2 (few shared
// columns, and the registers go to the taps); 4 vectors x 1 pixel for 512-multiple channel counts (S1's
// 14x14x512: 28 instead of 53 us with 4 KB-congruent buffers).
using Tuning = X86Tuning<X86PointwiseTiling<6, 4>, X86DepthwiseTiling<2, 4, 2, 1>>;
}  // namespace mobileone::kernels::avx512

#define MOBILEONE_SIMD_NS avx2
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX2
#include "simd_instantiate.hpp"

#define MOBILEONE_SIMD_NS avx512
#define MOBILEONE_SIMD_TARGET MOBILEONE_TARGET_AVX512
#include "simd_instantiate.hpp"

#endif  // __x86_64__
