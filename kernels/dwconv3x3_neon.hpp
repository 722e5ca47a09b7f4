// Depthwise 3x3 convolution, padding 1, stride 1 or 2, fused bias + ReLU: AArch64 NEON.
//
// NHWC: a vector is 4 neighbouring channels of one pixel. For one output row and one 4-channel block the
// 9 tap weights and the bias stay in registers (10 of the 32) while the row is swept 4 output pixels at a
// time: per kernel row, stride 1 loads the 6 input vectors the 4 outputs see (stride 2: 9) and issues 12
// FMAs into 4 accumulators (2 FMAs per load at stride 1; ~20 registers live, no spills). Consecutive
// channel blocks reuse the same cache lines of the three input rows from L1.
// Edges are exact and branch-free in the interior: which kernel rows exist is a template parameter of the
// row routine (interior rows, first row, last row, single-row input), output pixels whose window leaves
// the image on the left or right (at most one per side) go through a per-pixel path that skips the
// missing column, and every other pixel runs the unconditional interior code. Channels beyond the last
// multiple of 4 are computed by scalar code.
// Each output is bias, then FMAs in the reference's tap order (kernel row, then column), then ReLU.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "kernel_args.hpp"

namespace mobileone::kernels::neon {

namespace dw_detail {

// p + n, opaque to the optimizer: otherwise GCC's induction-variable pass keeps one pointer per load of
// the unrolled row (27 at stride 2) and spills them; this way one pointer walks the row.
inline const float* step(const float* p, std::size_t n) {
  p += n;
#if defined(__GNUC__) || defined(__clang__)
  __asm__("" : "+r"(p));
#endif
  return p;
}

// One output row, kernel rows [KY0, KY1) inside the image.
template <int S, int KY0, int KY1>
void row(const DepthwiseArgs& a, int oy) {
  const std::size_t C = std::size_t(a.channels), W = std::size_t(a.in_width), OW = std::size_t(a.out_width);
  const long iy0 = long(oy) * S - 1;
  const float* r0 = a.input + std::size_t(iy0 + (KY0 <= 0 ? 0 : 1)) * W * C;  // row ky = 0 (clamped when absent)
  const float* r1 = a.input + std::size_t(iy0 + 1) * W * C;
  const float* r2 = a.input + std::size_t(iy0 + (KY1 >= 3 ? 2 : 1)) * W * C;
  float* out_row = a.output + std::size_t(oy) * OW * C;
  // Interior output pixels: every input column ox*S-1 .. ox*S+1 exists. ox = 0 never (column -1).
  const std::size_t int_begin = 1;
  const std::size_t int_end = W >= 2 ? std::min<std::size_t>(OW, (W - 2) / S + 1) : 1;
  const float32x4_t floor = vdupq_n_f32(a.relu ? 0.f : -std::numeric_limits<float>::infinity());
  const std::size_t C4 = C / 4 * 4;

  for (std::size_t c = 0; c < C4; c += 4) {
    const float* wc = a.weights + c;
#define MOBILEONE_DW_W(ky, kx) \
  const float32x4_t w##ky##kx = (KY0 <= ky && ky < KY1) ? vld1q_f32(wc + (ky * 3 + kx) * C) : vdupq_n_f32(0.f);
    MOBILEONE_DW_W(0, 0) MOBILEONE_DW_W(0, 1) MOBILEONE_DW_W(0, 2)
    MOBILEONE_DW_W(1, 0) MOBILEONE_DW_W(1, 1) MOBILEONE_DW_W(1, 2)
    MOBILEONE_DW_W(2, 0) MOBILEONE_DW_W(2, 1) MOBILEONE_DW_W(2, 2)
#undef MOBILEONE_DW_W
    const float32x4_t bias = vld1q_f32(a.bias + c);

    // One output pixel whose window columns [KX0, KX1) are inside the image (the borders, and interior
    // pixels left over from the groups of 4). A macro, not a lambda: a closure holding the weights would
    // make GCC keep them on the stack, in the interior loop too.
#define MOBILEONE_DW_TAP(ky, kx)                                                           \
  if constexpr (KY0 <= ky && ky < KY1 && KX0 <= kx && kx < KX1)                            \
    acc = vfmaq_f32(acc, vld1q_f32(r##ky + (px * S + kx - 1) * C + c), w##ky##kx);
#define MOBILEONE_DW_PIXEL(OX, KX0_, KX1_)                                                 \
  {                                                                                        \
    constexpr int KX0 = KX0_, KX1 = KX1_;                                                  \
    const std::size_t px = (OX);                                                           \
    float32x4_t acc = bias;                                                                \
    MOBILEONE_DW_TAP(0, 0) MOBILEONE_DW_TAP(0, 1) MOBILEONE_DW_TAP(0, 2)                   \
    MOBILEONE_DW_TAP(1, 0) MOBILEONE_DW_TAP(1, 1) MOBILEONE_DW_TAP(1, 2)                   \
    MOBILEONE_DW_TAP(2, 0) MOBILEONE_DW_TAP(2, 1) MOBILEONE_DW_TAP(2, 2)                   \
    vst1q_f32(out_row + px * C + c, vmaxq_f32(acc, floor));                                \
  }

    // Left border: column -1 is outside (and column 1 too when the image is one pixel wide).
    if (W >= 2)
      MOBILEONE_DW_PIXEL(0, 1, 3)
    else
      MOBILEONE_DW_PIXEL(0, 1, 2)
    std::size_t ox = int_begin;
    for (; ox + 4 <= int_end; ox += 4) {
      float32x4_t acc0 = bias, acc1 = bias, acc2 = bias, acc3 = bias;
      const std::size_t at = (ox * S - 1) * C + c;
      // Input columns left to right, each loaded once and used by every output it feeds: per output the
      // taps still come in the reference order (kx ascending within a kernel row).
      if constexpr (S == 1) {
#define MOBILEONE_DW_ROW_S1(ky)          \
  if constexpr (KY0 <= ky && ky < KY1) { \
    const float* p = r##ky + at;         \
    float32x4_t x;                       \
    x = vld1q_f32(p + 0 * C);            \
    acc0 = vfmaq_f32(acc0, x, w##ky##0); \
    x = vld1q_f32(p + 1 * C);            \
    acc0 = vfmaq_f32(acc0, x, w##ky##1); \
    acc1 = vfmaq_f32(acc1, x, w##ky##0); \
    x = vld1q_f32(p + 2 * C);            \
    acc0 = vfmaq_f32(acc0, x, w##ky##2); \
    acc1 = vfmaq_f32(acc1, x, w##ky##1); \
    acc2 = vfmaq_f32(acc2, x, w##ky##0); \
    x = vld1q_f32(p + 3 * C);            \
    acc1 = vfmaq_f32(acc1, x, w##ky##2); \
    acc2 = vfmaq_f32(acc2, x, w##ky##1); \
    acc3 = vfmaq_f32(acc3, x, w##ky##0); \
    x = vld1q_f32(p + 4 * C);            \
    acc2 = vfmaq_f32(acc2, x, w##ky##2); \
    acc3 = vfmaq_f32(acc3, x, w##ky##1); \
    x = vld1q_f32(p + 5 * C);            \
    acc3 = vfmaq_f32(acc3, x, w##ky##2); \
  }
        MOBILEONE_DW_ROW_S1(0) MOBILEONE_DW_ROW_S1(1) MOBILEONE_DW_ROW_S1(2)
#undef MOBILEONE_DW_ROW_S1
      } else {
#define MOBILEONE_DW_ROW_S2(ky)          \
  if constexpr (KY0 <= ky && ky < KY1) { \
    const float* p = r##ky + at;         \
    float32x4_t x;                       \
    x = vld1q_f32(p);                    \
    acc0 = vfmaq_f32(acc0, x, w##ky##0); \
    x = vld1q_f32(p = step(p, C));       \
    acc0 = vfmaq_f32(acc0, x, w##ky##1); \
    x = vld1q_f32(p = step(p, C));       \
    acc0 = vfmaq_f32(acc0, x, w##ky##2); \
    acc1 = vfmaq_f32(acc1, x, w##ky##0); \
    x = vld1q_f32(p = step(p, C));       \
    acc1 = vfmaq_f32(acc1, x, w##ky##1); \
    x = vld1q_f32(p = step(p, C));       \
    acc1 = vfmaq_f32(acc1, x, w##ky##2); \
    acc2 = vfmaq_f32(acc2, x, w##ky##0); \
    x = vld1q_f32(p = step(p, C));       \
    acc2 = vfmaq_f32(acc2, x, w##ky##1); \
    x = vld1q_f32(p = step(p, C));       \
    acc2 = vfmaq_f32(acc2, x, w##ky##2); \
    acc3 = vfmaq_f32(acc3, x, w##ky##0); \
    x = vld1q_f32(p = step(p, C));       \
    acc3 = vfmaq_f32(acc3, x, w##ky##1); \
    x = vld1q_f32(p = step(p, C));       \
    acc3 = vfmaq_f32(acc3, x, w##ky##2); \
  }
        MOBILEONE_DW_ROW_S2(0) MOBILEONE_DW_ROW_S2(1) MOBILEONE_DW_ROW_S2(2)
#undef MOBILEONE_DW_ROW_S2
      }
      float* o = out_row + ox * C + c;
      vst1q_f32(o, vmaxq_f32(acc0, floor));
      vst1q_f32(o + C, vmaxq_f32(acc1, floor));
      vst1q_f32(o + 2 * C, vmaxq_f32(acc2, floor));
      vst1q_f32(o + 3 * C, vmaxq_f32(acc3, floor));
    }
    for (; ox < int_end; ++ox) MOBILEONE_DW_PIXEL(ox, 0, 3)
    // Right border: at most one pixel, whose column ox*S+1 is past the image (stride 1 always, stride 2
    // when the width is odd); column ox*S-1 is inside since ox >= 1.
    for (ox = int_end > 1 ? int_end : 1; ox < OW; ++ox) MOBILEONE_DW_PIXEL(ox, 0, 2)
#undef MOBILEONE_DW_PIXEL
#undef MOBILEONE_DW_TAP
  }

  // Channels past the last multiple of 4: scalar, same order.
  for (std::size_t c = C4; c < C; ++c)
    for (std::size_t ox = 0; ox < OW; ++ox) {
      float acc = a.bias[c];
      for (int ky = KY0; ky < KY1; ++ky) {
        const float* r = ky == 0 ? r0 : ky == 1 ? r1 : r2;
        for (int kx = 0; kx < 3; ++kx) {
          const long ix = long(ox) * S - 1 + kx;
          if (ix < 0 || ix >= long(W)) continue;
          acc = std::fma(r[std::size_t(ix) * C + c], a.weights[std::size_t(ky * 3 + kx) * C + c], acc);
        }
      }
      out_row[ox * C + c] = a.relu ? std::max(acc, 0.f) : acc;
    }
}

}  // namespace dw_detail

template <int Stride>
void dwconv3x3(const DepthwiseArgs& a, int row_begin, int row_end) {
  static_assert(Stride == 1 || Stride == 2);
  for (int oy = row_begin; oy < row_end; ++oy) {
    const int iy0 = oy * Stride - 1;
    const bool top = iy0 >= 0, bottom = iy0 + 2 < a.in_height;
    if (top && bottom)
      dw_detail::row<Stride, 0, 3>(a, oy);
    else if (bottom)
      dw_detail::row<Stride, 1, 3>(a, oy);
    else if (top)
      dw_detail::row<Stride, 0, 2>(a, oy);
    else
      dw_detail::row<Stride, 1, 2>(a, oy);
  }
}

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
