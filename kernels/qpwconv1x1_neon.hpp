// int8 pointwise 1x1 convolution on AArch64: uint8 activations x int8 weight panels [groups][16][4]
// (pack.hpp), int32 dot-product accumulation, the float epilogue of kernel_args.hpp.
//
// NO include guard on purpose: isa_neon_int8.hpp includes it once per int8 kernel set, after defining
//   MOBILEONE_Q8_NS      the namespace under mobileone::kernels (neon_dotprod, neon_i8mm);
//   MOBILEONE_Q8_TARGET  the target attribute of its functions (simd_target.hpp);
//   MOBILEONE_Q8_SUDOT   1: SUDOT (FEAT_I8MM, signed weights x unsigned activations by element);
//                        0: SDOT (FEAT_DotProd) on activations shifted to int8 (q ^ 0x80 = q - 128), the
//                           accumulators starting at 128 * column_sums instead of 0: the same int32 exactly.
// Why SUDOT and not USDOT or (US)MMLA: the by-element form is what keeps one A register per row (4 bytes of
// K broadcast from a lane against 4 output channels x 4 bytes of a panel), and by element only SUDOT exists
// (signed vector operand = the weights, unsigned indexed operand = the activations), the same data flow as
// SDOT. USMMLA (2x8 by 8x2 blocks, twice the MACs per instruction) models 1.37x faster on the out-of-order
// cores but slower on the in-order Cortex-A510 (isa_neon_int8.hpp) and on this packing needs a ZIP per
// weight vector, a one-group K tail and transposed stores; a packing with 8 bytes of K per channel pair
// would remove the ZIPs.
//
// Microkernel: 6 pixel rows x one 16-channel panel. 24 int32x4 accumulators (6 rows x 16 channels), 6 A
// registers (16 bytes = 4 groups of K of each row, consumed lane by lane), the 4 weight vectors of one
// group streamed through the remaining 2: 32 registers, the most rows that fit (8 rows would need 32
// accumulators alone). Per 16 input channels: 96 dot products (1536 MACs) against 16 + 6 loads.
// The K loop in assembly (accumulators as asm operands, see tile()); rows 1..5 (the balanced tiles'
// remainders) are intrinsics in the same template, one group per iteration (no spills): same int32 sums.
// Epilogue per row: the split diagonal (int32 multiply-add), float conversion, FMA with scale and bias,
// relu exactly as std::max(v, 0.f) (keeps -0 and NaN, unlike FMAX), then float stores or requantization.
// Blocking: gemm_blocking.hpp (quant_pointwise_gemm), K in one pass; whole-panel stores, the driver routes
// the out-channel tail panel through a 16-wide scratch tile.

#if !defined(MOBILEONE_Q8_NS) || !defined(MOBILEONE_Q8_TARGET) || !defined(MOBILEONE_Q8_SUDOT)
#error "include kernels/isa_neon_int8.hpp, not this file"
#endif

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gemm_blocking.hpp"
#include "kernel_args.hpp"
#include "mca_region.hpp"
#include "quantize_neon.hpp"
#include "simd_target.hpp"

