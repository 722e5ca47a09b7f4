// Dense 3x3 convolution, padding 1 (the stem: 3 -> C0 channels, stride 2) on the x86 GEMM microkernels.
// NO include guard on purpose: simd_instantiate.hpp includes it once per x86 ISA, inside that ISA's
// namespace, after pwconv1x1_x86.hpp (whose tiles this reuses; for the 3 -> 48/64-channel stems no other
// tile shape measured faster).
//
// The convolution is a GEMM [output pixels x 9*C_in] * [9*C_in x C_out], its weights packed once at load
// as 16-channel panels (pack.hpp, StemLayout::panels). For an interior pixel its row of A is read straight
// from the NHWC input: the 3x3 window is three runs (one per kernel row) of 3*C_in contiguous floats, so
// the microkernel walks them without any copy. Pixels whose window crosses the border (first column, last
// column for odd widths, first row, last row for odd heights) get their window copied with zeros for the
// padding into a small stack buffer first; a zero contributes exactly nothing to the sum.
// The output is float, or a 16-bit T (kernel_args.hpp: the arithmetic stays float32, rounded at the store).

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include conv3x3_avx2.hpp or conv3x3_avx512.hpp, not this file"
#endif

#include <algorithm>
#include <cstddef>

#include "kernel_args.hpp"
#include "pack.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

inline constexpr std::size_t kConvWindowFloats = 8192;  // 32 KB of gathered border windows
inline constexpr int kConvEdgeChunk = 32;                // border pixels gathered per GEMM call at most

template <int S, class T>
MOBILEONE_SIMD_TARGET void conv3x3(const Conv3x3ArgsOf<T>& a, int row_begin, int row_end) {
  const int cin = a.in_channels, cout = a.out_channels, k = 9 * cin;
  const std::size_t panels = pointwise_panel_count(cout), kk = std::size_t(k);
  // Border pixels per gather: as many windows as the buffer holds (the stem's 27 floats: 32 at a time).
  // One window must fit: in_channels <= 910 (a blob's stem has 3).
  const int edge_chunk = int(std::min<std::size_t>(kConvEdgeChunk, kConvWindowFloats / kk));
  alignas(64) float window[kConvWindowFloats];
  const std::size_t c_in = std::size_t(cin), c_out = std::size_t(cout), in_w = std::size_t(a.in_width);
  // Interior pixels: A rows straight from the input.
  GemmProblemOf<T> direct{nullptr, S * c_in, in_w * c_in, 3, 3 * cin, a.weights, a.bias, nullptr, c_out, cout, a.relu};
  // Border pixels: A rows from `window`.
  GemmProblemOf<T> gathered{window, kk, 0, 1, k, a.weights, a.bias, nullptr, c_out, cout, a.relu};
  // Columns [1, right) have their whole window inside the image horizontally.
  const int right = a.in_width >= 2 ? std::min(a.out_width, (a.in_width - 2) / S + 1) : 0;

  for (int oy = row_begin; oy < row_end; ++oy) {
    const int iy0 = oy * S - 1;
    T* out_row = a.output + std::size_t(oy) * std::size_t(a.out_width) * c_out;
    // Gathers windows of columns [x0, x1) (at most kConvEdgeChunk) and runs the GEMM on them.
    const auto border = [&](int x0, int x1) {
      for (int ox = x0; ox < x1; ++ox) {
        float* dst = window + std::size_t(ox - x0) * kk;
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx, dst += c_in) {
            const int iy = iy0 + ky, ix = ox * S - 1 + kx;
            if (iy < 0 || iy >= a.in_height || ix < 0 || ix >= a.in_width)
              std::fill(dst, dst + c_in, 0.f);
            else
              std::copy_n(a.input + (std::size_t(iy) * in_w + std::size_t(ix)) * c_in, c_in, dst);
          }
      }
      gathered.c = out_row + std::size_t(x0) * c_out;
      gemm_blocked<GemmTiles>(gathered, std::size_t(x1 - x0), 0, panels);
    };
    const auto border_span = [&](int x0, int x1) {
      for (int x = x0; x < x1; x += edge_chunk) border(x, std::min(x1, x + edge_chunk));
    };
    if (iy0 < 0 || iy0 + 2 >= a.in_height || right <= 1) {
      border_span(0, a.out_width);
      continue;
    }
    border_span(0, 1);
    // Column 1's window starts at input column S - 1.
    direct.a = a.input + (std::size_t(iy0) * in_w + std::size_t(S - 1)) * c_in;
    direct.c = out_row + c_out;
    gemm_blocked<GemmTiles>(direct, std::size_t(right - 1), 0, panels);
    border_span(right, a.out_width);
  }
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
