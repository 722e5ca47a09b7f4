// Pointwise 1x1 convolution as a register-tiled GEMM: the x86 microkernels, written once over the vector
// traits of both x86 ISAs (the blocking around them is gemm_blocking.hpp, shared with NEON). NO include
// guard on purpose: simd_instantiate.hpp includes it once per x86 ISA, inside that ISA's namespace, after
// defining MOBILEONE_SIMD_NS (the namespace, which holds `Vec` and `Tuning`) and
// MOBILEONE_SIMD_TARGET (the target attribute every function here gets, simd_target.hpp). (A plain template
// cannot do this: a target attribute cannot depend on a template argument, and always-inline intrinsics
// refuse to inline into a function of another target.)
//
// The microkernel holds an M x (P*16) tile of C in registers (M pixels, P weight panels of 16 output
// channels), walks K in increasing order broadcasting one activation per row and FMA-ing it into the row's
// accumulators with the panel's weight vectors. The accumulators start from the bias (or a previous K
// chunk's partial sums); ReLU and the masked store of the out-channel tail are the epilogue. Each output is
// thus one FMA chain over input channels in increasing order whatever the tile shape or task split:
// results are bitwise identical for any thread count. C is float, or (the stem of a 16-bit set, whose Vec
// has stores for it) a 16-bit T: the same float32 tile, rounded once at the store.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include kernels/registry.hpp, not this file"
#endif

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

#include "gemm_blocking.hpp"
#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

// One M x (P*16) tile (GemmTileArgsOf<C>, gemm_blocking.hpp).
template <int M, int P, class C>
MOBILEONE_SIMD_TARGET void gemm_tile(const GemmTileArgsOf<C>& t) {
  using V = typename Vec::type;
  constexpr int W = Vec::kWidth;
  constexpr int J = P * kPanelWidth / W;  // accumulator vectors per row
  constexpr int JP = kPanelWidth / W;     // vectors per panel
  // Locals, so that stores through `c` do not make the compiler reload the arguments.
  const float* const a = t.a;
  const float* const w = t.w;
  const float* const pf = t.prefetch;
  C* const c = t.c;
  const std::size_t rs = t.a_row_stride, ss = t.a_seg_stride, ps = t.w_panel_stride, cs = t.c_row_stride;
  const int segments = t.segments, seg_len = t.seg_len, n_valid = t.n_valid;
  V acc[M][J];
  if (t.init_stride == 0) {  // the bias, padded to whole panels: the same vectors for every row
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) {
      const V b = Vec::load(t.init + j * W);  // panels' biases are contiguous
#pragma GCC unroll 16
      for (int m = 0; m < M; ++m) acc[m][j] = b;
    }
  } else {  // a previous K chunk's sums, in C: only the columns that exist
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) {
      const int n = std::min(W, n_valid - j * W);
#pragma GCC unroll 16
      for (int m = 0; m < M; ++m) {
        const float* from = t.init + std::size_t(m) * t.init_stride + j * W;
        acc[m][j] = n >= W ? Vec::load(from) : n > 0 ? Vec::load_partial(from, n) : Vec::zero();
      }
    }
  }
  const float* wk = w;
  for (int s = 0; s < segments; ++s) {
    const float* as = a + std::size_t(s) * ss;
    for (int k = 0; k < seg_len; ++k, wk += kPanelWidth) {
      _mm_prefetch(reinterpret_cast<const char*>(pf + (wk - w)), _MM_HINT_T0);
      V wv[J];
#pragma GCC unroll 8
      for (int j = 0; j < J; ++j) wv[j] = Vec::load(wk + std::size_t(j / JP) * ps + (j % JP) * W);
#pragma GCC unroll 16
      for (int m = 0; m < M; ++m) {
        const V x = Vec::set1(as[std::size_t(m) * rs + std::size_t(k)]);
#pragma GCC unroll 8
        for (int j = 0; j < J; ++j) acc[m][j] = Vec::fmadd(x, wv[j], acc[m][j]);
      }
    }
  }
  if (t.relu) {
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m)
#pragma GCC unroll 8
      for (int j = 0; j < J; ++j) acc[m][j] = Vec::relu(acc[m][j]);
  }
  if (n_valid >= J * W) {
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m)
#pragma GCC unroll 8
      for (int j = 0; j < J; ++j) Vec::store(c + std::size_t(m) * cs + j * W, acc[m][j]);
  } else {  // the out-channel tail: whole vectors, then one masked vector, then nothing
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) {
      const int n = std::min(W, n_valid - j * W);
      if (n == W) {
#pragma GCC unroll 16
        for (int m = 0; m < M; ++m) Vec::store(c + std::size_t(m) * cs + j * W, acc[m][j]);
      } else if (n > 0) {
#pragma GCC unroll 16
        for (int m = 0; m < M; ++m) Vec::store_partial(c + std::size_t(m) * cs + j * W, acc[m][j], n);
      }
    }
  }
}

template <class C>
using GemmTileFn = void (*)(const GemmTileArgsOf<C>&);

template <int P, class C, std::size_t... I>
constexpr std::array<GemmTileFn<C>, sizeof...(I)> gemm_tile_rows(std::index_sequence<I...>) {
  return {&gemm_tile<int(I) + 1, P, C>...};
}
template <int Rows, class C, std::size_t... P>
constexpr std::array<std::array<GemmTileFn<C>, Rows>, sizeof...(P)> gemm_tile_table(std::index_sequence<P...>) {
  return {gemm_tile_rows<int(P) + 1, C>(std::make_index_sequence<Rows>{})...};
}

// This ISA's tiles for gemm_blocked(): kTable<C>[p - 1][m - 1] is the tile of m rows and p panels storing C.
struct GemmTiles : Tuning::PointwiseTiling {
  static constexpr bool kPartialPanels = true;  // masked stores
  template <class C>
  static constexpr std::array<std::array<GemmTileFn<C>, kRows>, kPanels> kTable =
      gemm_tile_table<kRows, C>(std::make_index_sequence<kPanels>{});
  template <class C>
  static void run(int rows, int panels, const GemmTileArgsOf<C>& t) {
    kTable<C>[std::size_t(panels - 1)][std::size_t(rows - 1)](t);
  }
};

// Pixels [pixel_begin, pixel_end) x panels [panel_begin, panel_end).
inline void pwconv1x1(const PointwiseArgs& a, std::size_t pixel_begin, std::size_t pixel_end, std::size_t panel_begin,
                      std::size_t panel_end) {
  pointwise_gemm<GemmTiles>(a, pixel_begin, pixel_end, panel_begin, panel_end);
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
