// Pointwise 1x1 convolution on bf16 activations and weights with float32 sums, AArch64 FEAT_BF16 (BFDOT): the
// register-tiled GEMM of the neon_bf16 kernel set; the blocking around it is gemm_blocking.hpp's
// half_pointwise_gemm. Included by isa_neon_half.hpp inside kernels::neon_bf16; functions carry
// MOBILEONE_TARGET_NEON_BF16 and run only after the HWCAP check (cpu_has_arm_bf16, isa.hpp).
//
// Accumulation is float32 throughout (BFDOT: the two products of a pair are added to float32 sums), so the
// K loop keeps bf16's error at the roundings of its inputs (1.5e-2 of the real S0's logit range, the scalar
// reference's figure); bias, the square layers' diagonal (kernel_args.hpp) and ReLU in float32, then one
// rounding to bf16 (BFCVTN). BFDOT itself rounds to odd and flushes subnormals (FEAT_EBF16's FPCR.EBF off),
// a float32 ulp's difference from the reference's k-ordered sums, far below bf16's rounding.
//
// Microkernel: 6 pixel rows x one 16-channel panel, in inline assembly, the fp32 tile's shape (see
// pwconv1x1_neon.hpp): v8-v31 = 24 float32x4 accumulators (row r: v(8+4r)..v(11+4r)), v0-v5 = 8 consecutive
// input channels (4 pairs) of each row, consumed by lane (`bfdot vC.4s, vB.8h, vA.2h[j]`), v6/v7 = the
// panel's 4 x 2 weights of one pair, four vectors per pair streamed through two registers. The packing's
// group of 2 (pack.hpp) is BFDOT's pair: per 8 input channels, 96 BFDOTs (768 multiply-adds, twice the fp32
// tile's per instruction) against 6 A and 16 B loads.
// Why not BFMMLA: llvm-mca-19's Neoverse V1/N2 models issue it at BFDOT's rate for twice the multiply-adds,
// but its operands are 2 x 4 blocks (4 consecutive input channels per output column and per pixel row), so
// on the pair packing shared with the other bf16 sets a 6 x 16 BFMMLA tile needs a ZIP1/ZIP2 per two weight
// vectors and lane loads pairing the A rows; written out (24 BFMMLAs, 8 ZIPs, 8 + 6 loads per 4 channels)
// the models rate it at 44 cycles per 8 input channels on V1 and 56 on N2, against this tile's 24 and 48.
// The tail tiles (1..5 rows, intrinsics) and the epilogue (diagonal, ReLU, BFCVTN, store; from the sums in a
// stack tile) are shared with it, the same instructions in the same order.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gemm_blocking.hpp"
#include "half_neon.hpp"
#include "kernel_args.hpp"
#include "mca_region.hpp"
#include "simd_target.hpp"