namespace mobileone::kernels::MOBILEONE_Q8_NS {

namespace qpw_detail {

inline constexpr int kMR = 6;  // pixel rows per microkernel tile

#if MOBILEONE_Q8_SUDOT
using Activations = uint8x16_t;
MOBILEONE_Q8_TARGET MOBILEONE_SIMD_INLINE Activations activations(uint8x16_t q) { return q; }
template <int Lane>
MOBILEONE_Q8_TARGET MOBILEONE_SIMD_INLINE int32x4_t dot(int32x4_t acc, int8x16_t w, Activations x) {
  return vsudotq_laneq_s32(acc, w, x, Lane);
}
// Accumulators start at 0.
MOBILEONE_Q8_TARGET MOBILEONE_SIMD_INLINE int32x4_t acc_init(const std::int32_t*) { return vdupq_n_s32(0); }
#else
using Activations = int8x16_t;
MOBILEONE_Q8_TARGET MOBILEONE_SIMD_INLINE Activations activations(uint8x16_t q) {
  return vreinterpretq_s8_u8(veorq_u8(q, vdupq_n_u8(0x80)));
}
template <int Lane>
MOBILEONE_Q8_TARGET MOBILEONE_SIMD_INLINE int32x4_t dot(int32x4_t acc, int8x16_t w, Activations x) {
  return vdotq_laneq_s32(acc, w, x, Lane);
}
// sum (q - 128) w + 128 sum w = sum q w: accumulators start at 128 * column_sums.
MOBILEONE_Q8_TARGET MOBILEONE_SIMD_INLINE int32x4_t acc_init(const std::int32_t* column_sums) {
  return vshlq_n_s32(vld1q_s32(column_sums), 7);
}
#endif

// The epilogue of one row's 16 accumulators (kernel_args.hpp), at o (uint8 or float, per t.output_u8).
MOBILEONE_Q8_TARGET MOBILEONE_SIMD_INLINE void store_row(const QuantGemmTileArgs& t, std::size_t r, int32x4_t c0,
                                                          int32x4_t c1, int32x4_t c2, int32x4_t c3) {
  float32x4_t v0 = vfmaq_f32(vld1q_f32(t.bias), vcvtq_f32_s32(c0), vld1q_f32(t.scale));
  float32x4_t v1 = vfmaq_f32(vld1q_f32(t.bias + 4), vcvtq_f32_s32(c1), vld1q_f32(t.scale + 4));
  float32x4_t v2 = vfmaq_f32(vld1q_f32(t.bias + 8), vcvtq_f32_s32(c2), vld1q_f32(t.scale + 8));
  float32x4_t v3 = vfmaq_f32(vld1q_f32(t.bias + 12), vcvtq_f32_s32(c3), vld1q_f32(t.scale + 12));
  if (t.output_u8) {  // requantize_u8(max(v, 0)) = requantize_u8(v): relu needs nothing here
    vst1q_u8(static_cast<std::uint8_t*>(t.c) + r * t.c_row_stride, neon::requantize_u8x16(v0, v1, v2, v3));
    return;
  }
  if (t.relu) {  // std::max(v, 0.f): v < 0 -> +0, anything else (-0, NaN) unchanged
    const auto relu = [](float32x4_t v) {
      return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(v), vcltzq_f32(v)));
    };
    v0 = relu(v0);
    v1 = relu(v1);
    v2 = relu(v2);
    v3 = relu(v3);
  }
  float* o = static_cast<float*>(t.c) + r * t.c_row_stride;
  vst1q_f32(o, v0);
  vst1q_f32(o + 4, v1);
  vst1q_f32(o + 8, v2);
  vst1q_f32(o + 12, v3);
}

// acc += diagonal * input over one row's 16 channels (the split identity branch).
MOBILEONE_Q8_TARGET MOBILEONE_SIMD_INLINE void add_diagonal(const QuantGemmTileArgs& t, std::size_t r, int32x4_t& c0,
                                                             int32x4_t& c1, int32x4_t& c2, int32x4_t& c3) {
  const uint8x16_t q = vld1q_u8(t.a_diagonal + r * t.a_row_stride);
  const uint16x8_t lo = vmovl_u8(vget_low_u8(q)), hi = vmovl_u8(vget_high_u8(q));
  c0 = vmlaq_s32(c0, vld1q_s32(t.diagonal), vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(lo))));
  c1 = vmlaq_s32(c1, vld1q_s32(t.diagonal + 4), vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(lo))));
  c2 = vmlaq_s32(c2, vld1q_s32(t.diagonal + 8), vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(hi))));
  c3 = vmlaq_s32(c3, vld1q_s32(t.diagonal + 12), vreinterpretq_s32_u32(vmovl_u16(vget_high_u16(hi))));
}

