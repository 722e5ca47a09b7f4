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
// Activations are float, or a 16-bit T for the fp16 and bf16 kernel sets (isa_neon_half.hpp): the taps, bias
// and FMAs stay float32, only the loads and stores convert (half_neon.hpp), and the stride-2 assembly
// interior is float's alone (16-bit rows take the 4-pixel intrinsics). Float32 arithmetic for fp16 too,
// rather than FMLA .8h on 8 channels: fp16 sums of the 9 taps and the bias move the real S0's logits 2.8x
// further from float32 (5.2e-3 against 1.8e-3 on the apple tensor, isa_neon_half.hpp).
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "half_neon.hpp"
#include "kernel_args.hpp"
#include "mca_region.hpp"

namespace mobileone::kernels::neon {

// The cores a depthwise instantiation is scheduled for. In-order cores (Cortex-A53/A55/A510) do not take
// the 16-pixel assembly: its back-to-back dependent FMAs stall them, and llvm-mca's in-order models rate
// it below the 4-pixel intrinsics GCC interleaves (Cortex-A55: 12% of the FMA peak against 21%).
enum class CoreKind { out_of_order, in_order };

namespace dw_detail {

// p + n, opaque to the optimizer: otherwise GCC's induction-variable pass keeps one pointer per load of
// the unrolled row (27 at stride 2) and spills them; this way one pointer walks the row.
template <class T>
inline const T* step(const T* p, std::size_t n) {
  p += n;
#if defined(__GNUC__) || defined(__clang__)
  __asm__("" : "+r"(p));
#endif
  return p;
}

// Stride 2, interior rows: `groups` groups of 16 consecutive interior output pixels of one 4-channel block,
// in assembly. Sixteen accumulators are sixteen independent FMA chains, the most that fit beside the 9 tap
// weights (v0-v8), the ReLU floor (v9) and 6 rotating input registers (v26-v31): llvm-mca's Neoverse N1
// and V1 models (bench/arm/mca_report.sh) need that many to overlap the 9-deep chains (4 pixels: 59% and
// 53% of the FMA peak, 16: about 75%). Columns are read at [row + j*C] with x9..x16 = 1..8 channel
// strides, the row pointer stepping 8 columns at a time (no per-load address chain); each accumulator
// starts from a load of the bias, issued right after the store of the previous group's pixel (a load, not
// a register copy, since on N1 the FP pipes are the bottleneck), and a pixel is stored as soon as its last
// tap is in. Per output the same FMAs in the same order as the reference: bias, then (ky, kx) ascending.
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__AARCH64EB__)  // ldr q lane order: little-endian
#define MOBILEONE_DW_S2_ASM 1
#define MOBILEONE_DW_ASM_LOAD(t, address) "ldr q" t ", " address "\n"
#define MOBILEONE_DW_ASM_FMA(acc, t, w) "fmla v" acc ".4s, v" t ".4s, v" w ".4s\n"
// After a pixel's last tap: ReLU floor, store, and the next group's bias into its accumulator.
#define MOBILEONE_DW_ASM_FINISH(acc, out) \
  "fmax v" acc ".4s, v" acc ".4s, v9.4s\n" "str q" acc ", " out "\n" "ldr q" acc ", [%[bias]]\n"
#define MOBILEONE_DW_ASM_KEEP(acc, out) ""
// Input columns 2m+1 and 2m+2 of a kernel row: taps kx = 1, 2 of pixel m, kx = 0 of pixel m+1 (`next`).
#define MOBILEONE_DW_ASM_PAIR(t1, a1, step, t2, a2, acc, next, out, w0, w1, w2, done)           \
  MOBILEONE_DW_ASM_LOAD(t1, a1) MOBILEONE_DW_ASM_FMA(acc, t1, w1) step MOBILEONE_DW_ASM_LOAD(t2, a2) \
  MOBILEONE_DW_ASM_FMA(acc, t2, w2) done(acc, out) MOBILEONE_DW_ASM_FMA(next, t2, w0)
#define MOBILEONE_DW_ASM_PAIR_LAST(t1, a1, step, t2, a2, acc, out, w1, w2, done)              \
  MOBILEONE_DW_ASM_LOAD(t1, a1) MOBILEONE_DW_ASM_FMA(acc, t1, w1) step MOBILEONE_DW_ASM_LOAD(t2, a2) \
  MOBILEONE_DW_ASM_FMA(acc, t2, w2) done(acc, out)
#define MOBILEONE_DW_ASM_STEP(r) "add " r ", " r ", x16\n"
// One kernel row (weights v<w0..w2>) over the 33 input columns of a group; `r` ends 32 columns on, at the
// next group's first column.
#define MOBILEONE_DW_ASM_ROW(r, w0, w1, w2, done)                                                                   \
  MOBILEONE_DW_ASM_LOAD("26", "[" r "]") MOBILEONE_DW_ASM_FMA("10", "26", w0)                                      \
  MOBILEONE_DW_ASM_PAIR("27", "[" r ", x9]", "", "28", "[" r ", x10]", "10", "11", "[%[o]]", w0, w1, w2, done)      \
  MOBILEONE_DW_ASM_PAIR("29", "[" r ", x11]", "", "30", "[" r ", x12]", "11", "12", "[%[o], x9]", w0, w1, w2, done) \
  MOBILEONE_DW_ASM_PAIR("31", "[" r ", x13]", "", "26", "[" r ", x14]", "12", "13", "[%[o], x10]", w0, w1, w2, done) \
  MOBILEONE_DW_ASM_PAIR("27", "[" r ", x15]", MOBILEONE_DW_ASM_STEP(r), "28", "[" r "]", "13", "14", "[%[o], x11]",  \
                        w0, w1, w2, done)                                                                          \
  MOBILEONE_DW_ASM_PAIR("29", "[" r ", x9]", "", "30", "[" r ", x10]", "14", "15", "[%[o], x12]", w0, w1, w2, done) \
  MOBILEONE_DW_ASM_PAIR("31", "[" r ", x11]", "", "26", "[" r ", x12]", "15", "16", "[%[o], x13]", w0, w1, w2, done) \
  MOBILEONE_DW_ASM_PAIR("27", "[" r ", x13]", "", "28", "[" r ", x14]", "16", "17", "[%[o], x14]", w0, w1, w2, done) \
  MOBILEONE_DW_ASM_PAIR("29", "[" r ", x15]", MOBILEONE_DW_ASM_STEP(r), "30", "[" r "]", "17", "18", "[%[o], x15]",  \
                        w0, w1, w2, done)                                                                          \
  MOBILEONE_DW_ASM_PAIR("31", "[" r ", x9]", "", "26", "[" r ", x10]", "18", "19", "[x3]", w0, w1, w2, done)        \
  MOBILEONE_DW_ASM_PAIR("27", "[" r ", x11]", "", "28", "[" r ", x12]", "19", "20", "[x3, x9]", w0, w1, w2, done)   \
  MOBILEONE_DW_ASM_PAIR("29", "[" r ", x13]", "", "30", "[" r ", x14]", "20", "21", "[x3, x10]", w0, w1, w2, done)  \
  MOBILEONE_DW_ASM_PAIR("31", "[" r ", x15]", MOBILEONE_DW_ASM_STEP(r), "26", "[" r "]", "21", "22", "[x3, x11]",    \
                        w0, w1, w2, done)                                                                          \
  MOBILEONE_DW_ASM_PAIR("27", "[" r ", x9]", "", "28", "[" r ", x10]", "22", "23", "[x3, x12]", w0, w1, w2, done)   \
  MOBILEONE_DW_ASM_PAIR("29", "[" r ", x11]", "", "30", "[" r ", x12]", "23", "24", "[x3, x13]", w0, w1, w2, done)  \
  MOBILEONE_DW_ASM_PAIR("31", "[" r ", x13]", "", "26", "[" r ", x14]", "24", "25", "[x3, x14]", w0, w1, w2, done)  \
  MOBILEONE_DW_ASM_PAIR_LAST("27", "[" r ", x15]", MOBILEONE_DW_ASM_STEP(r), "28", "[" r "]", "25", "[x3, x15]",     \
                             w1, w2, done)

// r0..r2: the three input rows at the first group's first input column (channel block included); out: its
// first output pixel; weights: the block's tap 0 (taps C apart); bias: the block's bias.
inline void interior16_s2(const float* r0, const float* r1, const float* r2, const float* weights,
                          const float* bias, float* out, std::size_t groups, std::size_t C, float floor) {
  const std::size_t stride = C * sizeof(float);
  std::uint32_t floor_bits;
  std::memcpy(&floor_bits, &floor, sizeof floor_bits);
  __asm__ volatile(
      "mov x9, %[stride]\n"
      "add x10, x9, x9\n" "add x11, x10, x9\n" "add x12, x11, x9\n" "add x13, x12, x9\n"
      "add x14, x13, x9\n" "add x15, x14, x9\n" "add x16, x15, x9\n"
      "ldr q0, [%[w]]\n" "ldr q1, [%[w], x9]\n" "ldr q2, [%[w], x10]\n" "ldr q3, [%[w], x11]\n"
      "ldr q4, [%[w], x12]\n" "ldr q5, [%[w], x13]\n" "ldr q6, [%[w], x14]\n" "ldr q7, [%[w], x15]\n"
      "ldr q8, [%[w], x16]\n"
      "dup v9.4s, %w[floor]\n"
      "ldr q10, [%[bias]]\n" "ldr q11, [%[bias]]\n" "ldr q12, [%[bias]]\n" "ldr q13, [%[bias]]\n"
      "ldr q14, [%[bias]]\n" "ldr q15, [%[bias]]\n" "ldr q16, [%[bias]]\n" "ldr q17, [%[bias]]\n"
      "ldr q18, [%[bias]]\n" "ldr q19, [%[bias]]\n" "ldr q20, [%[bias]]\n" "ldr q21, [%[bias]]\n"
      "ldr q22, [%[bias]]\n" "ldr q23, [%[bias]]\n" "ldr q24, [%[bias]]\n" "ldr q25, [%[bias]]\n"
      MOBILEONE_MCA_ASM_BEGIN("dwconv3x3_s2")
      "1:\n"
      "add x3, %[o], x16\n"  // pixels 8..15
      MOBILEONE_DW_ASM_ROW("%[r0]", "0", "1", "2", MOBILEONE_DW_ASM_KEEP)
      MOBILEONE_DW_ASM_ROW("%[r1]", "3", "4", "5", MOBILEONE_DW_ASM_KEEP)
      MOBILEONE_DW_ASM_ROW("%[r2]", "6", "7", "8", MOBILEONE_DW_ASM_FINISH)
      "add %[o], %[o], x16, lsl #1\n"
      "subs %[n], %[n], #1\n"
      "b.ne 1b\n"
      MOBILEONE_MCA_ASM_END("dwconv3x3_s2")
      : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [o] "+r"(out), [n] "+r"(groups)
      : [w] "r"(weights), [bias] "r"(bias), [stride] "r"(stride), [floor] "r"(floor_bits)
      : "cc", "memory", "x3", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "v0", "v1", "v2", "v3", "v4",
        "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20",
        "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
}
#undef MOBILEONE_DW_ASM_ROW
#undef MOBILEONE_DW_ASM_STEP
#undef MOBILEONE_DW_ASM_PAIR_LAST
#undef MOBILEONE_DW_ASM_PAIR
#undef MOBILEONE_DW_ASM_KEEP
#undef MOBILEONE_DW_ASM_FINISH
#undef MOBILEONE_DW_ASM_FMA
#undef MOBILEONE_DW_ASM_LOAD
#else
#define MOBILEONE_DW_S2_ASM 0
#endif

// One output row, kernel rows [KY0, KY1) inside the image.
template <int S, int KY0, int KY1, CoreKind Cores, class T>
void row(const DepthwiseArgsOf<T>& a, int oy) {
  const std::size_t C = std::size_t(a.channels), W = std::size_t(a.in_width), OW = std::size_t(a.out_width);
  const long iy0 = long(oy) * S - 1;
  const T* r0 = a.input + std::size_t(iy0 + (KY0 <= 0 ? 0 : 1)) * W * C;  // row ky = 0 (clamped when absent)
  const T* r1 = a.input + std::size_t(iy0 + 1) * W * C;
  const T* r2 = a.input + std::size_t(iy0 + (KY1 >= 3 ? 2 : 1)) * W * C;
  T* out_row = a.output + std::size_t(oy) * OW * C;
  // Interior output pixels: every input column ox*S-1 .. ox*S+1 exists. ox = 0 never (column -1).
  const std::size_t int_begin = 1;
  const std::size_t int_end = W >= 2 ? std::min<std::size_t>(OW, (W - 2) / S + 1) : 1;
  const float floor_value = a.relu ? 0.f : -std::numeric_limits<float>::infinity();
  const float32x4_t floor = vdupq_n_f32(floor_value);
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
    acc = vfmaq_f32(acc, load4(r##ky + (px * S + kx - 1) * C + c), w##ky##kx);
#define MOBILEONE_DW_PIXEL(OX, KX0_, KX1_)                                                 \
  {                                                                                        \
    constexpr int KX0 = KX0_, KX1 = KX1_;                                                  \
    const std::size_t px = (OX);                                                           \
    float32x4_t acc = bias;                                                                \
    MOBILEONE_DW_TAP(0, 0) MOBILEONE_DW_TAP(0, 1) MOBILEONE_DW_TAP(0, 2)                   \
    MOBILEONE_DW_TAP(1, 0) MOBILEONE_DW_TAP(1, 1) MOBILEONE_DW_TAP(1, 2)                   \
    MOBILEONE_DW_TAP(2, 0) MOBILEONE_DW_TAP(2, 1) MOBILEONE_DW_TAP(2, 2)                   \
    store4(out_row + px * C + c, vmaxq_f32(acc, floor));                                   \
  }

    // Left border: column -1 is outside (and column 1 too when the image is one pixel wide).
    if (W >= 2)
      MOBILEONE_DW_PIXEL(0, 1, 3)
    else
      MOBILEONE_DW_PIXEL(0, 1, 2)
    std::size_t ox = int_begin;
#if MOBILEONE_DW_S2_ASM
    if constexpr (S == 2 && KY0 == 0 && KY1 == 3 && Cores == CoreKind::out_of_order && std::is_same_v<T, float>) {
      // Groups of 16; a remainder is one more group ending at int_end, which recomputes (bit for bit) up
      // to 15 pixels already written instead of leaving them to the 4-pixel and 1-pixel code below.
      const std::size_t pixels = int_end - int_begin;
      if (pixels >= 16) {
        const std::size_t at = (ox * S - 1) * C + c;
        interior16_s2(r0 + at, r1 + at, r2 + at, wc, a.bias + c, out_row + ox * C + c, pixels / 16, C, floor_value);
        if (pixels % 16 != 0) {
          const std::size_t last = int_end - 16, from = (last * S - 1) * C + c;
          interior16_s2(r0 + from, r1 + from, r2 + from, wc, a.bias + c, out_row + last * C + c, 1, C, floor_value);
        }
        ox = int_end;
      }
    }
#endif
    // Stride 1's interior loop is an llvm-mca region (mca_region.hpp), one per element type, and stride 2's
    // where it is the in-order cores' interior.
#define MOBILEONE_DW_MCA(marker)                                                                   \
  if constexpr (S == 1 && KY0 == 0 && KY1 == 3) {                                                  \
    if constexpr (std::is_same_v<T, float>) marker("dwconv3x3_s1");                                \
    else if constexpr (std::is_same_v<T, fp16>) marker("dwconv3x3_s1_f16");                        \
    else marker("dwconv3x3_s1_bf16");                                                              \
  } else if constexpr (KY0 == 0 && KY1 == 3 && Cores == CoreKind::in_order && std::is_same_v<T, float>) { \
    marker("dwconv3x3_s2_in_order");                                                               \
  }
    MOBILEONE_DW_MCA(MOBILEONE_MCA_BEGIN)
    for (; ox + 4 <= int_end; ox += 4) {
      float32x4_t acc0 = bias, acc1 = bias, acc2 = bias, acc3 = bias;
      const std::size_t at = (ox * S - 1) * C + c;
      // Input columns left to right, each loaded once and used by every output it feeds: per output the
      // taps still come in the reference order (kx ascending within a kernel row).
      if constexpr (S == 1) {
#define MOBILEONE_DW_ROW_S1(ky)          \
  if constexpr (KY0 <= ky && ky < KY1) { \
    const T* p = r##ky + at;             \
    float32x4_t x;                       \
    x = load4(p + 0 * C);                \
    acc0 = vfmaq_f32(acc0, x, w##ky##0); \
    x = load4(p + 1 * C);                \
    acc0 = vfmaq_f32(acc0, x, w##ky##1); \
    acc1 = vfmaq_f32(acc1, x, w##ky##0); \
    x = load4(p + 2 * C);                \
    acc0 = vfmaq_f32(acc0, x, w##ky##2); \
    acc1 = vfmaq_f32(acc1, x, w##ky##1); \
    acc2 = vfmaq_f32(acc2, x, w##ky##0); \
    x = load4(p + 3 * C);                \
    acc1 = vfmaq_f32(acc1, x, w##ky##2); \
    acc2 = vfmaq_f32(acc2, x, w##ky##1); \
    acc3 = vfmaq_f32(acc3, x, w##ky##0); \
    x = load4(p + 4 * C);                \
    acc2 = vfmaq_f32(acc2, x, w##ky##2); \
    acc3 = vfmaq_f32(acc3, x, w##ky##1); \
    x = load4(p + 5 * C);                \
    acc3 = vfmaq_f32(acc3, x, w##ky##2); \
  }
        MOBILEONE_DW_ROW_S1(0) MOBILEONE_DW_ROW_S1(1) MOBILEONE_DW_ROW_S1(2)
#undef MOBILEONE_DW_ROW_S1
      } else {
#define MOBILEONE_DW_ROW_S2(ky)          \
  if constexpr (KY0 <= ky && ky < KY1) { \
    const T* p = r##ky + at;             \
    float32x4_t x;                       \
    x = load4(p);                        \
    acc0 = vfmaq_f32(acc0, x, w##ky##0); \
    x = load4(p = step(p, C));           \
    acc0 = vfmaq_f32(acc0, x, w##ky##1); \
    x = load4(p = step(p, C));           \
    acc0 = vfmaq_f32(acc0, x, w##ky##2); \
    acc1 = vfmaq_f32(acc1, x, w##ky##0); \
    x = load4(p = step(p, C));           \
    acc1 = vfmaq_f32(acc1, x, w##ky##1); \
    x = load4(p = step(p, C));           \
    acc1 = vfmaq_f32(acc1, x, w##ky##2); \
    acc2 = vfmaq_f32(acc2, x, w##ky##0); \
    x = load4(p = step(p, C));           \
    acc2 = vfmaq_f32(acc2, x, w##ky##1); \
    x = load4(p = step(p, C));           \
    acc2 = vfmaq_f32(acc2, x, w##ky##2); \
    acc3 = vfmaq_f32(acc3, x, w##ky##0); \
    x = load4(p = step(p, C));           \
    acc3 = vfmaq_f32(acc3, x, w##ky##1); \
    x = load4(p = step(p, C));           \
    acc3 = vfmaq_f32(acc3, x, w##ky##2); \
  }
        MOBILEONE_DW_ROW_S2(0) MOBILEONE_DW_ROW_S2(1) MOBILEONE_DW_ROW_S2(2)
#undef MOBILEONE_DW_ROW_S2
      }
      T* o = out_row + ox * C + c;
      store4(o, vmaxq_f32(acc0, floor));
      store4(o + C, vmaxq_f32(acc1, floor));
      store4(o + 2 * C, vmaxq_f32(acc2, floor));
      store4(o + 3 * C, vmaxq_f32(acc3, floor));
    }
    MOBILEONE_DW_MCA(MOBILEONE_MCA_END)
#undef MOBILEONE_DW_MCA
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
        const T* r = ky == 0 ? r0 : ky == 1 ? r1 : r2;
        for (int kx = 0; kx < 3; ++kx) {
          const long ix = long(ox) * S - 1 + kx;
          if (ix < 0 || ix >= long(W)) continue;
          acc = std::fma(to_float(r[std::size_t(ix) * C + c]), a.weights[std::size_t(ky * 3 + kx) * C + c], acc);
        }
      }
      out_row[ox * C + c] = from_float<T>(a.relu ? std::max(acc, 0.f) : acc);
    }
}

}  // namespace dw_detail

template <int Stride, CoreKind Cores = CoreKind::out_of_order, class T>
void dwconv3x3(const DepthwiseArgsOf<T>& a, int row_begin, int row_end) {
  static_assert(Stride == 1 || Stride == 2);
  for (int oy = row_begin; oy < row_end; ++oy) {
    const int iy0 = oy * Stride - 1;
    const bool top = iy0 >= 0, bottom = iy0 + 2 < a.in_height;
    if (top && bottom)
      dw_detail::row<Stride, 0, 3, Cores>(a, oy);
    else if (bottom)
      dw_detail::row<Stride, 1, 3, Cores>(a, oy);
    else if (top)
      dw_detail::row<Stride, 0, 2, Cores>(a, oy);
    else
      dw_detail::row<Stride, 1, 2, Cores>(a, oy);
  }
}

}  // namespace mobileone::kernels::neon

#undef MOBILEONE_DW_S2_ASM

#endif  // __aarch64__
