// Pointwise 1x1 convolution on fp16 activations and weights, AArch64 FEAT_FP16 (FMLA .8h): the register-tiled
// GEMM of the neon_fp16 kernel set; the blocking around it is gemm_blocking.hpp's half_pointwise_gemm.
// Included by isa_neon_half.hpp inside kernels::neon_fp16 (which holds HalfTuning); functions carry
// MOBILEONE_TARGET_NEON_FP16 and run only after the HWCAP check (cpu_has_fp16_arithmetic, isa.hpp).
//
// Accumulation, all in fp16 but for square layers' epilogue: FMLA chains within blocks of kBlock = 32 input
// channels, each block's sums added (FADD .8h) into a second fp16 sum per output, then the bias rounded to
// fp16 added, ReLU, store. A square layer's diagonal (kernel_args.hpp: the folded identity, ~1) is added in
// float32 instead: the fp16 sum widened, + float32 bias + diagonal * input, ReLU, one rounding to fp16.
// Why, measured on the real S0 (max |logit - fp32 logit| / max |fp32 logit|, apple / chelsea reference
// tensors, a scalar model of each scheme's roundings; the kernels' own figures are in kernels/README.md):
//   float32 sums (the scalar reference)                         1.8e-3 / 1.9e-3
//   fp16 sums over all of K (XNNPACK's and ncnn's choice)        9.3e-3 / 6.5e-3
//   fp16 blocks of 32 widened into float32 sums                  3.4e-3 / 2.2e-3
//   fp16 blocks of 32 summed in fp16 (this file)                 2.9e-3 / 2.2e-3   (blocks of 64: 4.3e-3)
//   the same with the diagonal as an fp16 hi + lo pair           5.6e-3 / 2.5e-3
// An fp16 chain over all of K rounds every step at the size of the running sum (up to 1024 channels), which
// the trained net amplifies; a block's chain stays short and small, and the block sums are few. Keeping
// the block sums in fp16 costs 16 FADDs per block (2% of its FMLAs); widening them into float32 would cost
// 32 FCVTLs, which issue on one pipe at half rate on Neoverse N1/N2 (the Cortex-A76..A78/A710 class).
// llvm-mca-19, a whole block (4 iterations of the loop below, zeroing, flush) against its FMLA loop alone:
// 91% on Neoverse N1 and N2, 93% on V1, 79% on Cortex-A55 with fp16 block sums; 76%, 80%, 77%, 70% with the
// float32 ones (a 64-channel block would give 86-89% widened, 4.2e-3 on apple).
//
// Microkernel: 8 pixel rows x one 16-channel panel, in inline assembly (see pwconv1x1_neon.hpp for why
// assembly). v16-v31 = 16 accumulators of 8 fp16 (row r: v(16+2r) channels 0-7, v(17+2r) channels 8-15),
// v0-v7 = 8 consecutive input channels of each row, consumed by lane (`fmla vC.8h, vB.8h, vA.h[j]`, whose
// by-element operand must be one of v0-v15), v8-v11 = the panel row of two input channels (one ldp each),
// v12-v13 the block flush's temporaries. Why 8 rows: 16 independent FMA chains cover a 4-cycle FMLA
// latency at 4 per cycle (Neoverse V1 and later), 8 more than the 2-per-cycle cores need; 8 FMLAs per
// loaded vector. Per 8 input channels: 128 FMLAs (1024 multiply-adds, twice the fp32 tile's per
// instruction) against 8 A and 8 ldp B loads. The fp16 block sums live in a 256-byte stack tile (L1); the
// epilogue (bias, diagonal, ReLU, store) is intrinsics, shared with the 1..7-row tiles, which compute every
// output with the same instructions in the same order (so row tiling and thread splits never change a bit).
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "gemm_blocking.hpp"
#include "half_neon.hpp"
#include "kernel_args.hpp"
#include "mca_region.hpp"
#include "simd_target.hpp"

