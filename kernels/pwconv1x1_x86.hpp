// Pointwise 1x1 convolution as a register-blocked GEMM, written once over a vector-traits type for both
// x86 ISAs. NO include guard on purpose: pwconv1x1_avx2.hpp and pwconv1x1_avx512.hpp each include this
// file once, inside their own namespace, after defining
//   MOBILEONE_SIMD_NS      the namespace (avx2 / avx512), which holds `Vec` (simd_<isa>.hpp) and
//                          `PointwiseTiling` (rows per tile, panels per tile, pixel block), and
//   MOBILEONE_SIMD_TARGET  the target attribute every function here gets (x86_target.hpp).
// (A plain template cannot do this: a target attribute cannot depend on a template argument, and
// always-inline intrinsics refuse to inline into a function of another target.)
//
// C[pixels][out] = relu(bias + A[pixels][in] * W[in][out]). The microkernel holds an M x (P*16) tile of C
// in registers (M pixels, P weight panels of 16 output channels), walks K in increasing order
// broadcasting one activation per row and FMA-ing it into the row's accumulators with the panel's weight
// vectors, then adds nothing more: bias was the accumulators' start value, ReLU and the masked store of the
// out-channel tail are the epilogue. Each output is thus one FMA chain over input channels in increasing
// order whatever the tile shape or task split: results are bitwise identical for any thread count.
//
// A row of A may be made of `segments` runs of `seg_len` contiguous floats (the stem's 3x3 window is three
// runs of 3*in_channels floats, one per kernel row); for a 1x1 convolution it is one run of K floats.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include pwconv1x1_avx2.hpp or pwconv1x1_avx512.hpp, not this file"
#endif

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

// What stays fixed across the tiles of one GEMM.
struct GemmShape {
  std::size_t a_row_stride;    // floats from one row (pixel) of A to the next
  std::size_t a_seg_stride;    // floats from one run of a row to its next run
  int segments, seg_len;       // K = segments * seg_len
  std::size_t w_panel_stride;  // floats from one weight panel to the next (K * 16)
  std::size_t c_row_stride;    // floats from one row of C to the next
  bool relu;
};

