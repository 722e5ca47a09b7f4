// Dense 3x3 convolution, padding 1 (the stem: 3 input channels, stride 2), fused bias + ReLU: AArch64 NEON.
//
// Weights are packed [3][3][in][out] (pack.hpp): for one tap and input channel the output channels are
// contiguous. Register block: 4 output pixels x 16 output channels = 16 accumulators; per (tap, input
// channel) 4 weight vectors are loaded and each pixel's input value is broadcast by lane
// (`fmla v.4s, v.4s, v.s[0]`): 16 FMAs per 4 vector + 4 scalar loads, 24 registers live. The 27 x 16
// weights of a channel block (1.7 KiB) stay in L1 while a row is swept. Output channels past the last
// multiple of 16 go 4 at a time, the last < 4 through scalar code.
// Edges are exact: the valid kernel rows are a template parameter of the row routine, the output pixels
// whose window crosses the left or right border (at most one per side) skip the missing column, the
// interior runs without any bounds test. Each output is bias, then FMAs in the reference's order
// (kernel row, kernel column, input channel), then ReLU.
// The output is float, or a 16-bit T for the fp16 and bf16 kernel sets (isa_neon_half.hpp): the same float32
// arithmetic, rounded once at the store (half_neon.hpp).
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>

#include "half_neon.hpp"
#include "kernel_args.hpp"
#include "mca_region.hpp"

