// Pointwise 1x1 convolution on packed 16-wide panels: AArch64 NEON.
//
// GEMM C[pixels x out] = A[pixels x in] * B[in x out] + bias, B packed as panels [in][16] (pack.hpp).
//
// Microkernel: 6 pixel rows x one 16-column panel, in inline assembly.
//   v-registers (32 x 128 bit): v8-v31 = 24 accumulators (6 rows x 4 vectors of 4 output channels),
//   v0-v5 = 4 consecutive input channels of each row, consumed with by-lane FMAs
//   (`fmla vC.4s, vB.4s, vA.s[j]`), v6/v7 = the panel row of one input channel streamed through two
//   registers (each B vector feeds 6 FMAs; the next one is loaded while the current one is used).
//   Why 6 rows: a 4-cycle FMA latency at 2 FMA/cycle (Cortex-A76/A78/N1) needs >= 8 independent chains,
//   at 4 FMA/cycle (Cortex-X1..X4, Neoverse V1/V2, Apple Firestorm and later) >= 16. Six rows give 24
//   chains, the most whose accumulators + A registers (30) still leave the two B registers; 8 rows would
//   need 32 accumulators. Per 4 input channels a tile issues 96 FMAs against 16 B + 6 A loads (4.4 FMAs
//   per load), so the 2-3 load ports of those cores are never the bottleneck.
//   Assembly rather than intrinsics because GCC spills the 24 accumulators of the intrinsic version to
//   the stack in the inner loop (checked with aarch64-linux-gnu-g++ 12 at -O2/-O3); the 1..5-row tails
//   are intrinsics with named accumulators (no spills) and compute every output exactly as the 6-row
//   kernel does (the same FMA per element, in the same order).
//
// Blocking: gemm_blocking.hpp, the driver every ISA shares, with this file's GemmTiles constants (K chunks
// of 256 input channels: a 256 x 16 panel slice = 16 KiB stays in 64 KiB L1D; about 48 KiB of A per block,
// at least 66 rows so a 7x7 or 8x8 map, the weight-heavy last stage, is one block and its weights stream
// from memory once per task). The tiles store whole panels; the driver routes the out-channel tail panel
// through a 16-wide scratch tile.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "gemm_blocking.hpp"
#include "kernel_args.hpp"
#include "mca_region.hpp"