// The 6-row tile's K loop in assembly, on accumulators the compiler allocates (the "+w" operands; v0-v7
// are the clobbered A and weight registers, so they land in v8-v31). GCC schedules the intrinsic version
// of this loop by hoisting the iteration's 16 weight loads and spills 20 accumulators (checked with
// aarch64-linux-gnu-g++ 12 -O2). One K step of one group: lane `lane` of v0..v5 (the rows) against the 4
// weight vectors of the group, streamed through v6/v7 like the fp32 tile: each load is issued under the
// previous vector's column of 6 dot products; `first` loads the step's first vector if the previous
// step has not, `next` loads the following step's first vector.
#if MOBILEONE_Q8_SUDOT
#define MOBILEONE_QPW_MCA_NAME "qpwconv1x1_6x16_i8mm"  // the K loop's llvm-mca region (mca_region.hpp)
#define MOBILEONE_QPW_ASM_DOT "sudot "
#define MOBILEONE_QPW_ASM_SHIFT ""
#define MOBILEONE_QPW_ASM_SET(r, q, v) "movi %[c" #r #q "].4s, #0\n"
#define MOBILEONE_QPW_ASM_INIT_VECTORS ""
#else
#define MOBILEONE_QPW_MCA_NAME "qpwconv1x1_6x16_dotprod"
#define MOBILEONE_QPW_ASM_DOT "sdot "
// q ^ 0x80 on the six A registers (v6 is free until the step's first weight load).
#define MOBILEONE_QPW_ASM_SHIFT                                                                       \
  "movi v6.16b, #0x80\n"                                                                              \
  "eor v0.16b, v0.16b, v6.16b\n" "eor v1.16b, v1.16b, v6.16b\n" "eor v2.16b, v2.16b, v6.16b\n"        \
  "eor v3.16b, v3.16b, v6.16b\n" "eor v4.16b, v4.16b, v6.16b\n" "eor v5.16b, v5.16b, v6.16b\n"
#define MOBILEONE_QPW_ASM_SET(r, q, v) "mov %[c" #r #q "].16b, v" #v ".16b\n"
// 128 * column_sums into v0-v3.
#define MOBILEONE_QPW_ASM_INIT_VECTORS                                                                   \
  "ld1 {v0.4s, v1.4s, v2.4s, v3.4s}, [%[cs]]\n"                                                        \
  "shl v0.4s, v0.4s, #7\n" "shl v1.4s, v1.4s, #7\n" "shl v2.4s, v2.4s, #7\n" "shl v3.4s, v3.4s, #7\n"
#endif
#define MOBILEONE_QPW_ASM_SET_ROW(r) \
  MOBILEONE_QPW_ASM_SET(r, 0, 0) MOBILEONE_QPW_ASM_SET(r, 1, 1) MOBILEONE_QPW_ASM_SET(r, 2, 2) MOBILEONE_QPW_ASM_SET(r, 3, 3)
// The accumulators' start (acc_init) in the asm.
#define MOBILEONE_QPW_ASM_INIT                                                                        \
  MOBILEONE_QPW_ASM_INIT_VECTORS                                                                     \
  MOBILEONE_QPW_ASM_SET_ROW(0) MOBILEONE_QPW_ASM_SET_ROW(1) MOBILEONE_QPW_ASM_SET_ROW(2)             \
  MOBILEONE_QPW_ASM_SET_ROW(3) MOBILEONE_QPW_ASM_SET_ROW(4) MOBILEONE_QPW_ASM_SET_ROW(5)
// Weight loads at immediate offsets from x14, one add per step of the loop: a chain of post-indexed loads
// through one register is what bounds the loop in llvm-mca's Neoverse N2 / Cortex-X2 models.
#define MOBILEONE_QPW_ASM_LOAD_W(reg, offset) "ldr q" reg ", [x14, #" offset "]\n"
#define MOBILEONE_QPW_ASM_COLUMN(q, w, lane, load)                          \
  MOBILEONE_QPW_ASM_DOT "%[c0" q "].4s, v" w ".16b, v0.4b[" lane "]\n" load \
  MOBILEONE_QPW_ASM_DOT "%[c1" q "].4s, v" w ".16b, v1.4b[" lane "]\n"      \
  MOBILEONE_QPW_ASM_DOT "%[c2" q "].4s, v" w ".16b, v2.4b[" lane "]\n"      \
  MOBILEONE_QPW_ASM_DOT "%[c3" q "].4s, v" w ".16b, v3.4b[" lane "]\n"      \
  MOBILEONE_QPW_ASM_DOT "%[c4" q "].4s, v" w ".16b, v4.4b[" lane "]\n"      \
  MOBILEONE_QPW_ASM_DOT "%[c5" q "].4s, v" w ".16b, v5.4b[" lane "]\n"