namespace mobileone::kernels::neon_bf16 {

namespace pw_detail {

inline constexpr int kMR = 6;  // pixel rows per microkernel tile

MOBILEONE_TARGET_NEON_BF16 MOBILEONE_SIMD_INLINE bfloat16x8_t load8(const bf16* p) {
  return vreinterpretq_bf16_u16(vld1q_u16(neon::half_bits(p)));
}

// Rows [0, rows) of the float32 sums `sums` [rows][16] (bias + K): + diagonal, ReLU, to bf16.
MOBILEONE_TARGET_NEON_BF16 inline void finish(const HalfGemmTileArgs<bf16>& t, const float* sums, int rows) {
  const float32x4_t zero = vdupq_n_f32(0.f);
  for (int r = 0; r < rows; ++r) {
    const float* s = sums + r * kPanelWidth;
    float32x4_t v[4] = {vld1q_f32(s), vld1q_f32(s + 4), vld1q_f32(s + 8), vld1q_f32(s + 12)};
    if (t.diagonal) {  // float32; only the input columns [0, n_valid) exist
      const bf16* x = t.a_diagonal + std::size_t(r) * t.a_row_stride;
      bf16 lanes[kPanelWidth] = {};
      if (t.n_valid < kPanelWidth) x = static_cast<const bf16*>(std::memcpy(lanes, x, std::size_t(t.n_valid) * sizeof(bf16)));
      for (int q = 0; q < 4; ++q) v[q] = vfmaq_f32(v[q], vld1q_f32(t.diagonal + 4 * q), neon::load4(x + 4 * q));
    }
    if (t.relu)
      for (int q = 0; q < 4; ++q) v[q] = vmaxq_f32(v[q], zero);
    bf16* o = t.c + std::size_t(r) * t.c_row_stride;
    vst1q_u16(neon::half_bits(o), vreinterpretq_u16_bf16(vcvtq_high_bf16_f32(vcvtq_low_bf16_f32(v[0]), v[1])));
    vst1q_u16(neon::half_bits(o + 8), vreinterpretq_u16_bf16(vcvtq_high_bf16_f32(vcvtq_low_bf16_f32(v[2]), v[3])));
  }
}

// Rows 1..5: intrinsics, the same BFDOTs in the same order as the 6-row tile, one named accumulator per
// vector (rows past MR read row 0 and compute nothing).
template <int MR>
MOBILEONE_TARGET_NEON_BF16 void tile_small(const HalfGemmTileArgs<bf16>& t) {
  static_assert(MR >= 1 && MR < kMR);
  const std::size_t rs = t.a_row_stride;
#define MOBILEONE_PWBF_ROWS(X) X(0) X(1) X(2) X(3) X(4)
#define MOBILEONE_PWBF_ROW(r)                                                                 \
  const bf16* a##r = t.a + (MR > r ? r : 0) * rs;                                             \
  float32x4_t c##r##0 = vld1q_f32(t.bias), c##r##1 = vld1q_f32(t.bias + 4), c##r##2 = vld1q_f32(t.bias + 8), \
              c##r##3 = vld1q_f32(t.bias + 12);
  MOBILEONE_PWBF_ROWS(MOBILEONE_PWBF_ROW)
#undef MOBILEONE_PWBF_ROW
  const bf16* w = t.w;
  const int k = t.k;
#define MOBILEONE_PWBF_DOT(r, q, j) \
  if constexpr (MR > r) c##r##q = vbfdotq_laneq_f32(c##r##q, b, x##r, j);
  // One pair of input channels: the panel's four weight vectors times lane j (a pair) of every row's x.
#define MOBILEONE_PWBF_STEP(q, j)                                                                    \
  {                                                                                                  \
    const bfloat16x8_t b = load8(w + 8 * q);                                                         \
    MOBILEONE_PWBF_DOT(0, q, j) MOBILEONE_PWBF_DOT(1, q, j) MOBILEONE_PWBF_DOT(2, q, j)             \
    MOBILEONE_PWBF_DOT(3, q, j) MOBILEONE_PWBF_DOT(4, q, j)                                         \
  }
#define MOBILEONE_PWBF_PAIR(j)                                                                       \
  MOBILEONE_PWBF_STEP(0, j) MOBILEONE_PWBF_STEP(1, j) MOBILEONE_PWBF_STEP(2, j) MOBILEONE_PWBF_STEP(3, j) \
  w += 2 * kPanelWidth;
#define MOBILEONE_PWBF_LOAD(r) const bfloat16x8_t x##r = load8(a##r + k0);
  // A pair alone in lane 0 (the tail), or the last channel of an odd K with a zero beside it: the element
  // after a row is never read (its weight is the packing's zero, but the element may be a NaN).
#define MOBILEONE_PWBF_LOAD_PAIR(r)                                                           \
  std::uint32_t p##r;                                                                         \
  std::memcpy(&p##r, a##r + k0, sizeof p##r);                                                 \
  const bfloat16x8_t x##r = vreinterpretq_bf16_u32(vdupq_n_u32(p##r));
#define MOBILEONE_PWBF_LOAD_ONE(r) \
  const bfloat16x8_t x##r = vreinterpretq_bf16_u32(vdupq_n_u32(std::uint32_t((a##r + k0)->bits)));
  int k0 = 0;
  for (; k0 + 8 <= k; k0 += 8) {
    MOBILEONE_PWBF_ROWS(MOBILEONE_PWBF_LOAD)
    MOBILEONE_PWBF_PAIR(0) MOBILEONE_PWBF_PAIR(1) MOBILEONE_PWBF_PAIR(2) MOBILEONE_PWBF_PAIR(3)
  }
  for (; k0 + 2 <= k; k0 += 2) {
    MOBILEONE_PWBF_ROWS(MOBILEONE_PWBF_LOAD_PAIR)
    MOBILEONE_PWBF_PAIR(0)
  }
  if (k0 < k) {
    MOBILEONE_PWBF_ROWS(MOBILEONE_PWBF_LOAD_ONE)
    MOBILEONE_PWBF_PAIR(0)
  }
#undef MOBILEONE_PWBF_LOAD_ONE
#undef MOBILEONE_PWBF_LOAD_PAIR
#undef MOBILEONE_PWBF_LOAD
#undef MOBILEONE_PWBF_PAIR
#undef MOBILEONE_PWBF_STEP
#undef MOBILEONE_PWBF_DOT
  alignas(64) float sums[MR * kPanelWidth];
#define MOBILEONE_PWBF_STORE(r)                         \
  if constexpr (MR > r) {                               \
    float* s = sums + r * kPanelWidth;                  \
    vst1q_f32(s, c##r##0);                              \
    vst1q_f32(s + 4, c##r##1);                          \
    vst1q_f32(s + 8, c##r##2);                          \
    vst1q_f32(s + 12, c##r##3);                         \
  }
  MOBILEONE_PWBF_ROWS(MOBILEONE_PWBF_STORE)
#undef MOBILEONE_PWBF_STORE
#undef MOBILEONE_PWBF_ROWS
  finish(t, sums, MR);
}

// One pair of K on lane `lane` of v0..v5 (rows) against the panel's 16 x 2 weights in four vectors through
// v6/v7 (loaded alternately, each behind a column of 6 BFDOTs); `first`, `next` and the byte offsets o1..o3
// of the other three vectors as in pwconv1x1_neon.hpp: weights load at immediate offsets from %[w], one add
// per iteration (a chain of post-indexed loads halves the rate in llvm-mca's Neoverse N2 model).
#define MOBILEONE_PWBF_ASM_LOAD_W(reg, offset) "ldr q" reg ", [%[w], #" offset "]\n"
#define MOBILEONE_PWBF_ASM_COLUMN(c0, c1, c2, c3, c4, c5, w, lane, load) \
  "bfdot v" c0 ".4s, v" w ".8h, v0.2h[" lane "]\n" load              \
  "bfdot v" c1 ".4s, v" w ".8h, v1.2h[" lane "]\n"                   \
  "bfdot v" c2 ".4s, v" w ".8h, v2.2h[" lane "]\n"                   \
  "bfdot v" c3 ".4s, v" w ".8h, v3.2h[" lane "]\n"                   \
  "bfdot v" c4 ".4s, v" w ".8h, v4.2h[" lane "]\n"                   \
  "bfdot v" c5 ".4s, v" w ".8h, v5.2h[" lane "]\n"
#define MOBILEONE_PWBF_ASM_STEP(lane, o1, o2, o3, first, next)                                                 \
  first                                                                                                     \
  MOBILEONE_PWBF_ASM_COLUMN("8", "12", "16", "20", "24", "28", "6", lane, MOBILEONE_PWBF_ASM_LOAD_W("7", o1))  \
  MOBILEONE_PWBF_ASM_COLUMN("9", "13", "17", "21", "25", "29", "7", lane, MOBILEONE_PWBF_ASM_LOAD_W("6", o2))  \
  MOBILEONE_PWBF_ASM_COLUMN("10", "14", "18", "22", "26", "30", "6", lane, MOBILEONE_PWBF_ASM_LOAD_W("7", o3)) \
  MOBILEONE_PWBF_ASM_COLUMN("11", "15", "19", "23", "27", "31", "7", lane, next)
// The rows' next element(s) of A into v0..v5 (`ldr q`: 8 channels, `ldr s`: a pair, `ldr h`: one channel with
// zeros beside it; the post-increment is its size).
#define MOBILEONE_PWBF_ASM_LOAD_A(r, size)                                                            \
  "ldr " r "0, [%[a0]], #" size "\n" "ldr " r "1, [%[a1]], #" size "\n" "ldr " r "2, [%[a2]], #" size "\n" \
  "ldr " r "3, [%[a3]], #" size "\n" "ldr " r "4, [%[a4]], #" size "\n" "ldr " r "5, [%[a5]], #" size "\n"

// Six rows: the main microkernel (register map at the top of the file).
MOBILEONE_TARGET_NEON_BF16 inline void tile6(const HalfGemmTileArgs<bf16>& t) {
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__AARCH64EB__)  // ldr q / ld1 lane order: little-endian
  const std::size_t rs = t.a_row_stride;
  const bf16* a0 = t.a;
  const bf16* a1 = t.a + rs;
  const bf16* a2 = t.a + 2 * rs;
  const bf16* a3 = t.a + 3 * rs;
  const bf16* a4 = t.a + 4 * rs;
  const bf16* a5 = t.a + 5 * rs;
  const bf16* w = t.w;
  std::size_t groups = std::size_t(t.k) / 8, pairs = std::size_t(t.k) % 8 / 2, odd = std::size_t(t.k) % 2;
  alignas(64) float sums[kMR * kPanelWidth];
  float* s = sums;
  const float* bias = t.bias;
  __asm__ volatile(
      // Every row's sums start from the bias (loads, not register copies: the FP pipes are the bottleneck).
      "ld1 {v8.4s, v9.4s, v10.4s, v11.4s}, [%[bias]]\n"
      "ld1 {v12.4s, v13.4s, v14.4s, v15.4s}, [%[bias]]\n"
      "ld1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[bias]]\n"
      "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[bias]]\n"
      "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[bias]]\n"
      "ld1 {v28.4s, v29.4s, v30.4s, v31.4s}, [%[bias]]\n"
      "cbz %[groups], 2f\n"
      MOBILEONE_MCA_ASM_BEGIN("pwconv1x1_bf16_6x16")
      "1:\n"
      MOBILEONE_PWBF_ASM_LOAD_A("q", "16")
      MOBILEONE_PWBF_ASM_STEP("0", "16", "32", "48", MOBILEONE_PWBF_ASM_LOAD_W("6", "0"), MOBILEONE_PWBF_ASM_LOAD_W("6", "64"))
      MOBILEONE_PWBF_ASM_STEP("1", "80", "96", "112", "", MOBILEONE_PWBF_ASM_LOAD_W("6", "128"))
      MOBILEONE_PWBF_ASM_STEP("2", "144", "160", "176", "", MOBILEONE_PWBF_ASM_LOAD_W("6", "192"))
      MOBILEONE_PWBF_ASM_STEP("3", "208", "224", "240", "", "")
      "add %[w], %[w], #256\n"
      "subs %[groups], %[groups], #1\n"
      "b.ne 1b\n"
      MOBILEONE_MCA_ASM_END("pwconv1x1_bf16_6x16")
      "2:\n"
      "cbz %[pairs], 4f\n"
      "3:\n"
      MOBILEONE_PWBF_ASM_LOAD_A("s", "4")
      MOBILEONE_PWBF_ASM_STEP("0", "16", "32", "48", MOBILEONE_PWBF_ASM_LOAD_W("6", "0"), "")
      "add %[w], %[w], #64\n"
      "subs %[pairs], %[pairs], #1\n"
      "b.ne 3b\n"
      "4:\n"
      "cbz %[odd], 5f\n"
      MOBILEONE_PWBF_ASM_LOAD_A("h", "2")
      MOBILEONE_PWBF_ASM_STEP("0", "16", "32", "48", MOBILEONE_PWBF_ASM_LOAD_W("6", "0"), "")
      "5:\n"
      "st1 {v8.4s, v9.4s, v10.4s, v11.4s}, [%[sums]], #64\n"
      "st1 {v12.4s, v13.4s, v14.4s, v15.4s}, [%[sums]], #64\n"
      "st1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[sums]], #64\n"
      "st1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[sums]], #64\n"
      "st1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[sums]], #64\n"
      "st1 {v28.4s, v29.4s, v30.4s, v31.4s}, [%[sums]], #64\n"
      : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4), [a5] "+r"(a5), [w] "+r"(w),
        [groups] "+r"(groups), [pairs] "+r"(pairs), [sums] "+r"(s)
      : [bias] "r"(bias), [odd] "r"(odd)
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14",
        "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30",
        "v31");
  finish(t, sums, kMR);
#else
  // Other compilers (and big-endian AArch64): five rows, then one (identical results).
  HalfGemmTileArgs<bf16> rest = t;
  tile_small<5>(t);
  rest.a = t.a + 5 * t.a_row_stride;
  rest.a_diagonal = t.a_diagonal + 5 * t.a_row_stride;
  rest.c = t.c + 5 * t.c_row_stride;
  tile_small<1>(rest);
#endif
}
#undef MOBILEONE_PWBF_ASM_LOAD_A
#undef MOBILEONE_PWBF_ASM_STEP
#undef MOBILEONE_PWBF_ASM_COLUMN
#undef MOBILEONE_PWBF_ASM_LOAD_W

}  // namespace pw_detail

// This set's bf16 tiles for half_pointwise_gemm(): 6 x 16, one panel, whole-panel stores (the driver routes
// the out-channel tail panel through a 16-wide scratch tile); blocking constants as the fp16 set's.
struct HalfGemmTiles {
  static constexpr int kRows = pw_detail::kMR, kPanels = 1;
  static constexpr int kGroup = 2;  // BFDOT: input channels in pairs
  static constexpr std::size_t kBlockBytes = 48 * 1024;
  static constexpr std::size_t kMinBlockRows = 66;  // 11 tiles
  static constexpr std::size_t kMaxResidentWeightBytes = ~std::size_t(0);
  static constexpr bool kPartialPanels = false;
  static void run(int rows, int, const HalfGemmTileArgs<bf16>& t) {
    switch (rows) {
      case 6: return pw_detail::tile6(t);
      case 5: return pw_detail::tile_small<5>(t);
      case 4: return pw_detail::tile_small<4>(t);
      case 3: return pw_detail::tile_small<3>(t);
      case 2: return pw_detail::tile_small<2>(t);
      default: return pw_detail::tile_small<1>(t);
    }
  }
};

// Pixels [pixel_begin, pixel_end) x panels [panel_begin, panel_end).
MOBILEONE_TARGET_NEON_BF16 inline void pwconv1x1(const PointwiseArgsOf<bf16>& a, std::size_t pixel_begin,
                                                 std::size_t pixel_end, std::size_t panel_begin, std::size_t panel_end) {
  half_pointwise_gemm<HalfGemmTiles>(a, pixel_begin, pixel_end, panel_begin, panel_end);
}

}  // namespace mobileone::kernels::neon_bf16

#endif  // __aarch64__
