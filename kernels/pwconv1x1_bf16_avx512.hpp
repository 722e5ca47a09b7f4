// Pointwise 1x1 convolution on bf16 activations and weights with float32 sums (PointwiseArgsOf<bf16>), the
// register-tiled GEMM of the avx512_bf16 kernel set (AVX512-BF16's vdpbf16ps); the blocking around it is
// gemm_blocking.hpp's half_pointwise_gemm, shared with every 16-bit set. NO include guard on purpose:
// isa_x86_bf16.hpp includes it inside kernels::avx512_bf16 (which holds `Vec` and `HalfTuning`), with
// MOBILEONE_SIMD_NS and MOBILEONE_SIMD_TARGET defined (see pwconv1x1_x86.hpp).
//
// The microkernel holds an M x (P*16) tile of float32 sums in registers, starting from the bias. Per pair of
// input channels it loads each panel's 16 x 2 weights (one zmm: the packing's group of 2, pack.hpp),
// broadcasts each row's two activations as one 32-bit lane (vpbroadcastd) and adds both products to every
// lane with one vdpbf16ps per (row, panel): twice the multiply-adds of an fp32 FMA per instruction. An odd K
// ends with the last channel alone, its pair's other half zero: the element after a row is never read
// (it may be the next row's first, or anything past the buffer: 0 * NaN would be NaN). Then the float32
// diagonal of a square layer (kernel_args.hpp), ReLU, and one rounding to bf16 (vcvtneps2bf16) at the
// masked store. Products of two bf16 are exact in float32; vdpbf16ps rounds its sums to nearest even but
// treats float32 subnormals as zero (DAZ/FTZ, not MXCSR), so results differ from the reference's k-ordered
// sums by float32 roundings, far below the final rounding to bf16. Each output's sum is formed the same way
// whatever the tile shape or task split: bitwise identical for any thread count.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include kernels/registry.hpp, not this file"
#endif

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "gemm_blocking.hpp"
#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

namespace bf16_gemm_detail {

// Two bf16 at p in every 32-bit lane, p[0] in the low half (the packing's order within a pair).
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE __m512bh broadcast_pair(const bf16* p) {
  std::int32_t pair;
  std::memcpy(&pair, p, sizeof pair);
  return reinterpret_cast<__m512bh>(_mm512_set1_epi32(pair));
}

// p[0] alone in every lane, a zero beside it: the last channel of an odd K.
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE __m512bh broadcast_single(const bf16* p) {
  return reinterpret_cast<__m512bh>(_mm512_set1_epi32(std::int32_t(p->bits)));
}

MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE __m512bh load_pairs(const bf16* p) {
  return reinterpret_cast<__m512bh>(_mm512_loadu_si512(p));
}

}  // namespace bf16_gemm_detail

