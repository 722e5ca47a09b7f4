// int8 pointwise 1x1 convolution as a register-tiled GEMM (QuantPointwiseArgs): the x86 microkernels,
// written once over the int8 vector traits of both x86 int8 sets (the blocking around them is
// gemm_blocking.hpp's quant_pointwise_gemm, shared with fp32 and NEON). NO include guard on purpose:
// isa_x86_int8.hpp includes it once per ISA, inside that ISA's namespace (which holds `Vec`, `QVec` and
// `QuantTuning`), with MOBILEONE_SIMD_NS and MOBILEONE_SIMD_TARGET defined (see pwconv1x1_x86.hpp).
//
// The microkernel holds an M x (P*16) tile of int32 sums in registers. Per group of 4 input channels it
// loads each panel's 16 x 4 weight bytes (one vector per 16 or 8 lanes), broadcasts each row's 4
// activation bytes, and adds their dot products with one vpdpbusd per (row, weight vector). The diagonal
// term and the float epilogue (kernel_args.hpp) follow the K loop. int32 sums are exact, so the results
// are the reference's bit for bit whatever the tiling.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include kernels/isa_x86_int8.hpp, not this file"
#endif

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "gemm_blocking.hpp"
#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

// The epilogue of an M x J-vector tile of int32 sums (kernel_args.hpp) to C of element type T, one
// vector column at a time, the columns [0, n_valid) that exist: each sum dies as its output is stored,
// so no float tile is ever live beside the int32 one. (With a whole float tile converted first and then
// stored, GCC 12 kept copies of the 6x64 tile's accumulators on the stack inside the K loop: the tile
// ran at half speed, S0's 128 -> 128 layers at 28x28 in 72 us; one column at a time, 35 us.)
template <class T, int M, int J>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE void q_epilogue(const QuantGemmTileArgs& t,
                                                           const typename QVec::type (&acc)[M][J]) {
  constexpr int L = QVec::kLanes;
  T* const c = static_cast<T*>(t.c);
  const std::size_t cs = t.c_row_stride;
  // Requantization clamps at 0 anyway (and maps NaN to 0 either way).
  const bool relu = t.relu && !std::is_same<T, std::uint8_t>::value;
#pragma GCC unroll 8
  for (int j = 0; j < J; ++j) {  // the out-channel tail: whole vectors, then one masked vector, then nothing
    const int n = std::min(L, t.n_valid - j * L);
    if (n <= 0) break;
    const typename Vec::type scale = Vec::load(t.scale + j * L), bias = Vec::load(t.bias + j * L);  // padded
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) {
      typename Vec::type v = Vec::fmadd(QVec::to_float(acc[m][j]), scale, bias);
      if (relu) v = Vec::relu(v);
      if (n == L)
        QVec::store(c + std::size_t(m) * cs + j * L, v);
      else
        QVec::store_partial(c + std::size_t(m) * cs + j * L, v, n);
    }
  }
}

// One M x (P*16) tile (QuantGemmTileArgs, gemm_blocking.hpp).
template <int M, int P>
MOBILEONE_SIMD_TARGET void qgemm_tile(const QuantGemmTileArgs& t) {
  using I = typename QVec::type;
  constexpr int L = QVec::kLanes;
  constexpr int JP = kPanelWidth / L;  // vectors per panel
  constexpr int J = P * JP;            // accumulator vectors per row
  // Locals, so that stores through `c` do not make the compiler reload the arguments.
  const std::uint8_t* const a = t.a;
  const std::int8_t* const w = t.w;
  const std::int8_t* const pf = t.prefetch;
  const std::size_t rs = t.a_row_stride, ps = t.w_panel_stride;
  const int groups = (t.k + kQuantGroup - 1) / kQuantGroup;
  I acc[M][J];
#pragma GCC unroll 16
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) acc[m][j] = QVec::zero();
  const std::int8_t* wg = w;
  for (int g = 0; g < groups; ++g, wg += kPanelWidth * kQuantGroup) {
    _mm_prefetch(reinterpret_cast<const char*>(pf + (wg - w)), _MM_HINT_T0);  // a panel group is one line
    I wv[J];
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) wv[j] = QVec::load(wg + std::size_t(j / JP) * ps + (j % JP) * L * kQuantGroup);
    const std::uint8_t* ag = a + std::size_t(g) * kQuantGroup;
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) {
      const I x = QVec::broadcast4(ag + std::size_t(m) * rs);
#pragma GCC unroll 8
      for (int j = 0; j < J; ++j) acc[m][j] = QVec::dpbusd(acc[m][j], x, wv[j]);
    }
  }
  if (t.diagonal) {
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j) {
      const I d = QVec::load(t.diagonal + j * L);
#pragma GCC unroll 16
      for (int m = 0; m < M; ++m)
        acc[m][j] = QVec::mul_add(d, QVec::load_u8_i32(t.a_diagonal + std::size_t(m) * rs + j * L), acc[m][j]);
    }
  }
  if (t.output_u8)
    q_epilogue<std::uint8_t>(t, acc);
  else
    q_epilogue<float>(t, acc);
}

using QGemmTileFn = void (*)(const QuantGemmTileArgs&);

template <int P, std::size_t... I>
constexpr std::array<QGemmTileFn, sizeof...(I)> qgemm_tile_rows(std::index_sequence<I...>) {
  return {&qgemm_tile<int(I) + 1, P>...};
}
template <int Rows, std::size_t... P>
constexpr std::array<std::array<QGemmTileFn, Rows>, sizeof...(P)> qgemm_tile_table(std::index_sequence<P...>) {
  return {qgemm_tile_rows<int(P) + 1>(std::make_index_sequence<Rows>{})...};
}

// This ISA's int8 tiles for quant_pointwise_gemm(): table[p - 1][m - 1] is the tile of m rows and p panels.
struct QuantGemmTiles : QuantTuning::PointwiseTiling {
  static constexpr bool kPartialPanels = true;  // masked stores
  static constexpr std::array<std::array<QGemmTileFn, kRows>, kPanels> kTable =
      qgemm_tile_table<kRows>(std::make_index_sequence<kPanels>{});
  static void run(int rows, int panels, const QuantGemmTileArgs& t) {
    kTable[std::size_t(panels - 1)][std::size_t(rows - 1)](t);
  }
};

// Pixels [pixel_begin, pixel_end) x panels [panel_begin, panel_end).
inline void qpwconv1x1(const QuantPointwiseArgs& a, std::size_t pixel_begin, std::size_t pixel_end,
                       std::size_t panel_begin, std::size_t panel_end) {
  quant_pointwise_gemm<QuantGemmTiles>(a, pixel_begin, pixel_end, panel_begin, panel_end);
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