// o1..o3: the offsets of the group's vectors 1..3.
#define MOBILEONE_QPW_ASM_STEP(lane, o1, o2, o3, first, next)                   \
  first                                                                         \
  MOBILEONE_QPW_ASM_COLUMN("0", "6", lane, MOBILEONE_QPW_ASM_LOAD_W("7", o1))   \
  MOBILEONE_QPW_ASM_COLUMN("1", "7", lane, MOBILEONE_QPW_ASM_LOAD_W("6", o2))   \
  MOBILEONE_QPW_ASM_COLUMN("2", "6", lane, MOBILEONE_QPW_ASM_LOAD_W("7", o3))   \
  MOBILEONE_QPW_ASM_COLUMN("3", "7", lane, next)
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__AARCH64EB__)  // ldr q lane order: little-endian
#define MOBILEONE_QPW_ASM 1
#else
#define MOBILEONE_QPW_ASM 0
#endif

// MR rows (1..6) x 16 channels over all of K. One named accumulator per vector (an array of vectors
// would live on the stack).
template <int MR>
MOBILEONE_Q8_TARGET void tile(const QuantGemmTileArgs& t) {
  static_assert(MR >= 1 && MR <= kMR);
  const std::size_t rs = t.a_row_stride, groups = quant_pointwise_groups(t.k);
  const int32x4_t init0 = acc_init(t.column_sums), init1 = acc_init(t.column_sums + 4),
                  init2 = acc_init(t.column_sums + 8), init3 = acc_init(t.column_sums + 12);
#define MOBILEONE_QPW_INIT(r) int32x4_t c##r##0 = init0, c##r##1 = init1, c##r##2 = init2, c##r##3 = init3;
  MOBILEONE_QPW_INIT(0) MOBILEONE_QPW_INIT(1) MOBILEONE_QPW_INIT(2) MOBILEONE_QPW_INIT(3) MOBILEONE_QPW_INIT(4)
  MOBILEONE_QPW_INIT(5)
#undef MOBILEONE_QPW_INIT
  if constexpr (MR == kMR && MOBILEONE_QPW_ASM) {
    // 24 outputs + 5 inputs: GCC allows 30 operands and counts an in-out operand twice, so the
    // accumulators are outputs only (initialised in the asm) and the pointers are copied to clobbers.
    __asm__(
        MOBILEONE_QPW_ASM_INIT
        "mov x8, %[a]\n"
        "add x9, x8, %[rs]\n"
        "add x10, x9, %[rs]\n"
        "add x11, x10, %[rs]\n"
        "add x12, x11, %[rs]\n"
        "add x13, x12, %[rs]\n"
        "mov x14, %[w]\n"
        "lsr x15, %[groups], #2\n"
        "cbz x15, 2f\n"
        MOBILEONE_MCA_ASM_BEGIN(MOBILEONE_QPW_MCA_NAME)
        "1:\n"  // four groups: 16 bytes of each row
        "ldr q0, [x8], #16\n"
        "ldr q1, [x9], #16\n"
        "ldr q2, [x10], #16\n"
        "ldr q3, [x11], #16\n"
        "ldr q4, [x12], #16\n"
        "ldr q5, [x13], #16\n"
        MOBILEONE_QPW_ASM_SHIFT
        MOBILEONE_QPW_ASM_STEP("0", "16", "32", "48", MOBILEONE_QPW_ASM_LOAD_W("6", "0"),
                               MOBILEONE_QPW_ASM_LOAD_W("6", "64"))
        MOBILEONE_QPW_ASM_STEP("1", "80", "96", "112", "", MOBILEONE_QPW_ASM_LOAD_W("6", "128"))
        MOBILEONE_QPW_ASM_STEP("2", "144", "160", "176", "", MOBILEONE_QPW_ASM_LOAD_W("6", "192"))
        MOBILEONE_QPW_ASM_STEP("3", "208", "224", "240", "", "")
        "add x14, x14, #256\n"
        "subs x15, x15, #1\n"
        "b.ne 1b\n"
        MOBILEONE_MCA_ASM_END(MOBILEONE_QPW_MCA_NAME)
        "2:\n"
        "ands x15, %[groups], #3\n"
        "b.eq 4f\n"
        "3:\n"  // the last 1..3 groups: 4 bytes of each row in lane 0
        "ldr s0, [x8], #4\n"
        "ldr s1, [x9], #4\n"
        "ldr s2, [x10], #4\n"
        "ldr s3, [x11], #4\n"
        "ldr s4, [x12], #4\n"
        "ldr s5, [x13], #4\n"
        MOBILEONE_QPW_ASM_SHIFT
        MOBILEONE_QPW_ASM_STEP("0", "16", "32", "48", MOBILEONE_QPW_ASM_LOAD_W("6", "0"), "")
        "add x14, x14, #64\n"
        "subs x15, x15, #1\n"
        "b.ne 3b\n"
        "4:\n"
        : [c00] "=w"(c00), [c01] "=w"(c01), [c02] "=w"(c02), [c03] "=w"(c03), [c10] "=w"(c10), [c11] "=w"(c11),
          [c12] "=w"(c12), [c13] "=w"(c13), [c20] "=w"(c20), [c21] "=w"(c21), [c22] "=w"(c22), [c23] "=w"(c23),
          [c30] "=w"(c30), [c31] "=w"(c31), [c32] "=w"(c32), [c33] "=w"(c33), [c40] "=w"(c40), [c41] "=w"(c41),
          [c42] "=w"(c42), [c43] "=w"(c43), [c50] "=w"(c50), [c51] "=w"(c51), [c52] "=w"(c52), [c53] "=w"(c53)
        : [a] "r"(t.a), [rs] "r"(rs), [w] "r"(t.w), [groups] "r"(groups), [cs] "r"(t.column_sums)
        : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "x8", "x9", "x10", "x11", "x12", "x13",
          "x14", "x15");
  } else {
    // Rows past MR alias row 0 (never loaded: if constexpr below).
    const std::uint8_t* a0 = t.a;
    const std::uint8_t* a1 = t.a + (MR > 1 ? 1 : 0) * rs;
    const std::uint8_t* a2 = t.a + (MR > 2 ? 2 : 0) * rs;
    const std::uint8_t* a3 = t.a + (MR > 3 ? 3 : 0) * rs;
    const std::uint8_t* a4 = t.a + (MR > 4 ? 4 : 0) * rs;
    const std::uint8_t* a5 = t.a + (MR > 5 ? 5 : 0) * rs;
    const std::int8_t* w = t.w;
    // One group per iteration (4 bytes of each row in lane 0): at most 5 x 4 accumulators + 5 A + 4
    // weight registers are live, so GCC keeps every accumulator in a register.
    for (std::size_t g = 0; g < groups; ++g, w += kPanelWidth * kQuantGroup) {
      const auto load4 = [g](const std::uint8_t* p) {
        std::uint32_t bytes;
        std::memcpy(&bytes, p + 4 * g, sizeof(bytes));
        return vreinterpretq_u8_u32(vdupq_n_u32(bytes));
      };
#define MOBILEONE_QPW_LOAD(r) const Activations x##r = activations(MR > r ? load4(a##r) : vdupq_n_u8(0));
      MOBILEONE_QPW_LOAD(0) MOBILEONE_QPW_LOAD(1) MOBILEONE_QPW_LOAD(2)
      MOBILEONE_QPW_LOAD(3) MOBILEONE_QPW_LOAD(4) MOBILEONE_QPW_LOAD(5)
#undef MOBILEONE_QPW_LOAD
#define MOBILEONE_QPW_DOT(r, q) \
  if constexpr (MR > r) c##r##q = dot<0>(c##r##q, b, x##r);
#define MOBILEONE_QPW_VECTOR(q)                                                      \
  {                                                                                  \
    const int8x16_t b = vld1q_s8(w + 16 * q);                                        \
    MOBILEONE_QPW_DOT(0, q) MOBILEONE_QPW_DOT(1, q) MOBILEONE_QPW_DOT(2, q)          \
    MOBILEONE_QPW_DOT(3, q) MOBILEONE_QPW_DOT(4, q) MOBILEONE_QPW_DOT(5, q)          \
  }
      MOBILEONE_QPW_VECTOR(0) MOBILEONE_QPW_VECTOR(1) MOBILEONE_QPW_VECTOR(2) MOBILEONE_QPW_VECTOR(3)
#undef MOBILEONE_QPW_VECTOR
#undef MOBILEONE_QPW_DOT
    }
  }
#define MOBILEONE_QPW_STORE(r)                                                     \
  if constexpr (MR > r) {                                                          \
    if (t.diagonal) add_diagonal(t, r, c##r##0, c##r##1, c##r##2, c##r##3);        \
    store_row(t, r, c##r##0, c##r##1, c##r##2, c##r##3);                           \
  }
  MOBILEONE_QPW_STORE(0) MOBILEONE_QPW_STORE(1) MOBILEONE_QPW_STORE(2) MOBILEONE_QPW_STORE(3) MOBILEONE_QPW_STORE(4)
  MOBILEONE_QPW_STORE(5)
#undef MOBILEONE_QPW_STORE
}
#undef MOBILEONE_QPW_ASM
#undef MOBILEONE_QPW_ASM_STEP
#undef MOBILEONE_QPW_ASM_COLUMN
#undef MOBILEONE_QPW_ASM_LOAD_W
#undef MOBILEONE_QPW_ASM_INIT
#undef MOBILEONE_QPW_ASM_SET_ROW
#undef MOBILEONE_QPW_ASM_INIT_VECTORS
#undef MOBILEONE_QPW_ASM_SET
#undef MOBILEONE_QPW_ASM_SHIFT
#undef MOBILEONE_QPW_ASM_DOT
#undef MOBILEONE_QPW_MCA_NAME

}  // namespace qpw_detail

// This kernel set's int8 tiles for quant_pointwise_gemm() (gemm_blocking.hpp): 6 x 16, one panel,
// whole-panel stores; the blocking constants of the fp32 NEON tiles (neon::GemmTiles) in bytes of int8.
struct QuantGemmTiles {
  static constexpr int kRows = qpw_detail::kMR, kPanels = 1;
  static constexpr std::size_t kBlockBytes = 48 * 1024;  // A block budget: rows x K bytes
  static constexpr std::size_t kMinBlockRows = 66;       // 11 tiles
  // Weights smaller than the block's A stay resident under the row tiles, however many panels.
  static constexpr std::size_t kMaxResidentWeightBytes = ~std::size_t(0);
  static constexpr bool kPartialPanels = false;
  MOBILEONE_Q8_TARGET static void run(int rows, int, const QuantGemmTileArgs& t) {
    switch (rows) {
      case 6: return qpw_detail::tile<6>(t);
      case 5: return qpw_detail::tile<5>(t);
      case 4: return qpw_detail::tile<4>(t);
      case 3: return qpw_detail::tile<3>(t);
      case 2: return qpw_detail::tile<2>(t);
      default: return qpw_detail::tile<1>(t);
    }
  }
};

// Pixels [pixel_begin, pixel_end) x panels [panel_begin, panel_end).
inline void qpwconv1x1(const QuantPointwiseArgs& a, std::size_t pixel_begin, std::size_t pixel_end,
                       std::size_t panel_begin, std::size_t panel_end) {
  quant_pointwise_gemm<QuantGemmTiles>(a, pixel_begin, pixel_end, panel_begin, panel_end);
}

}  // namespace mobileone::kernels::MOBILEONE_Q8_NS

#endif  // __aarch64__