namespace mobileone::kernels::neon_fp16 {

namespace pw_detail {

inline constexpr int kMR = 8;  // pixel rows per microkernel tile
// Input channels per fp16 block (a multiple of 8: whole A vectors); the K tail (< 8) joins the last block.
inline constexpr int kBlock = 32;

MOBILEONE_TARGET_NEON_FP16 MOBILEONE_SIMD_INLINE float16x8_t load8(const fp16* p) {
  return vreinterpretq_f16_u16(vld1q_u16(neon::half_bits(p)));
}

// Rows [0, rows) of the fp16 sums `sums` [rows][16] (the blocks' sums): + bias, + diagonal, ReLU, store.
MOBILEONE_TARGET_NEON_FP16 inline void finish(const HalfGemmTileArgs<fp16>& t, const float16_t* sums, int rows) {
  if (!t.diagonal) {  // fp16: the bias rounded once, one FADD
    const float16x8_t b0 = vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(t.bias)), vld1q_f32(t.bias + 4));
    const float16x8_t b1 = vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(t.bias + 8)), vld1q_f32(t.bias + 12));
    const float16x8_t zero = vdupq_n_f16(0);
    for (int r = 0; r < rows; ++r) {
      float16x8_t v0 = vaddq_f16(vld1q_f16(sums + r * kPanelWidth), b0);
      float16x8_t v1 = vaddq_f16(vld1q_f16(sums + r * kPanelWidth + 8), b1);
      if (t.relu) v0 = vmaxq_f16(v0, zero), v1 = vmaxq_f16(v1, zero);
      fp16* o = t.c + std::size_t(r) * t.c_row_stride;
      vst1q_u16(neon::half_bits(o), vreinterpretq_u16_f16(v0));
      vst1q_u16(neon::half_bits(o + 8), vreinterpretq_u16_f16(v1));
    }
    return;
  }
  const float32x4_t zero = vdupq_n_f32(0.f);
  for (int r = 0; r < rows; ++r) {  // float32: sum + bias + diagonal * input; only columns [0, n_valid) exist
    const float16x8_t s0 = vld1q_f16(sums + r * kPanelWidth), s1 = vld1q_f16(sums + r * kPanelWidth + 8);
    float32x4_t v[4] = {vcvt_f32_f16(vget_low_f16(s0)), vcvt_high_f32_f16(s0), vcvt_f32_f16(vget_low_f16(s1)),
                        vcvt_high_f32_f16(s1)};
    const fp16* x = t.a_diagonal + std::size_t(r) * t.a_row_stride;
    fp16 lanes[kPanelWidth] = {};
    if (t.n_valid < kPanelWidth) x = static_cast<const fp16*>(std::memcpy(lanes, x, std::size_t(t.n_valid) * sizeof(fp16)));
    for (int q = 0; q < 4; ++q)
      v[q] = vfmaq_f32(vaddq_f32(v[q], vld1q_f32(t.bias + 4 * q)), vld1q_f32(t.diagonal + 4 * q), neon::load4(x + 4 * q));
    if (t.relu)
      for (int q = 0; q < 4; ++q) v[q] = vmaxq_f32(v[q], zero);
    fp16* o = t.c + std::size_t(r) * t.c_row_stride;
    vst1q_u16(neon::half_bits(o), vreinterpretq_u16_f16(vcvt_high_f16_f32(vcvt_f16_f32(v[0]), v[1])));
    vst1q_u16(neon::half_bits(o + 8), vreinterpretq_u16_f16(vcvt_high_f16_f32(vcvt_f16_f32(v[2]), v[3])));
  }
}

