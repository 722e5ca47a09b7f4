// Instantiates every kernel family written over vector traits for one ISA. NO include guard on purpose:
// isa_x86.hpp (once per x86 ISA) and isa_neon.hpp include it, after defining
//   MOBILEONE_SIMD_NS      the ISA's namespace under mobileone::kernels, which already holds `Vec` (the
//                          vector traits, simd_<isa>.hpp) and `Tuning` (unrolls and tile sizes);
//   MOBILEONE_SIMD_TARGET  the target attribute each of its functions gets (simd_target.hpp; empty on NEON).
// On x86 the pointwise, depthwise and stem microkernels are written once for both widths and instantiated
// here too; NEON's are hand-written (isa_neon.hpp includes them). It leaves the kernel set `F32Kernels`
// (kernel_set.hpp) in that namespace and undefines both macros.

#include "activation_simd.hpp"
#include "channel_mean_simd.hpp"
#include "linear_simd.hpp"
#include "squeeze_excite_simd.hpp"
#if defined(__x86_64__)
#include "pwconv1x1_x86.hpp"
#include "conv3x3_x86.hpp"
#include "dwconv3x3_x86.hpp"
#endif
#define MOBILEONE_KERNEL_SET_GEMM_TILES 1
#include "kernel_set.hpp"
#undef MOBILEONE_KERNEL_SET_GEMM_TILES

#undef MOBILEONE_SIMD_NS
#undef MOBILEONE_SIMD_TARGET
