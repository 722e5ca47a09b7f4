// Depthwise 3x3 convolution on uint8 activations (QuantDepthwiseArgs), padding 1, stride 1 or 2, written
// once over the vector traits of both x86 int8 sets. NO include guard on purpose: isa_x86_int8.hpp
// includes it once per ISA, inside that ISA's namespace (which holds `Vec`, `QVec` and `QuantTuning`).
//
// The blocking is dwconv3x3_x86.hpp's (see there): per output row and channel block the taps of the valid
// kernel rows and the bias stay in registers, edges are template arguments, N output pixels share each
// loaded input vector. Each input vector is widened uint8 -> float once (vpmovzxbd + vcvtdq2ps) and then
// serves every output of the group whose window holds it. Every output is bias + taps in row-major order
// (one FMA chain, the reference's order), so results do not depend on how rows are split between threads.
// The output element type T (float, or uint8 requantized) is a template argument.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include kernels/isa_x86_int8.hpp, not this file"
#endif

#include <cstddef>
#include <cstdint>

#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

// Output pixels [ox, ox + N) of one row, channels [c, c + NV*W) (or, if Tail, the n < W channels at c),
// using kernel rows `rows[0..R)` with their taps `taps[r][kx][v]` and kernel columns [KX0, KX1).
template <int S, int NV, int R, int KX0, int KX1, bool Tail, int N, class T>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE void qdw_pixels(const std::uint8_t* const* rows,
                                                            const typename Vec::type (*taps)[3][NV],
                                                            const typename Vec::type* bias, std::size_t channels,
                                                            T* out, int ox, int n, bool relu) {
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
      const std::uint8_t* in = rows[r] + (ix0 + std::size_t(col)) * channels;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const V x = Tail ? QVec::load_u8_partial(in, n) : QVec::load_u8(in + v * W);
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
        QVec::store_partial(o, acc[p][v], n);
      else
        QVec::store(o + v * W, acc[p][v]);
    }
  }
}

template <int S, int NV, int N, int R, int KX0, int KX1, bool Tail, class T>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE void qdw_row_span(const std::uint8_t* const* rows,
                                                              const typename Vec::type (*taps)[3][NV],
                                                              const typename Vec::type* bias, std::size_t channels,
                                                              T* out, int x_begin, int x_end, int n, bool relu) {
  int ox = x_begin;
  for (; ox + N <= x_end; ox += N)
    qdw_pixels<S, NV, R, KX0, KX1, Tail, N>(rows, taps, bias, channels, out, ox, n, relu);
  for (; ox < x_end; ++ox) qdw_pixels<S, NV, R, KX0, KX1, Tail, 1>(rows, taps, bias, channels, out, ox, n, relu);
}

// One output row, channels [c, c + NV*W) (or the tail of n channels), R valid kernel rows starting at
// kernel row ky0 whose input rows are `rows`.
template <int S, int NV, int N, int R, bool Tail, class T>
MOBILEONE_SIMD_TARGET void qdw_row(const QuantDepthwiseArgs& a, const std::uint8_t* const* rows, int ky0, int c, int n,
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
  const std::uint8_t* in_rows[R];
  for (int r = 0; r < R; ++r) in_rows[r] = rows[r] + c;
  T* out = out_row + c;
  const int out_w = a.out_width, in_w = a.in_width;
  // The first column whose window reaches past the right edge (ox * S + 1 >= in_w); 0 if the image is 1
  // wide, and then ox = 0 is the only column and touches both edges.
  const int right = in_w >= 2 ? (in_w - 2) / S + 1 : 0;
  if (right == 0) {
    qdw_row_span<S, NV, N, R, 1, 2, Tail>(in_rows, taps, bias, channels, out, 0, out_w, n, a.relu);
    return;
  }
  qdw_row_span<S, NV, N, R, 1, 3, Tail>(in_rows, taps, bias, channels, out, 0, 1, n, a.relu);
  qdw_row_span<S, NV, N, R, 0, 3, Tail>(in_rows, taps, bias, channels, out, 1, right, n, a.relu);
  qdw_row_span<S, NV, N, R, 0, 2, Tail>(in_rows, taps, bias, channels, out, right, out_w, n, a.relu);
}

template <int S, int NV, int N, bool Tail, class T>
MOBILEONE_SIMD_TARGET void qdw_row_rows(const QuantDepthwiseArgs& a, const std::uint8_t* const* rows, int valid_rows,
                                        int ky0, int c, int n, T* out_row) {
  switch (valid_rows) {
    case 3:
      return qdw_row<S, NV, N, 3, Tail>(a, rows, ky0, c, n, out_row);
    case 2:
      return qdw_row<S, NV, N, 2, Tail>(a, rows, ky0, c, n, out_row);
    default:
      return qdw_row<S, NV, N, 1, Tail>(a, rows, ky0, c, n, out_row);
  }
}

// Output rows [row_begin, row_end) of element type T, channels in blocks of NV vectors (N pixels per
// step), then single vectors, then a masked tail.
template <int S, int NV, int N, class T>
MOBILEONE_SIMD_TARGET void qdw_rows(const QuantDepthwiseArgs& a, int row_begin, int row_end) {
  constexpr int W = Vec::kWidth;
  const std::size_t channels = std::size_t(a.channels), in_row = std::size_t(a.in_width) * channels;
  for (int oy = row_begin; oy < row_end; ++oy) {
    const int iy0 = oy * S - 1;
    const int ky0 = iy0 < 0 ? 1 : 0, ky1 = iy0 + 2 >= a.in_height ? a.in_height - iy0 : 3;
    const std::uint8_t* rows[3];
    for (int ky = ky0; ky < ky1; ++ky) rows[ky - ky0] = a.input + std::size_t(iy0 + ky) * in_row;
    const int valid = ky1 - ky0;
    T* out_row = static_cast<T*>(a.output) + std::size_t(oy) * std::size_t(a.out_width) * channels;
    int c = 0;
    for (; c + NV * W <= a.channels; c += NV * W)
      qdw_row_rows<S, NV, N, false>(a, rows, valid, ky0, c, NV * W, out_row);
    for (; c + W <= a.channels; c += W) qdw_row_rows<S, 1, N, false>(a, rows, valid, ky0, c, W, out_row);
    if (c < a.channels) qdw_row_rows<S, 1, N, true>(a, rows, valid, ky0, c, a.channels - c, out_row);
  }
}

// Output rows [row_begin, row_end).
template <int Stride>
MOBILEONE_SIMD_TARGET void qdwconv3x3(const QuantDepthwiseArgs& a, int row_begin, int row_end) {
  using T = typename QuantTuning::DepthwiseTiling;
  constexpr int N = Stride == 1 ? T::kPixelsStride1 : T::kPixelsStride2;
  if (a.output_u8)
    qdw_rows<Stride, T::kVectors, N, std::uint8_t>(a, row_begin, row_end);
  else
    qdw_rows<Stride, T::kVectors, N, float>(a, row_begin, row_end);
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
