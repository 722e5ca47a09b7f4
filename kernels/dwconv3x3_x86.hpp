// Depthwise 3x3 convolution, padding 1, stride 1 or 2 (a template parameter), written once over a
// vector-traits type for both x86 ISAs (NEON has its own, dwconv3x3_neon.hpp: its interior is scheduled by
// hand). NO include guard on purpose: simd_instantiate.hpp includes it once per x86 ISA, inside that ISA's
// namespace, which holds `Vec` and `Tuning` (see pwconv1x1_x86.hpp).
//
// NHWC: vectors run along channels. For one output row and one block of channels the 3x3 taps of the
// valid kernel rows and the bias sit in registers while the row's pixels stream by. Which kernel rows and
// columns fall inside the image is decided per output row (top/bottom edge) and per column range (first
// and last column) by template arguments, so the interior runs without per-pixel branches and the
// padding is skipped exactly, not multiplied by zeros. Every output is bias + taps in row-major order
// (one FMA chain), so results do not depend on how rows are split between threads.
// Activations are float or a 16-bit T (DepthwiseArgsOf<T>): Vec's loads and stores of T convert, the taps,
// bias and FMAs stay float32.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include kernels/registry.hpp, not this file"
#endif

#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

// Output pixels [x_begin, x_end) of one row, channels [c, c + NV*W) (or, if Tail, the n < W channels at c),
// using kernel rows `rows[0..R)` with their taps `taps[r][kx][v]` and kernel columns [KX0, KX1).
// N pixels at a time: each input vector loaded serves every output of the group whose window holds it
// (stride 1: 3(N+2) loads for 9N FMAs instead of 9N). Each output still gets bias + taps in row-major
// order, so the grouping does not change any result.
template <int S, int NV, int R, int KX0, int KX1, bool Tail, int N, class T>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE void dw_pixels(const T* const* rows, const typename Vec::type (*taps)[3][NV],
                                                           const typename Vec::type* bias, std::size_t channels, T* out,
                                                           int ox, int n, bool relu) {
  using V = typename Vec::type;
  constexpr int W = Vec::kWidth;
  constexpr int kCols = S * (N - 1) + KX1;          // input columns the group reads, from ix0
  const std::size_t ix0 = std::size_t(ox * S - 1);  // wraps for ox = 0, but then KX0 = 1
  V acc[N][NV];
#pragma GCC unroll 8
  for (int p = 0; p < N; ++p)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[p][v] = bias[v];
#pragma GCC unroll 3
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 24
    for (int col = KX0; col < kCols; ++col) {
      const T* in = rows[r] + (ix0 + std::size_t(col)) * channels;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const V x = Tail ? Vec::load_partial(in, n) : Vec::load(in + v * W);
#pragma GCC unroll 8
        for (int p = 0; p < N; ++p) {
          const int kx = col - S * p;
          if (kx >= KX0 && kx < KX1) acc[p][v] = Vec::fmadd(x, taps[r][kx][v], acc[p][v]);
        }
      }
    }
#pragma GCC unroll 8
  for (int p = 0; p < N; ++p) {
    T* o = out + std::size_t(ox + p) * channels;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      if (relu) acc[p][v] = Vec::relu(acc[p][v]);
      if (Tail)
        Vec::store_partial(o, acc[p][v], n);
      else
        Vec::store(o + v * W, acc[p][v]);
    }
  }
}

template <int S, int NV, int N, int R, int KX0, int KX1, bool Tail, class T>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE void dw_row_span(const T* const* rows,
                                                             const typename Vec::type (*taps)[3][NV],
                                                             const typename Vec::type* bias, std::size_t channels,
                                                             T* out, int x_begin, int x_end, int n, bool relu) {
  int ox = x_begin;
  for (; ox + N <= x_end; ox += N) dw_pixels<S, NV, R, KX0, KX1, Tail, N>(rows, taps, bias, channels, out, ox, n, relu);
  for (; ox < x_end; ++ox) dw_pixels<S, NV, R, KX0, KX1, Tail, 1>(rows, taps, bias, channels, out, ox, n, relu);
}