// Rows 1..7: intrinsics, the same FMLAs and flushes as the 8-row tile, one named accumulator per vector
// (rows past MR read row 0 and compute nothing).
template <int MR>
MOBILEONE_TARGET_NEON_FP16 void tile_small(const HalfGemmTileArgs<fp16>& t) {
  static_assert(MR >= 1 && MR < kMR);
  alignas(64) float16_t sums[MR * kPanelWidth] = {};
  const std::size_t rs = t.a_row_stride;
#define MOBILEONE_PW16_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6)
#define MOBILEONE_PW16_ROW(r) \
  const fp16* a##r = t.a + (MR > r ? r : 0) * rs; \
  float16x8_t c##r##0, c##r##1;
  MOBILEONE_PW16_ROWS(MOBILEONE_PW16_ROW)
#undef MOBILEONE_PW16_ROW
  const fp16* w = t.w;
  const int k = t.k, k8 = k / 8 * 8;
#define MOBILEONE_PW16_ZERO(r) \
  if constexpr (MR > r) c##r##0 = c##r##1 = vdupq_n_f16(0);
#define MOBILEONE_PW16_LOAD(r) const float16x8_t x##r = load8(a##r + k0);
#define MOBILEONE_PW16_LOAD1(r) const float16x8_t x##r = vld1q_dup_f16(reinterpret_cast<const float16_t*>(a##r + k0));
#define MOBILEONE_PW16_FMA(r, j)                        \
  if constexpr (MR > r) {                               \
    c##r##0 = vfmaq_laneq_f16(c##r##0, b0, x##r, j);    \
    c##r##1 = vfmaq_laneq_f16(c##r##1, b1, x##r, j);    \
  }
  // One input channel: its panel row b0 (output channels 0-7), b1 (8-15) times lane j of every row's x.
#define MOBILEONE_PW16_CHANNEL(j)                                                            \
  {                                                                                          \
    const float16x8_t b0 = load8(w), b1 = load8(w + 8);                                      \
    w += kPanelWidth;                                                                        \
    MOBILEONE_PW16_FMA(0, j) MOBILEONE_PW16_FMA(1, j) MOBILEONE_PW16_FMA(2, j) MOBILEONE_PW16_FMA(3, j) \
    MOBILEONE_PW16_FMA(4, j) MOBILEONE_PW16_FMA(5, j) MOBILEONE_PW16_FMA(6, j)                \
  }
#define MOBILEONE_PW16_FLUSH(r)                                          \
  if constexpr (MR > r) {                                                \
    float16_t* s = sums + r * kPanelWidth;                               \
    vst1q_f16(s, vaddq_f16(vld1q_f16(s), c##r##0));                      \
    vst1q_f16(s + 8, vaddq_f16(vld1q_f16(s + 8), c##r##1));              \
  }
  for (int block = 0;; block += kBlock) {
    // Channels [block, end): whole groups of 8, and in the last block the K tail (as the 8-row tile).
    const int groups_end = std::min(k8, block + kBlock);
    const int end = groups_end == k8 ? k : groups_end;
    MOBILEONE_PW16_ROWS(MOBILEONE_PW16_ZERO)
    int k0 = block;
    for (; k0 < groups_end; k0 += 8) {
      MOBILEONE_PW16_ROWS(MOBILEONE_PW16_LOAD)
      MOBILEONE_PW16_CHANNEL(0) MOBILEONE_PW16_CHANNEL(1) MOBILEONE_PW16_CHANNEL(2) MOBILEONE_PW16_CHANNEL(3)
      MOBILEONE_PW16_CHANNEL(4) MOBILEONE_PW16_CHANNEL(5) MOBILEONE_PW16_CHANNEL(6) MOBILEONE_PW16_CHANNEL(7)
    }
    for (; k0 < end; ++k0) {  // the K tail, one channel at a time
      MOBILEONE_PW16_ROWS(MOBILEONE_PW16_LOAD1)
      MOBILEONE_PW16_CHANNEL(0)
    }
    MOBILEONE_PW16_ROWS(MOBILEONE_PW16_FLUSH)
    if (end == k) break;
  }
#undef MOBILEONE_PW16_FLUSH
#undef MOBILEONE_PW16_CHANNEL
#undef MOBILEONE_PW16_FMA
#undef MOBILEONE_PW16_LOAD1
#undef MOBILEONE_PW16_LOAD
#undef MOBILEONE_PW16_ZERO
#undef MOBILEONE_PW16_ROWS
  finish(t, sums, MR);
}

// One input channel (lane `lane` of v0..v7) against its panel row in v<b0>, v<b1>: 16 FMLAs, a column of 8
// rows per weight vector; `load` (the next channel's ldp, or nothing) is issued under the first column.
// Weights load at immediate offsets from %[w], one add per 8 channels (a chain of post-indexed loads halves
// the rate in llvm-mca's Neoverse N2 model, as pwconv1x1_neon.hpp says).
#define MOBILEONE_PW16_ASM_LDP(b0, b1, offset) "ldp q" b0 ", q" b1 ", [%[w], #" offset "]\n"
#define MOBILEONE_PW16_ASM_CHANNEL(b0, b1, lane, load)                                                              \
  "fmla v16.8h, v" b0 ".8h, v0.h[" lane "]\n" load                                                                 \
  "fmla v18.8h, v" b0 ".8h, v1.h[" lane "]\n" "fmla v20.8h, v" b0 ".8h, v2.h[" lane "]\n"                          \
  "fmla v22.8h, v" b0 ".8h, v3.h[" lane "]\n" "fmla v24.8h, v" b0 ".8h, v4.h[" lane "]\n"                          \
  "fmla v26.8h, v" b0 ".8h, v5.h[" lane "]\n" "fmla v28.8h, v" b0 ".8h, v6.h[" lane "]\n"                          \
  "fmla v30.8h, v" b0 ".8h, v7.h[" lane "]\n"                                                                      \
  "fmla v17.8h, v" b1 ".8h, v0.h[" lane "]\n" "fmla v19.8h, v" b1 ".8h, v1.h[" lane "]\n"                          \
  "fmla v21.8h, v" b1 ".8h, v2.h[" lane "]\n" "fmla v23.8h, v" b1 ".8h, v3.h[" lane "]\n"                          \
  "fmla v25.8h, v" b1 ".8h, v4.h[" lane "]\n" "fmla v27.8h, v" b1 ".8h, v5.h[" lane "]\n"                          \
  "fmla v29.8h, v" b1 ".8h, v6.h[" lane "]\n" "fmla v31.8h, v" b1 ".8h, v7.h[" lane "]\n"
// Adds row r's accumulators v<c0>, v<c1> to its fp16 block sums at [%[sums], #off] (off = 32 r).
#define MOBILEONE_PW16_ASM_FLUSH(c0, c1, off)                                          \
  "ldp q12, q13, [%[sums], #" off "]\n"                                                \
  "fadd v12.8h, v12.8h, v" c0 ".8h\n" "fadd v13.8h, v13.8h, v" c1 ".8h\n"              \
  "stp q12, q13, [%[sums], #" off "]\n"

// Eight rows: the main microkernel (register map at the top of the file).
MOBILEONE_TARGET_NEON_FP16 inline void tile8(const HalfGemmTileArgs<fp16>& t) {
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__AARCH64EB__)  // ldr q / ld1 lane order: little-endian
  alignas(64) float16_t sums[kMR * kPanelWidth] = {};
  const std::size_t rs = t.a_row_stride;
  const fp16* a0 = t.a;
  const fp16* a1 = t.a + rs;
  const fp16* a2 = t.a + 2 * rs;
  const fp16* a3 = t.a + 3 * rs;
  const fp16* a4 = t.a + 4 * rs;
  const fp16* a5 = t.a + 5 * rs;
  const fp16* a6 = t.a + 6 * rs;
  const fp16* a7 = t.a + 7 * rs;
  const fp16* w = t.w;
  std::size_t groups = std::size_t(t.k) / 8, tail = std::size_t(t.k) % 8, count = 0;
  const std::size_t block_groups = kBlock / 8;
  float16_t* s = sums;
  __asm__ volatile(
      "1:\n"  // a block: zero the fp16 sums, run min(groups, block_groups) groups of 8 channels
      "movi v16.8h, #0\n" "movi v17.8h, #0\n" "movi v18.8h, #0\n" "movi v19.8h, #0\n"
      "movi v20.8h, #0\n" "movi v21.8h, #0\n" "movi v22.8h, #0\n" "movi v23.8h, #0\n"
      "movi v24.8h, #0\n" "movi v25.8h, #0\n" "movi v26.8h, #0\n" "movi v27.8h, #0\n"
      "movi v28.8h, #0\n" "movi v29.8h, #0\n" "movi v30.8h, #0\n" "movi v31.8h, #0\n"
      "cmp %[groups], %[block_groups]\n"
      "csel %[count], %[groups], %[block_groups], lo\n"
      "sub %[groups], %[groups], %[count]\n"
      "cbz %[count], 3f\n"
      MOBILEONE_MCA_ASM_BEGIN("pwconv1x1_f16_8x16")
      "2:\n"
      "ldr q0, [%[a0]], #16\n" "ldr q1, [%[a1]], #16\n" "ldr q2, [%[a2]], #16\n" "ldr q3, [%[a3]], #16\n"
      "ldr q4, [%[a4]], #16\n" "ldr q5, [%[a5]], #16\n" "ldr q6, [%[a6]], #16\n" "ldr q7, [%[a7]], #16\n"
      MOBILEONE_PW16_ASM_LDP("8", "9", "0")
      MOBILEONE_PW16_ASM_CHANNEL("8", "9", "0", MOBILEONE_PW16_ASM_LDP("10", "11", "32"))
      MOBILEONE_PW16_ASM_CHANNEL("10", "11", "1", MOBILEONE_PW16_ASM_LDP("8", "9", "64"))
      MOBILEONE_PW16_ASM_CHANNEL("8", "9", "2", MOBILEONE_PW16_ASM_LDP("10", "11", "96"))
      MOBILEONE_PW16_ASM_CHANNEL("10", "11", "3", MOBILEONE_PW16_ASM_LDP("8", "9", "128"))
      MOBILEONE_PW16_ASM_CHANNEL("8", "9", "4", MOBILEONE_PW16_ASM_LDP("10", "11", "160"))
      MOBILEONE_PW16_ASM_CHANNEL("10", "11", "5", MOBILEONE_PW16_ASM_LDP("8", "9", "192"))
      MOBILEONE_PW16_ASM_CHANNEL("8", "9", "6", MOBILEONE_PW16_ASM_LDP("10", "11", "224"))
      MOBILEONE_PW16_ASM_CHANNEL("10", "11", "7", "")
      "add %[w], %[w], #256\n"
      "subs %[count], %[count], #1\n"
      "b.ne 2b\n"
      MOBILEONE_MCA_ASM_END("pwconv1x1_f16_8x16")
      "3:\n"  // the K tail (< 8 channels) joins the last block
      "cbnz %[groups], 5f\n"
      "cbz %[tail], 5f\n"
      "4:\n"
      "ldr h0, [%[a0]], #2\n" "ldr h1, [%[a1]], #2\n" "ldr h2, [%[a2]], #2\n" "ldr h3, [%[a3]], #2\n"
      "ldr h4, [%[a4]], #2\n" "ldr h5, [%[a5]], #2\n" "ldr h6, [%[a6]], #2\n" "ldr h7, [%[a7]], #2\n"
      MOBILEONE_PW16_ASM_LDP("8", "9", "0")
      MOBILEONE_PW16_ASM_CHANNEL("8", "9", "0", "")
      "add %[w], %[w], #32\n"
      "subs %[tail], %[tail], #1\n"
      "b.ne 4b\n"
      "5:\n"  // the block's sums into the fp16 block sums
      MOBILEONE_PW16_ASM_FLUSH("16", "17", "0") MOBILEONE_PW16_ASM_FLUSH("18", "19", "32")
      MOBILEONE_PW16_ASM_FLUSH("20", "21", "64") MOBILEONE_PW16_ASM_FLUSH("22", "23", "96")
      MOBILEONE_PW16_ASM_FLUSH("24", "25", "128") MOBILEONE_PW16_ASM_FLUSH("26", "27", "160")
      MOBILEONE_PW16_ASM_FLUSH("28", "29", "192") MOBILEONE_PW16_ASM_FLUSH("30", "31", "224")
      "cbnz %[groups], 1b\n"
      : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4), [a5] "+r"(a5), [a6] "+r"(a6),
        [a7] "+r"(a7), [w] "+r"(w), [groups] "+r"(groups), [tail] "+r"(tail), [count] "+r"(count)
      : [block_groups] "r"(block_groups), [sums] "r"(s)
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v16",
        "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
  finish(t, sums, kMR);
#else
  // Other compilers (and big-endian AArch64): seven rows, then one (identical results).
  HalfGemmTileArgs<fp16> rest = t;
  tile_small<7>(t);
  rest.a = t.a + 7 * t.a_row_stride;
  rest.a_diagonal = t.a_diagonal + 7 * t.a_row_stride;
  rest.c = t.c + 7 * t.c_row_stride;
  tile_small<1>(rest);
#endif
}
#undef MOBILEONE_PW16_ASM_FLUSH
#undef MOBILEONE_PW16_ASM_CHANNEL
#undef MOBILEONE_PW16_ASM_LDP

}  // namespace pw_detail

// This set's fp16 tiles for half_pointwise_gemm(): 8 x 16, one panel, whole-panel stores (the driver routes
// the out-channel tail panel through a 16-wide scratch tile).
struct HalfGemmTiles {
  static constexpr int kRows = pw_detail::kMR, kPanels = 1;
  static constexpr int kGroup = 1;  // FMLA by element: one input channel per step
  // A block of about 48 KiB of fp16 A, at least 64 rows (8 tiles): a 7x7 map is one block, its weights
  // (1024 x 16 x 2 bytes = 32 KiB a panel) streamed once per task, as the fp32 set does.
  static constexpr std::size_t kBlockBytes = 48 * 1024;
  static constexpr std::size_t kMinBlockRows = 64;
  static constexpr std::size_t kMaxResidentWeightBytes = ~std::size_t(0);
  static constexpr bool kPartialPanels = false;
  static void run(int rows, int, const HalfGemmTileArgs<fp16>& t) {
    switch (rows) {
      case 8: return pw_detail::tile8(t);
      case 7: return pw_detail::tile_small<7>(t);
      case 6: return pw_detail::tile_small<6>(t);
      case 5: return pw_detail::tile_small<5>(t);
      case 4: return pw_detail::tile_small<4>(t);
      case 3: return pw_detail::tile_small<3>(t);
      case 2: return pw_detail::tile_small<2>(t);
      default: return pw_detail::tile_small<1>(t);
    }
  }
};

// Pixels [pixel_begin, pixel_end) x panels [panel_begin, panel_end).
MOBILEONE_TARGET_NEON_FP16 inline void pwconv1x1(const PointwiseArgsOf<fp16>& a, std::size_t pixel_begin,
                                                 std::size_t pixel_end, std::size_t panel_begin, std::size_t panel_end) {
  half_pointwise_gemm<HalfGemmTiles>(a, pixel_begin, pixel_end, panel_begin, panel_end);
}

}  // namespace mobileone::kernels::neon_fp16

#endif  // __aarch64__
