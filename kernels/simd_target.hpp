// Per-function ISA targets. The x86 build uses no -mavx2/-march flags, so one binary runs on any x86-64:
// each SIMD function carries its ISA as a target attribute and is only called after the run-time CPUID
// check (isa.hpp). Everything is inline or a template, and each ISA's code lives in its own namespace
// (kernels::avx2, kernels::avx512, kernels::neon), so there is no ODR clash between ISAs. AArch64 always
// has NEON: its kernels need no attribute.
#pragma once

#if defined(__x86_64__)
#define MOBILEONE_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define MOBILEONE_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
// The int8 kernel sets (isa_x86_int8.hpp): the fp32 sets' ISAs plus the u8 x s8 dot product vpdpbusd, EVEX
// (AVX512-VNNI) on zmm, VEX (AVX-VNNI) on ymm. Each is a superset of its fp32 target, so the fp32 `Vec`
// helpers inline into its functions.
#define MOBILEONE_TARGET_AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma")))
#define MOBILEONE_TARGET_AVX2_VNNI __attribute__((target("avx2,fma,avxvnni")))
// The bf16 kernel set (isa_x86_bf16.hpp): avx512's target plus AVX512-BF16 (vdpbf16ps, vcvtneps2bf16), a
// superset again, so the fp32 `Vec` helpers inline into its functions.
#define MOBILEONE_TARGET_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma")))
#endif
#define MOBILEONE_TARGET_NEON
#if defined(__aarch64__)
// The AArch64 int8 kernel sets (isa_neon_int8.hpp), called only after the HWCAP check. "arch=armv8.2-a+..."
// rather than "+dotprod": GCC's arm_neon.h declares these intrinsics under exactly that target, and an
// always-inline intrinsic only inlines into a superset (every CPU with either feature is ARMv8.2 or later).
#define MOBILEONE_TARGET_NEON_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define MOBILEONE_TARGET_NEON_I8MM __attribute__((target("arch=armv8.2-a+i8mm")))
// The AArch64 16-bit kernel sets (isa_neon_half.hpp), the same way: FEAT_FP16 (FMLA .8h) and FEAT_BF16
// (BFDOT, BFCVTN).
#define MOBILEONE_TARGET_NEON_FP16 __attribute__((target("arch=armv8.2-a+fp16")))
#define MOBILEONE_TARGET_NEON_BF16 __attribute__((target("arch=armv8.2-a+bf16")))
#endif
#define MOBILEONE_TARGET_SCALAR

// Vector helpers must be inlined into their callers (which carry the same target), never called.
#if defined(__GNUC__) || defined(__clang__)
#define MOBILEONE_SIMD_INLINE inline __attribute__((always_inline))
#else
#define MOBILEONE_SIMD_INLINE inline
#endif