// One output row, channels [c, c + NV*W) (or the tail of n channels), R valid kernel rows starting at
// kernel row ky0 whose input rows are `rows`.
template <int S, int NV, int N, int R, bool Tail, class T>
MOBILEONE_SIMD_TARGET void dw_row(const DepthwiseArgsOf<T>& a, const T* const* rows, int ky0, int c, int n,
                                  T* out_row) {
  using V = typename Vec::type;
  constexpr int W = Vec::kWidth;
  const std::size_t channels = std::size_t(a.channels);
  V taps[R][3][NV], bias[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) bias[v] = Tail ? Vec::load_partial(a.bias + c, n) : Vec::load(a.bias + c + v * W);
#pragma GCC unroll 3
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 3
    for (int kx = 0; kx < 3; ++kx)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const float* w = a.weights + std::size_t((ky0 + r) * 3 + kx) * channels + std::size_t(c + v * W);
        taps[r][kx][v] = Tail ? Vec::load_partial(w, n) : Vec::load(w);
      }
  const T* in_rows[R];
  for (int r = 0; r < R; ++r) in_rows[r] = rows[r] + c;
  T* out = out_row + c;
  const int out_w = a.out_width, in_w = a.in_width;
  // The first column whose window reaches past the right edge (ox * S + 1 >= in_w); 0 if the image is 1
  // wide, and then ox = 0 is the only column and touches both edges.
  const int right = in_w >= 2 ? (in_w - 2) / S + 1 : 0;
  if (right == 0) {
    dw_row_span<S, NV, N, R, 1, 2, Tail>(in_rows, taps, bias, channels, out, 0, out_w, n, a.relu);
    return;
  }
  dw_row_span<S, NV, N, R, 1, 3, Tail>(in_rows, taps, bias, channels, out, 0, 1, n, a.relu);
  dw_row_span<S, NV, N, R, 0, 3, Tail>(in_rows, taps, bias, channels, out, 1, right, n, a.relu);
  dw_row_span<S, NV, N, R, 0, 2, Tail>(in_rows, taps, bias, channels, out, right, out_w, n, a.relu);
}

template <int S, int NV, int N, bool Tail, class T>
MOBILEONE_SIMD_TARGET void dw_row_rows(const DepthwiseArgsOf<T>& a, const T* const* rows, int valid_rows, int ky0, int c,
                                       int n, T* out_row) {
  switch (valid_rows) {
    case 3:
      return dw_row<S, NV, N, 3, Tail>(a, rows, ky0, c, n, out_row);
    case 2:
      return dw_row<S, NV, N, 2, Tail>(a, rows, ky0, c, n, out_row);
    default:
      return dw_row<S, NV, N, 1, Tail>(a, rows, ky0, c, n, out_row);
  }
}

// Output rows [row_begin, row_end), channels in blocks of NV vectors (N pixels per step), then single
// vectors, then a masked tail.
template <int S, int NV, int N, class T>
MOBILEONE_SIMD_TARGET void dw_rows(const DepthwiseArgsOf<T>& a, int row_begin, int row_end) {
  constexpr int W = Vec::kWidth;
  const std::size_t channels = std::size_t(a.channels), in_row = std::size_t(a.in_width) * channels;
  for (int oy = row_begin; oy < row_end; ++oy) {
    const int iy0 = oy * S - 1;
    const int ky0 = iy0 < 0 ? 1 : 0, ky1 = iy0 + 2 >= a.in_height ? a.in_height - iy0 : 3;
    const T* rows[3];
    for (int ky = ky0; ky < ky1; ++ky) rows[ky - ky0] = a.input + std::size_t(iy0 + ky) * in_row;
    const int valid = ky1 - ky0;
    T* out_row = a.output + std::size_t(oy) * std::size_t(a.out_width) * channels;
    int c = 0;
    for (; c + NV * W <= a.channels; c += NV * W) dw_row_rows<S, NV, N, false>(a, rows, valid, ky0, c, NV * W, out_row);
    for (; c + W <= a.channels; c += W) dw_row_rows<S, 1, N, false>(a, rows, valid, ky0, c, W, out_row);
    if (c < a.channels) dw_row_rows<S, 1, N, true>(a, rows, valid, ky0, c, a.channels - c, out_row);
  }
}

// Output rows [row_begin, row_end). When a pixel is a multiple of 2 KB (512 float channels), the pixels
// of a channel block fall into the same two L1 sets, and more channel vectors per pass (one pixel per
// step) measured up to 1.8x faster where the ISA has the registers for it (kAliasVectors > 0).
template <int S, class T>
MOBILEONE_SIMD_TARGET void dwconv3x3(const DepthwiseArgsOf<T>& a, int row_begin, int row_end) {
  using Tiling = typename Tuning::DepthwiseTiling;
  constexpr int N = S == 1 ? Tiling::kPixelsStride1 : Tiling::kPixelsStride2;
  if (Tiling::kAliasVectors > 0 && std::size_t(a.channels) * sizeof(T) % 2048 == 0)
    return dw_rows<S, (Tiling::kAliasVectors > 0 ? Tiling::kAliasVectors : 1), 1>(a, row_begin, row_end);
  dw_rows<S, Tiling::kVectors, N>(a, row_begin, row_end);
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
