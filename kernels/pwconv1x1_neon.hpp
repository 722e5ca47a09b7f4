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
// Blocking (GotoBLAS order, sized for 64 KiB L1D / >= 256 KiB L2):
//   for pixel blocks of ~kBlockBytes of A per chunk, >= 66 rows (stays in L1/L2 while all panels pass)
//     for input-channel chunks of <= kChunk channels (a 256 x 16 panel slice = 16 KiB stays in L1)
//       for each panel: for each row tile: microkernel over the chunk       (weights larger than A)
//       or for each row tile: for each panel: microkernel over the chunk    (weights smaller than A)
//   Partial sums of a chunk go through the output array as floats (exact), so each output is still one
//   FMA chain over input channels in increasing order starting from its bias, ReLU after the last chunk,
//   and results do not depend on the pixel/panel split. Tiles are balanced (49 rows -> 4 x 6 + 5 x 5), so
//   no tile runs as a latency-bound 1- or 2-row tail.
#pragma once

#if defined(__aarch64__)

#include <arm_neon.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "kernel_args.hpp"

namespace mobileone::kernels::neon {

namespace pw_detail {

inline constexpr int kMR = 6;                          // pixel rows per microkernel tile
inline constexpr std::size_t kChunk = 256;             // input channels per K chunk (16 KiB of panel)
inline constexpr std::size_t kBlockBytes = 48 * 1024;  // A block budget: rows x chunk x 4 bytes
inline constexpr std::size_t kMinBlockRows = 66;       // 11 tiles

// A tile's operands. Row r of A is a[r] (at the chunk's first input channel); C row r is c + r * ldc;
// the accumulators start from init + r * init_stride (the bias with stride 0, or C itself).
struct Tile {
  const float* a[kMR];
  const float* w;  // panel at the chunk's first input channel, [kc][16]
  std::size_t kc;
  float* c;
  std::size_t ldc;  // floats
  const float* init;
  std::size_t init_stride;  // floats
  bool relu;
};

// Rows 1..5: intrinsics, one named accumulator per vector (an array of vectors would live on the stack).
template <int MR>
inline void tile_small(const Tile& t) {
  static_assert(MR >= 1 && MR <= 5);
  const float* a0 = t.a[0];
  const float* a1 = t.a[MR > 1 ? 1 : 0];
  const float* a2 = t.a[MR > 2 ? 2 : 0];
  const float* a3 = t.a[MR > 3 ? 3 : 0];
  const float* a4 = t.a[MR > 4 ? 4 : 0];
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
  for (; k + 4 <= t.kc; k += 4) {
    const float32x4_t x0 = vld1q_f32(a0 + k), x1 = vld1q_f32(a1 + k), x2 = vld1q_f32(a2 + k), x3 = vld1q_f32(a3 + k),
                      x4 = vld1q_f32(a4 + k);
    MOBILEONE_PW_CHANNEL(0) MOBILEONE_PW_CHANNEL(1) MOBILEONE_PW_CHANNEL(2) MOBILEONE_PW_CHANNEL(3)
  }
  for (; k < t.kc; ++k) {  // input-channel tail (< 4): the same fused multiply-add per element
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
    float* o = t.c + std::size_t(r) * t.ldc;                                   \
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
// of the following step's first vector, issued under this step's last column.
#define MOBILEONE_PW_ASM_LOAD_W(reg) "ldr q" reg ", [%[w]], #16\n"
#define MOBILEONE_PW_ASM_COLUMN(c0, c1, c2, c3, c4, c5, w, lane, load) \
  "fmla v" c0 ".4s, v" w ".4s, v0.s[" lane "]\n" load            \
  "fmla v" c1 ".4s, v" w ".4s, v1.s[" lane "]\n"                 \
  "fmla v" c2 ".4s, v" w ".4s, v2.s[" lane "]\n"                 \
  "fmla v" c3 ".4s, v" w ".4s, v3.s[" lane "]\n"                 \
  "fmla v" c4 ".4s, v" w ".4s, v4.s[" lane "]\n"                 \
  "fmla v" c5 ".4s, v" w ".4s, v5.s[" lane "]\n"
#define MOBILEONE_PW_ASM_STEP(lane, first, next)                                                   \
  first                                                                                         \
  MOBILEONE_PW_ASM_COLUMN("8", "12", "16", "20", "24", "28", "6", lane, MOBILEONE_PW_ASM_LOAD_W("7"))  \
  MOBILEONE_PW_ASM_COLUMN("9", "13", "17", "21", "25", "29", "7", lane, MOBILEONE_PW_ASM_LOAD_W("6"))  \
  MOBILEONE_PW_ASM_COLUMN("10", "14", "18", "22", "26", "30", "6", lane, MOBILEONE_PW_ASM_LOAD_W("7")) \
  MOBILEONE_PW_ASM_COLUMN("11", "15", "19", "23", "27", "31", "7", lane, next)

// Six rows: the main microkernel (see the top of the file for the register map).
inline void tile6(const Tile& t) {
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__AARCH64EB__)  // ldr q / ld1 lane order: little-endian
  const float* a0 = t.a[0];
  const float* a1 = t.a[1];
  const float* a2 = t.a[2];
  const float* a3 = t.a[3];
  const float* a4 = t.a[4];
  const float* a5 = t.a[5];
  const float* w = t.w;
  std::size_t k4 = t.kc / 4, kt = t.kc % 4;
  float* c = t.c;
  const std::size_t ldc = t.ldc * sizeof(float);
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
      "1:\n"
      "ldr q0, [%[a0]], #16\n"
      "ldr q1, [%[a1]], #16\n"
      "ldr q2, [%[a2]], #16\n"
      "ldr q3, [%[a3]], #16\n"
      "ldr q4, [%[a4]], #16\n"
      "ldr q5, [%[a5]], #16\n"
      MOBILEONE_PW_ASM_STEP("0", MOBILEONE_PW_ASM_LOAD_W("6"), MOBILEONE_PW_ASM_LOAD_W("6"))
      MOBILEONE_PW_ASM_STEP("1", "", MOBILEONE_PW_ASM_LOAD_W("6"))
      MOBILEONE_PW_ASM_STEP("2", "", MOBILEONE_PW_ASM_LOAD_W("6"))
      MOBILEONE_PW_ASM_STEP("3", "", "")
      "subs %[k4], %[k4], #1\n"
      "b.ne 1b\n"
      "2:\n"
      "cbz %[kt], 4f\n"
      "3:\n"
      "ldr s0, [%[a0]], #4\n"
      "ldr s1, [%[a1]], #4\n"
      "ldr s2, [%[a2]], #4\n"
      "ldr s3, [%[a3]], #4\n"
      "ldr s4, [%[a4]], #4\n"
      "ldr s5, [%[a5]], #4\n"
      MOBILEONE_PW_ASM_STEP("0", MOBILEONE_PW_ASM_LOAD_W("6"), "")
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
  Tile rest = t;
  tile_small<5>(t);
  rest.a[0] = t.a[5];
  rest.c = t.c + 5 * t.ldc;
  rest.init = t.init + 5 * t.init_stride;
  tile_small<1>(rest);
#endif
}
#undef MOBILEONE_PW_ASM_STEP
#undef MOBILEONE_PW_ASM_COLUMN
#undef MOBILEONE_PW_ASM_LOAD_W

inline void run_tile(int rows, const Tile& t) {
  switch (rows) {
    case 6: return tile6(t);
    case 5: return tile_small<5>(t);
    case 4: return tile_small<4>(t);
    case 3: return tile_small<3>(t);
    case 2: return tile_small<2>(t);
    default: return tile_small<1>(t);
  }
}

}  // namespace pw_detail

inline void pwconv1x1(const PointwiseArgs& a, std::size_t pixel_begin, std::size_t pixel_end, std::size_t panel_begin,
                      std::size_t panel_end) {
  using namespace pw_detail;
  if (pixel_begin >= pixel_end || panel_begin >= panel_end) return;
  const std::size_t cin = std::size_t(a.in_channels), cout = std::size_t(a.out_channels);
  // K chunks of equal size, multiples of 4 (only the last one has an input-channel tail).
  const std::size_t chunks = std::max<std::size_t>(1, (cin + kChunk - 1) / kChunk);
  const std::size_t chunk = chunks == 1 ? cin : ((cin + chunks - 1) / chunks + 3) / 4 * 4;
  const std::size_t chunk_bytes = std::max<std::size_t>(1, chunk) * sizeof(float);
  // At least kMinBlockRows: a 7x7 or 8x8 map (the weight-heavy last stage) is one block, so its weights
  // stream from memory once per task, not once per 48 rows.
  const std::size_t block_rows = std::max<std::size_t>(kMinBlockRows, kBlockBytes / chunk_bytes / kMR * kMR);

  alignas(16) float scratch[kMR * kPanelWidth] = {};  // the out-channel tail panel (fewer than 16 real columns)
  for (std::size_t p0 = pixel_begin; p0 < pixel_end;) {
    // Blocks of about block_rows, each split into balanced tiles of <= 6 rows.
    const std::size_t left = pixel_end - p0;
    const std::size_t blocks = (left + block_rows - 1) / block_rows;
    const std::size_t rows = (left + blocks - 1) / blocks;
    const std::size_t tiles = (rows + kMR - 1) / kMR;
    std::size_t k0 = 0;
    do {
      const std::size_t kc = std::min(chunk, cin - k0);
      const bool first = k0 == 0, last = k0 + kc >= cin;
      // Tile i (rows [rows*i/tiles, rows*(i+1)/tiles) of the block) x one panel, over this chunk.
      auto tile_panel = [&](std::size_t i, std::size_t panel) {
        const std::size_t r0 = rows * i / tiles, r1 = rows * (i + 1) / tiles;
        const int n = int(r1 - r0);
        const std::size_t p = p0 + r0, co = panel * kPanelWidth;
        const std::size_t cols = std::min<std::size_t>(kPanelWidth, cout - co);
        Tile t;
        for (int r = 0; r < kMR; ++r) t.a[r] = a.input + (p + std::size_t(r < n ? r : 0)) * cin + k0;
        t.w = a.weights + (panel * cin + k0) * kPanelWidth;
        t.kc = kc;
        t.relu = last && a.relu;
        float* c = a.output + p * cout + co;
        if (cols == kPanelWidth) {
          t.c = c;
          t.ldc = cout;
          t.init = first ? a.bias + co : c;
          t.init_stride = first ? 0 : cout;
          run_tile(n, t);
          return;
        }
        // The out-channel tail panel: never write past a row's last channel, go through a 16-wide scratch.
        t.c = scratch;
        t.ldc = kPanelWidth;
        t.init = first ? a.bias + co : scratch;
        t.init_stride = first ? 0 : kPanelWidth;
        if (!first)
          for (int r = 0; r < n; ++r) std::memcpy(scratch + r * kPanelWidth, c + std::size_t(r) * cout, cols * sizeof(float));
        run_tile(n, t);
        for (int r = 0; r < n; ++r) std::memcpy(c + std::size_t(r) * cout, scratch + r * kPanelWidth, cols * sizeof(float));
      };
      // Keep the smaller operand resident and stream the larger one once: when this chunk of all the
      // panels is smaller than the block's rows (early layers: few channels, many pixels), sweep the panels
      // for each tile (the weights stay in L1, each A tile is read once); otherwise sweep the tiles for
      // each panel (the A block stays in L1/L2, each panel slice is read once).
      const std::size_t weight_bytes = (panel_end - panel_begin) * kc * kPanelWidth * sizeof(float);
      const std::size_t a_bytes = rows * kc * sizeof(float);
      if (weight_bytes <= a_bytes) {
        for (std::size_t i = 0; i < tiles; ++i)
          for (std::size_t panel = panel_begin; panel < panel_end; ++panel) tile_panel(i, panel);
      } else {
        for (std::size_t panel = panel_begin; panel < panel_end; ++panel)
          for (std::size_t i = 0; i < tiles; ++i) tile_panel(i, panel);
      }
      k0 += kc;
    } while (k0 < cin);
    p0 += rows;
  }
}

}  // namespace mobileone::kernels::neon

#endif  // __aarch64__
