// The AArch64 int8 kernel sets: kernels::neon_dotprod (FEAT_DotProd, HWCAP_ASIMDDP) and kernels::neon_i8mm
// (FEAT_I8MM, HWCAP2_I8MM). Each holds qpwconv1x1 and its QuantGemmTiles (qpwconv1x1_neon.hpp, instantiated
// here with the set's dot product and target attribute), and the depthwise and quantize kernels, which need
// no dot product and are one baseline-NEON implementation shared by both (qdwconv3x3_neon.hpp,
// quantize_neon.hpp). Compiled in on every AArch64 build; callers check the CPU feature first.
//
// Tile choice: llvm-mca-19 on the compiled K loop, cycles per iteration and int8 MACs per cycle. An int8
// iteration is 16 input channels x 6 rows x 16 channels = 1536 MACs (96 dot products); the fp32 6x16
// tile's is 4 input channels = 384 MACs (96 FMLA).
//   model          SDOT 6x16 (dotprod)  SUDOT 6x16 (i8mm)  SUDOT 4x16     fp32 FMLA 6x16
//   neoverse-n1    53.0 cyc  29 MAC/c   48.1  32           32.0  32       48.1  8.0
//   neoverse-v1    26.6      58         24.1  64           16.1  64       24.1  16
//   cortex-a55     143       10.7       86.0  17.9         79.0  13.0     88.0  4.4
// (neoverse-n1 and cortex-a55 have no i8mm: those SUDOT rows are the model only.) SDOT pays 7 more
// instructions per iteration for the shift. 4 rows reach the same throughput on the out-of-order models and
// lose on the in-order one; 8 rows would need all 32 registers for accumulators. A USMMLA 6x16 loop on this
// packing (weights zipped in the kernel: 48 USMMLA + 22 ZIP per 16 channels) models at 35.1 cycles on
// neoverse-n2 / cortex-a710 / cortex-x2 (44 MAC/c, SUDOT 32) and 17.6 on neoverse-v1 (87), but 113 on
// cortex-a510 (SUDOT 80): not taken here (see qpwconv1x1_neon.hpp).
#pragma once

#if defined(__aarch64__)

#include "qdwconv3x3_neon.hpp"
#include "quantize_neon.hpp"
#include "simd_target.hpp"

#define MOBILEONE_Q8_NS neon_dotprod
#define MOBILEONE_Q8_TARGET MOBILEONE_TARGET_NEON_DOTPROD
#define MOBILEONE_Q8_SUDOT 0
#include "qpwconv1x1_neon.hpp"
#undef MOBILEONE_Q8_NS
#undef MOBILEONE_Q8_TARGET
#undef MOBILEONE_Q8_SUDOT

#define MOBILEONE_Q8_NS neon_i8mm
#define MOBILEONE_Q8_TARGET MOBILEONE_TARGET_NEON_I8MM
#define MOBILEONE_Q8_SUDOT 1
#include "qpwconv1x1_neon.hpp"
#undef MOBILEONE_Q8_NS
#undef MOBILEONE_Q8_TARGET
#undef MOBILEONE_Q8_SUDOT

namespace mobileone::kernels::neon_dotprod {
using neon::qdwconv3x3;
using neon::quantize;
}  // namespace mobileone::kernels::neon_dotprod

namespace mobileone::kernels::neon_i8mm {
using neon::qdwconv3x3;
using neon::quantize;
}  // namespace mobileone::kernels::neon_i8mm

#define MOBILEONE_QUANT_GEMM_TILES 1
#define MOBILEONE_QUANT_NS neon_dotprod
#define MOBILEONE_QUANT_NAME "dotprod"
#include "quant_kernel_set.hpp"
#define MOBILEONE_QUANT_NS neon_i8mm
#define MOBILEONE_QUANT_NAME "i8mm"
#include "quant_kernel_set.hpp"
#undef MOBILEONE_QUANT_GEMM_TILES

#endif  // __aarch64__