// One M x (P*16) tile (HalfGemmTileArgs<bf16>, gemm_blocking.hpp).
template <int M, int P>
MOBILEONE_SIMD_TARGET void bf16_gemm_tile(const HalfGemmTileArgs<bf16>& t) {
  namespace d = bf16_gemm_detail;
  using V = typename Vec::type;
  static_assert(Vec::kWidth == kPanelWidth, "one zmm of float32 sums per panel");
  constexpr int kPair = 2;
  // Locals, so that stores through `c` do not make the compiler reload the arguments.
  const bf16* const a = t.a;
  const bf16* const w = t.w;
  const bf16* const pf = t.prefetch;
  const std::size_t rs = t.a_row_stride, ps = t.w_panel_stride;
  const int pairs = t.k / kPair, n_valid = t.n_valid;
  V acc[M][P];
#pragma GCC unroll 4
  for (int p = 0; p < P; ++p) {
    const V b = Vec::load(t.bias + p * kPanelWidth);  // padded to whole panels
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) acc[m][p] = b;
  }
  const bf16* wg = w;
  const bf16* ag = a;
  for (int g = 0; g < pairs; ++g, wg += kPanelWidth * kPair, ag += kPair) {
    _mm_prefetch(reinterpret_cast<const char*>(pf + (wg - w)), _MM_HINT_T0);  // a pair of K is one line
    __m512bh wv[P];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) wv[p] = d::load_pairs(wg + std::size_t(p) * ps);
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) {
      const __m512bh x = d::broadcast_pair(ag + std::size_t(m) * rs);
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) acc[m][p] = _mm512_dpbf16_ps(acc[m][p], x, wv[p]);
    }
  }
  if (t.k % kPair != 0) {  // the last channel: its weights' partner is the packing's zero padding
    __m512bh wv[P];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) wv[p] = d::load_pairs(wg + std::size_t(p) * ps);
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) {
      const __m512bh x = d::broadcast_single(ag + std::size_t(m) * rs);
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) acc[m][p] = _mm512_dpbf16_ps(acc[m][p], x, wv[p]);
    }
  }
  if (t.diagonal) {  // float32, after the K loop; only the columns that exist are read
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const int n = std::min(kPanelWidth, n_valid - p * kPanelWidth);
      if (n <= 0) break;
      const V diag = Vec::load(t.diagonal + p * kPanelWidth);  // padded
#pragma GCC unroll 16
      for (int m = 0; m < M; ++m) {
        const bf16* x = t.a_diagonal + std::size_t(m) * rs + std::size_t(p) * kPanelWidth;
        acc[m][p] = Vec::fmadd(diag, n == kPanelWidth ? Vec::load(x) : Vec::load_partial(x, n), acc[m][p]);
      }
    }
  }
  if (t.relu) {
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m)
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) acc[m][p] = Vec::relu(acc[m][p]);
  }
  bf16* const c = t.c;
  const std::size_t cs = t.c_row_stride;
#pragma GCC unroll 4
  for (int p = 0; p < P; ++p) {  // the out-channel tail: whole panels, then one masked panel, then nothing
    const int n = std::min(kPanelWidth, n_valid - p * kPanelWidth);
    if (n == kPanelWidth) {
#pragma GCC unroll 16
      for (int m = 0; m < M; ++m) Vec::store(c + std::size_t(m) * cs + std::size_t(p) * kPanelWidth, acc[m][p]);
    } else if (n > 0) {
#pragma GCC unroll 16
      for (int m = 0; m < M; ++m)
        Vec::store_partial(c + std::size_t(m) * cs + std::size_t(p) * kPanelWidth, acc[m][p], n);
    }
  }
}

using Bf16GemmTileFn = void (*)(const HalfGemmTileArgs<bf16>&);

template <int P, std::size_t... I>
constexpr std::array<Bf16GemmTileFn, sizeof...(I)> bf16_gemm_tile_rows(std::index_sequence<I...>) {
  return {&bf16_gemm_tile<int(I) + 1, P>...};
}
template <int Rows, std::size_t... P>
constexpr std::array<std::array<Bf16GemmTileFn, Rows>, sizeof...(P)> bf16_gemm_tile_table(std::index_sequence<P...>) {
  return {bf16_gemm_tile_rows<int(P) + 1>(std::make_index_sequence<Rows>{})...};
}

// This set's bf16 tiles for half_pointwise_gemm(): table[p - 1][m - 1] is the tile of m rows and p panels.
struct HalfGemmTiles : HalfTuning::PointwiseTiling {
  static constexpr bool kPartialPanels = true;  // masked stores
  static constexpr int kGroup = HalfTuning::kPointwiseGroup;
  static_assert(kGroup == 2, "vdpbf16ps takes input channels in pairs");
  static constexpr std::array<std::array<Bf16GemmTileFn, kRows>, kPanels> kTable =
      bf16_gemm_tile_table<kRows>(std::make_index_sequence<kPanels>{});
  static void run(int rows, int panels, const HalfGemmTileArgs<bf16>& t) {
    kTable[std::size_t(panels - 1)][std::size_t(rows - 1)](t);
  }
};

// Pixels [pixel_begin, pixel_end) x panels [panel_begin, panel_end).
inline void pwconv1x1(const PointwiseArgsOf<bf16>& a, std::size_t pixel_begin, std::size_t pixel_end,
                      std::size_t panel_begin, std::size_t panel_end) {
  half_pointwise_gemm<HalfGemmTiles>(a, pixel_begin, pixel_end, panel_begin, panel_end);
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