// One M x (P*16) tile. `a`: first row of A; `w`, `bias`: first panel; `c`: first output; `n_valid`:
// output columns of the tile that exist (the rest are computed on zero-padded weights but not stored);
// `pf`: a K x 16 weight panel to prefetch, one cache line per step of K (see gemm()).
template <int M, int P>
MOBILEONE_SIMD_TARGET void gemm_tile(const GemmShape& g, const float* a, const float* w, const float* bias, float* c,
                                     int n_valid, const float* pf) {
  using V = typename Vec::type;
  constexpr int W = Vec::kWidth;
  constexpr int J = P * kPanelWidth / W;  // accumulator vectors per row
  constexpr int JP = kPanelWidth / W;     // vectors per panel
  // Locals, so that stores through `c` do not make the compiler reload the shape.
  const std::size_t rs = g.a_row_stride, ss = g.a_seg_stride, ps = g.w_panel_stride, cs = g.c_row_stride;
  const int segments = g.segments, seg_len = g.seg_len;
  const bool relu = g.relu;
  V acc[M][J];
#pragma GCC unroll 8
  for (int j = 0; j < J; ++j) {
    const V b = Vec::load(bias + j * W);  // panels' biases are contiguous
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) acc[m][j] = b;
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
  if (relu) {
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m)
#pragma GCC unroll 8
      for (int j = 0; j < J; ++j) acc[m][j] = Vec::max(acc[m][j], Vec::zero());
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

using GemmTileFn = void (*)(const GemmShape&, const float*, const float*, const float*, float*, int, const float*);

template <int P, std::size_t... I>
constexpr std::array<GemmTileFn, sizeof...(I)> gemm_tile_rows(std::index_sequence<I...>) {
  return {&gemm_tile<int(I) + 1, P>...};
}
template <int Rows, std::size_t... P>
constexpr std::array<std::array<GemmTileFn, Rows>, sizeof...(P)> gemm_tile_table(std::index_sequence<P...>) {
  return {gemm_tile_rows<int(P) + 1>(std::make_index_sequence<Rows>{})...};
}
// table[p - 1][m - 1]: the tile of m rows and p panels, for m <= Rows and p <= Panels.
template <int Rows, int Panels>
inline constexpr std::array<std::array<GemmTileFn, Rows>, Panels> kGemmTiles =
    gemm_tile_table<Rows>(std::make_index_sequence<Panels>{});

// Rows [row_begin, row_end) x panels [panel_begin, panel_end) of C. Rows are cut into tiles of nearly
// equal height (49 rows -> 9 tiles of 5-6, not 8 of 6 and one of 1) so no tile runs latency-bound; panels
// go Panels at a time, the remainder in one narrower tile. While a group of panels computes, its first
// tiles each prefetch one panel of the next group, a line per step of K: weights are read once per
// inference, usually from DRAM, and the next group's first tile would otherwise wait on them (measured:
// 7x7 x 256 -> 1024 with cold weights 250 -> 230 us, hot 221 us; no change when the weights are cached).
// Later tiles "prefetch" their own, cached panel. `row_a(r)`, `row_c(r)` give the first float of row r
// in A and C.
template <int Rows, int Panels, class RowA, class RowC>
MOBILEONE_SIMD_TARGET void gemm(const GemmShape& g, std::size_t row_begin, std::size_t row_end, std::size_t panel_begin,
                                std::size_t panel_end, int out_channels, const float* weights, const float* bias,
                                const RowA& row_a, const RowC& row_c) {
  const std::size_t rows = row_end - row_begin;
  if (rows == 0) return;
  const std::size_t tiles = (rows + Rows - 1) / Rows;
  for (std::size_t panel = panel_begin; panel < panel_end;) {
    const std::size_t np = std::min<std::size_t>(Panels, panel_end - panel);
    const auto& table = kGemmTiles<Rows, Panels>[np - 1];
    const float* w = weights + panel * g.w_panel_stride;
    const float* b = bias + panel * kPanelWidth;
    const int n_valid = out_channels - int(panel) * kPanelWidth;
    const std::size_t next_panels = std::min<std::size_t>(Panels, panel_end - panel - np);
    for (std::size_t t = 0; t < tiles; ++t) {
      const float* pf = t < next_panels ? w + (np + t) * g.w_panel_stride : w;
      const std::size_t r0 = row_begin + rows * t / tiles, r1 = row_begin + rows * (t + 1) / tiles;
      table[r1 - r0 - 1](g, row_a(r0), w, b, row_c(r0) + panel * kPanelWidth, n_valid, pf);
    }
    panel += np;
  }
}

// Pixels [pixel_begin, pixel_end) x panels [panel_begin, panel_end). Pixels go in blocks whose inputs
// stay in L2 while every panel of the range sweeps over them.
MOBILEONE_SIMD_TARGET inline void pwconv1x1(const PointwiseArgs& a, std::size_t pixel_begin, std::size_t pixel_end,
                                            std::size_t panel_begin, std::size_t panel_end) {
  using T = PointwiseTiling;
  const std::size_t cin = std::size_t(a.in_channels), cout = std::size_t(a.out_channels);
  const GemmShape g{cin, 0, 1, a.in_channels, cin * kPanelWidth, cout, a.relu};
  const std::size_t block = std::max<std::size_t>(T::kRows, T::kBlockFloats / std::max<std::size_t>(cin, 1));
  const auto row_a = [&](std::size_t r) { return a.input + r * cin; };
  const auto row_c = [&](std::size_t r) { return a.output + r * cout; };
  for (std::size_t p = pixel_begin; p < pixel_end; p += block)
    gemm<T::kRows, T::kPanels>(g, p, std::min(pixel_end, p + block), panel_begin, panel_end, a.out_channels, a.weights,
                               a.bias, row_a, row_c);
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
