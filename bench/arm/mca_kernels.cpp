// The translation unit bench/arm/mca_report.sh compiles to assembly: one out-of-line function per kernel
// whose hot loop carries an llvm-mca region (kernels/mca_region.hpp), so each loop is emitted once, as the
// engine's own instantiation of the kernel compiles it.
#include "mobileone/kernels/isa_neon.hpp"
#include "mobileone/kernels/isa_neon_half.hpp"
#include "mobileone/kernels/isa_neon_int8.hpp"

namespace k = mobileone::kernels;

void mca_pwconv1x1(const k::GemmTileArgs& t) { k::neon::GemmTiles::run(6, 1, t); }
void mca_dwconv3x3_s1(const k::DepthwiseArgs& a, int begin, int end) { k::neon::dwconv3x3<1>(a, begin, end); }
void mca_dwconv3x3_s2(const k::DepthwiseArgs& a, int begin, int end) { k::neon::dwconv3x3<2>(a, begin, end); }
void mca_dwconv3x3_s2_in_order(const k::DepthwiseArgs& a, int begin, int end) {
  k::neon::dwconv3x3<2, k::neon::CoreKind::in_order>(a, begin, end);
}
void mca_conv3x3_s2(const k::Conv3x3Args& a, int begin, int end) { k::neon::conv3x3<2>(a, begin, end); }
void mca_qpwconv1x1_dotprod(const k::QuantGemmTileArgs& t) { k::neon_dotprod::QuantGemmTiles::run(6, 1, t); }
void mca_qpwconv1x1_i8mm(const k::QuantGemmTileArgs& t) { k::neon_i8mm::QuantGemmTiles::run(6, 1, t); }
void mca_pwconv1x1_f16(const k::HalfGemmTileArgs<k::fp16>& t) { k::neon_fp16::HalfGemmTiles::run(8, 1, t); }
void mca_pwconv1x1_bf16(const k::HalfGemmTileArgs<k::bf16>& t) { k::neon_bf16::HalfGemmTiles::run(6, 1, t); }
void mca_dwconv3x3_s1_f16(const k::DepthwiseArgsOf<k::fp16>& a, int begin, int end) { k::neon::dwconv3x3<1>(a, begin, end); }
void mca_dwconv3x3_s1_bf16(const k::DepthwiseArgsOf<k::bf16>& a, int begin, int end) { k::neon::dwconv3x3<1>(a, begin, end); }