namespace mobileone::kernels::neon {

namespace pw_detail {

inline constexpr int kMR = 6;  // pixel rows per microkernel tile

// Rows 1..5: intrinsics, one named accumulator per vector (an array of vectors would live on the stack).
template <int MR>
inline void tile_small(const GemmTileArgs& t) {
  static_assert(MR >= 1 && MR <= 5);
  const std::size_t rs = t.a_row_stride, kc = std::size_t(t.seg_len);
  const float* a0 = t.a;
  const float* a1 = t.a + (MR > 1 ? 1 : 0) * rs;
  const float* a2 = t.a + (MR > 2 ? 2 : 0) * rs;
  const float* a3 = t.a + (MR > 3 ? 3 : 0) * rs;
  const float* a4 = t.a + (MR > 4 ? 4 : 0) * rs;
#define MOBILEONE_PW_INIT(r)                                                    \
  const float* i##r = t.init + (MR > r ? r : 0) * t.init_stride;                \
  float32x4_t c##r##0 = vld1q_f32(i##r), c##r##1 = vld1q_f32(i##r + 4),         \
              c##r##2 = vld1q_f32(i##r + 8), c##r##3 = vld1q_f32(i##r + 12);
  MOBILEONE_PW_INIT(0) MOBILEONE_PW_INIT(1) MOBILEONE_PW_INIT(2) MOBILEONE_PW_INIT(3) MOBILEONE_PW_INIT(4)
#undef MOBILEONE_PW_INIT
  const float* w = t.w;
  std::size_t k = 0;
#define MOBILEONE_PW_FMA(r, q, j) \
  if constexpr (MR > r) c##r##q = vfmaq_laneq_f32(c##r##q, b, x##r, j);
#define MOBILEONE_PW_STEP(q, j)                          \
  {                                                      \
    const float32x4_t b = vld1q_f32(w + 4 * q);          \
    MOBILEONE_PW_FMA(0, q, j) MOBILEONE_PW_FMA(1, q, j) \
    MOBILEONE_PW_FMA(2, q, j) MOBILEONE_PW_FMA(3, q, j) \
    MOBILEONE_PW_FMA(4, q, j)                            \
  }
#define MOBILEONE_PW_CHANNEL(j)                                                              \
  MOBILEONE_PW_STEP(0, j) MOBILEONE_PW_STEP(1, j) MOBILEONE_PW_STEP(2, j) MOBILEONE_PW_STEP(3, j) \
  w += kPanelWidth;
  for (; k + 4 <= kc; k += 4) {
    const float32x4_t x0 = vld1q_f32(a0 + k), x1 = vld1q_f32(a1 + k), x2 = vld1q_f32(a2 + k), x3 = vld1q_f32(a3 + k),
                      x4 = vld1q_f32(a4 + k);
    MOBILEONE_PW_CHANNEL(0) MOBILEONE_PW_CHANNEL(1) MOBILEONE_PW_CHANNEL(2) MOBILEONE_PW_CHANNEL(3)
  }
  for (; k < kc; ++k) {  // input-channel tail (< 4): the same fused multiply-add per element
    const float32x4_t x0 = vld1q_dup_f32(a0 + k), x1 = vld1q_dup_f32(a1 + k), x2 = vld1q_dup_f32(a2 + k),
                      x3 = vld1q_dup_f32(a3 + k), x4 = vld1q_dup_f32(a4 + k);
    MOBILEONE_PW_CHANNEL(0)
  }
#undef MOBILEONE_PW_CHANNEL
#undef MOBILEONE_PW_STEP
#undef MOBILEONE_PW_FMA
  const float32x4_t zero = vdupq_n_f32(0.f);
#define MOBILEONE_PW_STORE(r)                                                  \
  if constexpr (MR > r) {                                                      \
    if (t.relu) {                                                              \
      c##r##0 = vmaxq_f32(c##r##0, zero);                                      \
      c##r##1 = vmaxq_f32(c##r##1, zero);                                      \
      c##r##2 = vmaxq_f32(c##r##2, zero);                                      \
      c##r##3 = vmaxq_f32(c##r##3, zero);                                      \
    }                                                                          \
    float* o = t.c + std::size_t(r) * t.c_row_stride;                                   \
    vst1q_f32(o, c##r##0);                                                     \
    vst1q_f32(o + 4, c##r##1);                                                 \
    vst1q_f32(o + 8, c##r##2);                                                 \
    vst1q_f32(o + 12, c##r##3);                                                \
  }
  MOBILEONE_PW_STORE(0) MOBILEONE_PW_STORE(1) MOBILEONE_PW_STORE(2) MOBILEONE_PW_STORE(3) MOBILEONE_PW_STORE(4)
#undef MOBILEONE_PW_STORE
}

// One K step of the 6x16 tile on lane `lane` of v0..v5 (rows) against the 16 weights in v6/v7 (two
// vectors at a time, loaded alternately so each load has a column of 6 FMAs to hide behind). `first`:
// the load of the step's first weight vector when the previous step has not issued it; `next`: the load
// of the following step's first vector, issued under this step's last column; o1..o3: the byte offsets
// of the step's other three vectors. Weights load at immediate offsets from %[w], one add per iteration:
// a chain of post-indexed loads through one register bounds the loop at half the FMA rate in llvm-mca's
// Neoverse N2 model (the Cortex-A710/X2 class; bench/arm/mca_report.sh) and costs 10% on its Cortex-A55.
#define MOBILEONE_PW_ASM_LOAD_W(reg, offset) "ldr q" reg ", [%[w], #" offset "]\n"
#define MOBILEONE_PW_ASM_COLUMN(c0, c1, c2, c3, c4, c5, w, lane, load) \
  "fmla v" c0 ".4s, v" w ".4s, v0.s[" lane "]\n" load            \
  "fmla v" c1 ".4s, v" w ".4s, v1.s[" lane "]\n"                 \
  "fmla v" c2 ".4s, v" w ".4s, v2.s[" lane "]\n"                 \
  "fmla v" c3 ".4s, v" w ".4s, v3.s[" lane "]\n"                 \
  "fmla v" c4 ".4s, v" w ".4s, v4.s[" lane "]\n"                 \
  "fmla v" c5 ".4s, v" w ".4s, v5.s[" lane "]\n"
#define MOBILEONE_PW_ASM_STEP(lane, o1, o2, o3, first, next)                                              \
  first                                                                                                 \
  MOBILEONE_PW_ASM_COLUMN("8", "12", "16", "20", "24", "28", "6", lane, MOBILEONE_PW_ASM_LOAD_W("7", o1))  \
  MOBILEONE_PW_ASM_COLUMN("9", "13", "17", "21", "25", "29", "7", lane, MOBILEONE_PW_ASM_LOAD_W("6", o2))  \
  MOBILEONE_PW_ASM_COLUMN("10", "14", "18", "22", "26", "30", "6", lane, MOBILEONE_PW_ASM_LOAD_W("7", o3)) \
  MOBILEONE_PW_ASM_COLUMN("11", "15", "19", "23", "27", "31", "7", lane, next)

// Six rows: the main microkernel (see the top of the file for the register map).
inline void tile6(const GemmTileArgs& t) {
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__AARCH64EB__)  // ldr q / ld1 lane order: little-endian
  const std::size_t rs = t.a_row_stride;
  const float* a0 = t.a;
  const float* a1 = t.a + rs;
  const float* a2 = t.a + 2 * rs;
  const float* a3 = t.a + 3 * rs;
  const float* a4 = t.a + 4 * rs;
  const float* a5 = t.a + 5 * rs;
  const float* w = t.w;
  std::size_t k4 = std::size_t(t.seg_len) / 4, kt = std::size_t(t.seg_len) % 4;
  float* c = t.c;
  const std::size_t ldc = t.c_row_stride * sizeof(float);
  const float* init = t.init;
  const std::size_t init_stride = t.init_stride * sizeof(float);
  const std::size_t relu = t.relu ? 1 : 0;
  __asm__ volatile(
      "ld1 {v8.4s, v9.4s, v10.4s, v11.4s}, [%[init]], %[init_stride]\n"
      "ld1 {v12.4s, v13.4s, v14.4s, v15.4s}, [%[init]], %[init_stride]\n"
      "ld1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[init]], %[init_stride]\n"
      "ld1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[init]], %[init_stride]\n"
      "ld1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[init]], %[init_stride]\n"
      "ld1 {v28.4s, v29.4s, v30.4s, v31.4s}, [%[init]], %[init_stride]\n"
      "cbz %[k4], 2f\n"
      MOBILEONE_MCA_ASM_BEGIN("pwconv1x1_6x16")
      "1:\n"
      "ldr q0, [%[a0]], #16\n"
      "ldr q1, [%[a1]], #16\n"
      "ldr q2, [%[a2]], #16\n"
      "ldr q3, [%[a3]], #16\n"
      "ldr q4, [%[a4]], #16\n"
      "ldr q5, [%[a5]], #16\n"
      MOBILEONE_PW_ASM_STEP("0", "16", "32", "48", MOBILEONE_PW_ASM_LOAD_W("6", "0"), MOBILEONE_PW_ASM_LOAD_W("6", "64"))
      MOBILEONE_PW_ASM_STEP("1", "80", "96", "112", "", MOBILEONE_PW_ASM_LOAD_W("6", "128"))
      MOBILEONE_PW_ASM_STEP("2", "144", "160", "176", "", MOBILEONE_PW_ASM_LOAD_W("6", "192"))
      MOBILEONE_PW_ASM_STEP("3", "208", "224", "240", "", "")
      "add %[w], %[w], #256\n"
      "subs %[k4], %[k4], #1\n"
      "b.ne 1b\n"
      MOBILEONE_MCA_ASM_END("pwconv1x1_6x16")
      "2:\n"
      "cbz %[kt], 4f\n"
      "3:\n"
      "ldr s0, [%[a0]], #4\n"
      "ldr s1, [%[a1]], #4\n"
      "ldr s2, [%[a2]], #4\n"
      "ldr s3, [%[a3]], #4\n"
      "ldr s4, [%[a4]], #4\n"
      "ldr s5, [%[a5]], #4\n"
      MOBILEONE_PW_ASM_STEP("0", "16", "32", "48", MOBILEONE_PW_ASM_LOAD_W("6", "0"), "")
      "add %[w], %[w], #64\n"
      "subs %[kt], %[kt], #1\n"
      "b.ne 3b\n"
      "4:\n"
      "cbz %[relu], 5f\n"
      "movi v0.4s, #0\n"
      "fmax v8.4s, v8.4s, v0.4s\n"
      "fmax v9.4s, v9.4s, v0.4s\n"
      "fmax v10.4s, v10.4s, v0.4s\n"
      "fmax v11.4s, v11.4s, v0.4s\n"
      "fmax v12.4s, v12.4s, v0.4s\n"
      "fmax v13.4s, v13.4s, v0.4s\n"
      "fmax v14.4s, v14.4s, v0.4s\n"
      "fmax v15.4s, v15.4s, v0.4s\n"
      "fmax v16.4s, v16.4s, v0.4s\n"
      "fmax v17.4s, v17.4s, v0.4s\n"
      "fmax v18.4s, v18.4s, v0.4s\n"
      "fmax v19.4s, v19.4s, v0.4s\n"
      "fmax v20.4s, v20.4s, v0.4s\n"
      "fmax v21.4s, v21.4s, v0.4s\n"
      "fmax v22.4s, v22.4s, v0.4s\n"
      "fmax v23.4s, v23.4s, v0.4s\n"
      "fmax v24.4s, v24.4s, v0.4s\n"
      "fmax v25.4s, v25.4s, v0.4s\n"
      "fmax v26.4s, v26.4s, v0.4s\n"
      "fmax v27.4s, v27.4s, v0.4s\n"
      "fmax v28.4s, v28.4s, v0.4s\n"
      "fmax v29.4s, v29.4s, v0.4s\n"
      "fmax v30.4s, v30.4s, v0.4s\n"
      "fmax v31.4s, v31.4s, v0.4s\n"
      "5:\n"
      "st1 {v8.4s, v9.4s, v10.4s, v11.4s}, [%[c]], %[ldc]\n"
      "st1 {v12.4s, v13.4s, v14.4s, v15.4s}, [%[c]], %[ldc]\n"
      "st1 {v16.4s, v17.4s, v18.4s, v19.4s}, [%[c]], %[ldc]\n"
      "st1 {v20.4s, v21.4s, v22.4s, v23.4s}, [%[c]], %[ldc]\n"
      "st1 {v24.4s, v25.4s, v26.4s, v27.4s}, [%[c]], %[ldc]\n"
      "st1 {v28.4s, v29.4s, v30.4s, v31.4s}, [%[c]], %[ldc]\n"
      : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [a4] "+r"(a4), [a5] "+r"(a5), [w] "+r"(w),
        [k4] "+r"(k4), [kt] "+r"(kt), [c] "+r"(c), [init] "+r"(init)
      : [ldc] "r"(ldc), [init_stride] "r"(init_stride), [relu] "r"(relu)
      : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14",
        "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30",
        "v31");
#else
  // Other compilers (and big-endian AArch64): five rows, then one (identical results, fewer chains).
  GemmTileArgs rest = t;
  tile_small<5>(t);
  rest.a = t.a + 5 * t.a_row_stride;
  rest.c = t.c + 5 * t.c_row_stride;
  rest.init = t.init + 5 * t.init_stride;
  tile_small<1>(rest);
#endif
}
#undef MOBILEONE_PW_ASM_STEP
#undef MOBILEONE_PW_ASM_COLUMN
#undef MOBILEONE_PW_ASM_LOAD_W

}  // namespace pw_detail

// This ISA's tiles for gemm_blocked() (gemm_blocking.hpp): 6 x 16, one panel, whole-panel stores.
struct GemmTiles {
  static constexpr int kRows = pw_detail::kMR, kPanels = 1;
  static constexpr std::size_t kChunk = 256;             // input channels per K chunk (16 KiB of panel)
  static constexpr std::size_t kBlockBytes = 48 * 1024;  // A block budget: rows x chunk x 4 bytes
  static constexpr std::size_t kMinBlockRows = 66;       // 11 tiles
  // A chunk's weights (<= 256 x 16 floats per panel) smaller than the block's A stay resident under the
  // row tiles, however many panels (early layers: few channels, many pixels).
  static constexpr std::size_t kMaxResidentWeightBytes = ~std::size_t(0);
  static constexpr bool kPartialPanels = false;
  static void run(int rows, int, const GemmTileArgs& t) {
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
inline void pwconv1x1(const PointwiseArgs& a, std::size_t pixel_begin, std::size_t pixel_end, std::size_t panel_begin,
                      std::size_t panel_end) {
  pointwise_gemm<GemmTiles>(a, pixel_begin, pixel_end, panel_begin, panel_end);
}

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
