// Dense 3x3 convolution, padding 1 (the stem: 3 -> C0 channels, stride 2), written once over a
// vector-traits type for both x86 ISAs. NO include guard on purpose: conv3x3_avx2.hpp and
// conv3x3_avx512.hpp include it once each, inside their namespace, after pwconv1x1_<isa>.hpp (whose GEMM
// microkernel this reuses) and after defining MOBILEONE_SIMD_NS / MOBILEONE_SIMD_TARGET.
//
// The convolution is a GEMM [output pixels x 9*C_in] * [9*C_in x C_out]. For an interior pixel its row of
// A is read straight from the NHWC input: the 3x3 window is three runs (one per kernel row) of 3*C_in
// contiguous floats, so the microkernel walks them without any copy. Pixels whose window crosses the
// border (first column, last column for odd widths, first row, last row for odd heights) get their window
// copied with zeros for the padding into a small buffer first; a zero contributes exactly nothing to the
// sum. The weights, [3][3][C_in][C_out], are repacked per call into 16-channel panels on the stack (a few
// KB for the stem, negligible next to a task's work). Shapes too big for the stack buffers (not the stem)
// fall back to the reference kernel.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include conv3x3_avx2.hpp or conv3x3_avx512.hpp, not this file"
#endif

#include <algorithm>
#include <cstddef>

#include "conv3x3_ref.hpp"
#include "kernel_args.hpp"
#include "pack.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

inline constexpr std::size_t kConvStackFloats = 8192;  // 32 KB for packed weights, 32 KB for edge windows
inline constexpr int kConvEdgeChunk = 32;              // edge pixels gathered per GEMM call

template <int S>
MOBILEONE_SIMD_TARGET void conv3x3(const Conv3x3Args& a, int row_begin, int row_end) {
  const int cin = a.in_channels, cout = a.out_channels, k = 9 * cin;
  const std::size_t panels = pointwise_panel_count(cout), kk = std::size_t(k);
  if ((panels * kk + panels) * kPanelWidth > kConvStackFloats || kk * kConvEdgeChunk > kConvStackFloats)
    return ref::conv3x3<S>(a, row_begin, row_end);
  alignas(64) float packed[kConvStackFloats];
  alignas(64) float window[kConvStackFloats];
  for (std::size_t p = 0; p < panels; ++p)
    for (std::size_t i = 0; i < kk; ++i)
      for (int lane = 0; lane < kPanelWidth; ++lane) {
        const std::size_t co = p * kPanelWidth + std::size_t(lane);
        packed[(p * kk + i) * kPanelWidth + std::size_t(lane)] =
            co < std::size_t(cout) ? a.weights[i * std::size_t(cout) + co] : 0.f;
      }
  float* bias = packed + panels * kk * kPanelWidth;
  for (std::size_t co = 0; co < panels * kPanelWidth; ++co) bias[co] = co < std::size_t(cout) ? a.bias[co] : 0.f;

  const std::size_t c_in = std::size_t(cin), c_out = std::size_t(cout), in_w = std::size_t(a.in_width);
  // Interior pixels: A rows straight from the input.
  const GemmShape direct{S * c_in, in_w * c_in, 3, 3 * cin, kk * kPanelWidth, c_out, a.relu};
  // Border pixels: A rows from `window`.
  const GemmShape gathered{kk, 0, 1, k, kk * kPanelWidth, c_out, a.relu};
  // Columns [1, right) have their whole window inside the image horizontally.
  const int right = a.in_width >= 2 ? std::min(a.out_width, (a.in_width - 2) / S + 1) : 0;

  for (int oy = row_begin; oy < row_end; ++oy) {
    const int iy0 = oy * S - 1;
    float* out_row = a.output + std::size_t(oy) * std::size_t(a.out_width) * c_out;
    const auto row_c = [&](std::size_t ox) { return out_row + ox * c_out; };
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
      const auto row_a = [&](std::size_t ox) { return window + (ox - std::size_t(x0)) * kk; };
      gemm<PointwiseTiling::kRows, PointwiseTiling::kPanels>(gathered, std::size_t(x0), std::size_t(x1), 0, panels,
                                                             cout, packed, bias, row_a, row_c);
    };
    const auto border_span = [&](int x0, int x1) {
      for (int x = x0; x < x1; x += kConvEdgeChunk) border(x, std::min(x1, x + kConvEdgeChunk));
    };
    if (iy0 < 0 || iy0 + 2 >= a.in_height || right <= 1) {
      border_span(0, a.out_width);
      continue;
    }
    border_span(0, 1);
    const float* in_row = a.input + std::size_t(iy0) * in_w * c_in;
    const auto row_a = [&](std::size_t ox) { return in_row + (ox * S - 1) * c_in; };
    gemm<PointwiseTiling::kRows, PointwiseTiling::kPanels>(direct, 1, std::size_t(right), 0, panels, cout, packed, bias,
                                                           row_a, row_c);
    border_span(right, a.out_width);
  }
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