namespace mobileone::kernels::neon {

namespace conv_detail {

template <int S, int KY0, int KY1, class T>
void row(const Conv3x3ArgsOf<T>& a, int oy) {
  const std::size_t cin = std::size_t(a.in_channels), cout = std::size_t(a.out_channels);
  const std::size_t W = std::size_t(a.in_width), OW = std::size_t(a.out_width);
  const long iy0 = long(oy) * S - 1;
  const float* rows[3] = {a.input + std::size_t(iy0 + (KY0 <= 0 ? 0 : 1)) * W * cin, a.input + std::size_t(iy0 + 1) * W * cin,
                          a.input + std::size_t(iy0 + (KY1 >= 3 ? 2 : 1)) * W * cin};
  T* out_row = a.output + std::size_t(oy) * OW * cout;
  const std::size_t int_end = W >= 2 ? std::min<std::size_t>(OW, (W - 2) / S + 1) : 1;
  const float32x4_t floor = vdupq_n_f32(a.relu ? 0.f : -std::numeric_limits<float>::infinity());
  // Input columns [kx0, kx1) of output pixel ox's window exist.
  auto kx_range = [&](std::size_t ox, int& kx0, int& kx1) {
    const long ix0 = long(ox) * S - 1;
    kx0 = ix0 < 0 ? 1 : 0;
    kx1 = int(std::min<long>(3, long(W) - ix0));
  };

  std::size_t co = 0;
  for (; co + 16 <= cout; co += 16) {
    const float* wco = a.weights + co;
    const float32x4_t b0 = vld1q_f32(a.bias + co), b1 = vld1q_f32(a.bias + co + 4), b2 = vld1q_f32(a.bias + co + 8),
                      b3 = vld1q_f32(a.bias + co + 12);
    auto pixel = [&](std::size_t ox) {
      int kx0, kx1;
      kx_range(ox, kx0, kx1);
      float32x4_t c0 = b0, c1 = b1, c2 = b2, c3 = b3;
      for (int ky = KY0; ky < KY1; ++ky)
        for (int kx = kx0; kx < kx1; ++kx) {
          const float* x = rows[ky] + std::size_t(long(ox) * S - 1 + kx) * cin;
          const float* w = wco + std::size_t(ky * 3 + kx) * cin * cout;
          for (std::size_t ci = 0; ci < cin; ++ci, w += cout) {
            const float v = x[ci];
            c0 = vfmaq_n_f32(c0, vld1q_f32(w), v);
            c1 = vfmaq_n_f32(c1, vld1q_f32(w + 4), v);
            c2 = vfmaq_n_f32(c2, vld1q_f32(w + 8), v);
            c3 = vfmaq_n_f32(c3, vld1q_f32(w + 12), v);
          }
        }
      T* o = out_row + ox * cout + co;
      store4(o, vmaxq_f32(c0, floor));
      store4(o + 4, vmaxq_f32(c1, floor));
      store4(o + 8, vmaxq_f32(c2, floor));
      store4(o + 12, vmaxq_f32(c3, floor));
    };

    pixel(0);
    std::size_t ox = 1;
    for (; ox + 4 <= int_end; ox += 4) {
      float32x4_t c00 = b0, c01 = b1, c02 = b2, c03 = b3, c10 = b0, c11 = b1, c12 = b2, c13 = b3;
      float32x4_t c20 = b0, c21 = b1, c22 = b2, c23 = b3, c30 = b0, c31 = b1, c32 = b2, c33 = b3;
      for (int ky = KY0; ky < KY1; ++ky)
        for (int kx = 0; kx < 3; ++kx) {
          const float* x = rows[ky] + (ox * S - 1 + std::size_t(kx)) * cin;
          const float* w = wco + std::size_t(ky * 3 + kx) * cin * cout;
          // The input-channel loop of interior rows is an llvm-mca region (mca_region.hpp).
          if constexpr (S == 2 && KY0 == 0 && KY1 == 3 && std::is_same_v<T, float>) MOBILEONE_MCA_BEGIN("conv3x3_s2");
          for (std::size_t ci = 0; ci < cin; ++ci, w += cout) {
            const float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 4), w2 = vld1q_f32(w + 8), w3 = vld1q_f32(w + 12);
            const float v0 = x[ci], v1 = x[S * cin + ci], v2 = x[2 * S * cin + ci], v3 = x[3 * S * cin + ci];
            c00 = vfmaq_n_f32(c00, w0, v0);
            c01 = vfmaq_n_f32(c01, w1, v0);
            c02 = vfmaq_n_f32(c02, w2, v0);
            c03 = vfmaq_n_f32(c03, w3, v0);
            c10 = vfmaq_n_f32(c10, w0, v1);
            c11 = vfmaq_n_f32(c11, w1, v1);
            c12 = vfmaq_n_f32(c12, w2, v1);
            c13 = vfmaq_n_f32(c13, w3, v1);
            c20 = vfmaq_n_f32(c20, w0, v2);
            c21 = vfmaq_n_f32(c21, w1, v2);
            c22 = vfmaq_n_f32(c22, w2, v2);
            c23 = vfmaq_n_f32(c23, w3, v2);
            c30 = vfmaq_n_f32(c30, w0, v3);
            c31 = vfmaq_n_f32(c31, w1, v3);
            c32 = vfmaq_n_f32(c32, w2, v3);
            c33 = vfmaq_n_f32(c33, w3, v3);
          }
          if constexpr (S == 2 && KY0 == 0 && KY1 == 3 && std::is_same_v<T, float>) MOBILEONE_MCA_END("conv3x3_s2");
        }
      T* o = out_row + ox * cout + co;
#define MOBILEONE_CONV_STORE(n)                                 \
  store4(o + n * cout, vmaxq_f32(c##n##0, floor));              \
  store4(o + n * cout + 4, vmaxq_f32(c##n##1, floor));          \
  store4(o + n * cout + 8, vmaxq_f32(c##n##2, floor));          \
  store4(o + n * cout + 12, vmaxq_f32(c##n##3, floor));
      MOBILEONE_CONV_STORE(0) MOBILEONE_CONV_STORE(1) MOBILEONE_CONV_STORE(2) MOBILEONE_CONV_STORE(3)
#undef MOBILEONE_CONV_STORE
    }
    for (; ox < OW; ++ox) pixel(ox);  // interior rest and the right edge
  }

  for (; co + 4 <= cout; co += 4) {  // 4 output channels at a time
    const float32x4_t b = vld1q_f32(a.bias + co);
    for (std::size_t ox = 0; ox < OW; ++ox) {
      int kx0, kx1;
      kx_range(ox, kx0, kx1);
      float32x4_t acc = b;
      for (int ky = KY0; ky < KY1; ++ky)
        for (int kx = kx0; kx < kx1; ++kx) {
          const float* x = rows[ky] + std::size_t(long(ox) * S - 1 + kx) * cin;
          const float* w = a.weights + std::size_t(ky * 3 + kx) * cin * cout + co;
          for (std::size_t ci = 0; ci < cin; ++ci) acc = vfmaq_n_f32(acc, vld1q_f32(w + ci * cout), x[ci]);
        }
      store4(out_row + ox * cout + co, vmaxq_f32(acc, floor));
    }
  }

  for (; co < cout; ++co)  // the last < 4 output channels
    for (std::size_t ox = 0; ox < OW; ++ox) {
      int kx0, kx1;
      kx_range(ox, kx0, kx1);
      float acc = a.bias[co];
      for (int ky = KY0; ky < KY1; ++ky)
        for (int kx = kx0; kx < kx1; ++kx) {
          const float* x = rows[ky] + std::size_t(long(ox) * S - 1 + kx) * cin;
          const float* w = a.weights + std::size_t(ky * 3 + kx) * cin * cout + co;
          for (std::size_t ci = 0; ci < cin; ++ci) acc = std::fma(x[ci], w[ci * cout], acc);
        }
      out_row[ox * cout + co] = from_float<T>(a.relu ? std::max(acc, 0.f) : acc);
    }
}

}  // namespace conv_detail

template <int Stride, class T>
void conv3x3(const Conv3x3ArgsOf<T>& a, int row_begin, int row_end) {
  static_assert(Stride == 1 || Stride == 2);
  for (int oy = row_begin; oy < row_end; ++oy) {
    const int iy0 = oy * Stride - 1;
    const bool top = iy0 >= 0, bottom = iy0 + 2 < a.in_height;
    if (top && bottom)
      conv_detail::row<Stride, 0, 3>(a, oy);
    else if (bottom)
      conv_detail::row<Stride, 1, 3>(a, oy);
    else if (top)
      conv_detail::row<Stride, 0, 2>(a, oy);
    else
      conv_detail::row<Stride, 1, 2>(a, oy);
  }
}

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
