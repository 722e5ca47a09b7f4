// Instruction sets and precisions: the one registry every other place derives from (dispatch, the C API,
// the CLI's --isa, tests, benchmarks). x86-64 binaries carry scalar, AVX2+FMA and AVX-512 kernels and pick
// one at run time from CPUID; AArch64 binaries carry scalar and NEON. MOBILEONE_ISA=scalar|avx2|avx512|neon
// or Options::isa forces a path (tests, benchmarks). Which (ISA, precision) kernel sets a build carries is
// kernels/registry.hpp; README "Adding an ISA or a precision" lists the steps.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#elif defined(__aarch64__) && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

// X(id, C_ID, cpu_test): the enumerator Isa::id, its C API value MOBILEONE_ISA_<C_ID> (the position here,
// from 1: append, never reorder), and the function of mobileone::detail that says whether this CPU runs it.
// Among the ISAs of one architecture a later entry is a better one: automatic selection takes the last
// supported entry.
#define MOBILEONE_FOR_EACH_ISA(X)      \
  X(scalar, SCALAR, cpu_runs_scalar)   \
  X(avx2, AVX2, cpu_runs_avx2)         \
  X(avx512, AVX512, cpu_runs_avx512)   \
  X(neon, NEON, cpu_runs_neon)

// X(id, C_ID): Precision::id and MOBILEONE_PRECISION_<C_ID> (the position here, from 1: append only).
//   fp32  every layer in float32 (an int8 blob's int8 layers run on their dequantized weights)
//   int8  the blob's int8 layers in int8 (weights/FORMAT.md version 2), the others in float32
//   bf16  activations and pointwise/classifier weights in bfloat16, float32 accumulation (any blob; needs
//         AVX512-BF16 on x86-64, FEAT_BF16 on AArch64)
//   fp16  activations and pointwise/classifier weights in IEEE half (any blob; needs FEAT_FP16 on AArch64)
#define MOBILEONE_FOR_EACH_PRECISION(X) \
  X(fp32, FP32)                         \
  X(int8, INT8)                         \
  X(bf16, BF16)                         \
  X(fp16, FP16)

namespace mobileone {

enum class Isa {
  automatic,
#define MOBILEONE_ISA_ENUMERATOR(id, c_id, test) id,
  MOBILEONE_FOR_EACH_ISA(MOBILEONE_ISA_ENUMERATOR)
#undef MOBILEONE_ISA_ENUMERATOR
};

enum class Precision {
  automatic,  // int8 for a blob with int8 layers, else fp32
#define MOBILEONE_PRECISION_ENUMERATOR(id, c_id) id,
  MOBILEONE_FOR_EACH_PRECISION(MOBILEONE_PRECISION_ENUMERATOR)
#undef MOBILEONE_PRECISION_ENUMERATOR
};

namespace detail {

// What the CPU can run, independent of what this build carries (kernels/registry.hpp says that).
inline bool cpu_runs_scalar() { return true; }
inline bool cpu_runs_avx2() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}
inline bool cpu_runs_avx512() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}
inline bool cpu_runs_neon() {
#if defined(__aarch64__)
  return true;  // Advanced SIMD is mandatory in ARMv8-A
#else
  return false;
#endif
}

// Instruction-set extensions some kernel sets need beyond their ISA (dispatch.hpp lists which).
inline bool cpu_has_avx512_vnni() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return cpu_runs_avx512() && __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}
// AVX-VNNI (VEX vpdpbusd on ymm): CPUID leaf 7 subleaf 1, EAX bit 4 (GCC 12's __builtin_cpu_supports does
// not know it); the OS must save ymm state, which cpu_runs_avx2() already implies.
inline bool cpu_has_avx_vnni() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (!cpu_runs_avx2()) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0u));
  if (eax < 7) return false;
  __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(7u), "c"(1u));
  return (eax >> 4) & 1u;
#else
  return false;
#endif
}
// FEAT_DotProd (SDOT/UDOT) and FEAT_I8MM (USDOT, SMMLA): Linux/Android HWCAP_ASIMDDP (bit 20 of AT_HWCAP) and
// HWCAP2_I8MM (bit 13 of AT_HWCAP2); Apple's sysctl hw.optional.arm.FEAT_*.
inline bool arm_feature(unsigned long hwcap_bit, int which, const char* apple_name) {
#if defined(__aarch64__) && defined(__linux__)
  (void)apple_name;
  return (getauxval(which == 1 ? AT_HWCAP : AT_HWCAP2) >> hwcap_bit) & 1ul;
#elif defined(__aarch64__) && defined(__APPLE__)
  (void)hwcap_bit;
  (void)which;
  int value = 0;
  std::size_t size = sizeof value;
  return sysctlbyname(apple_name, &value, &size, nullptr, 0) == 0 && value != 0;
#else
  (void)hwcap_bit;
  (void)which;
  (void)apple_name;
  return false;
#endif
}
inline bool cpu_has_dotprod() { return arm_feature(20, 1, "hw.optional.arm.FEAT_DotProd"); }
inline bool cpu_has_i8mm() { return arm_feature(13, 2, "hw.optional.arm.FEAT_I8MM"); }
// FEAT_FP16 (half-precision arithmetic, FMLA .8h): HWCAP_ASIMDHP (bit 10 of AT_HWCAP); FEAT_BF16 (BFDOT,
// BFMMLA, BFCVT): HWCAP2_BF16 (bit 14 of AT_HWCAP2).
inline bool cpu_has_fp16_arithmetic() { return arm_feature(10, 1, "hw.optional.arm.FEAT_FP16"); }
inline bool cpu_has_arm_bf16() { return arm_feature(14, 2, "hw.optional.arm.FEAT_BF16"); }
// AVX512-BF16 (vdpbf16ps, vcvtne2ps2bf16) beside AVX-512 F/BW/DQ/VL.
inline bool cpu_has_avx512_bf16() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return cpu_runs_avx512() && __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

// What a precision needs beyond an ISA, for the error when no kernel set of it runs here.
inline const char* precision_requirement(Precision precision) {
  switch (precision) {
    case Precision::bf16: return "AVX512-BF16 on x86-64 or FEAT_BF16 on AArch64";
    case Precision::fp16: return "FEAT_FP16 arithmetic on AArch64 (ARMv8.2-A and later phones)";
    default: return "nothing beyond the ISA";
  }
}

// Whether this build carries kernels for the ISA (one per architecture; kernels/registry.hpp instantiates them).
inline constexpr bool isa_compiled(Isa isa) {
  switch (isa) {
    case Isa::automatic:
    case Isa::scalar: return true;
#if defined(__x86_64__)
    case Isa::avx2:
    case Isa::avx512: return true;
#endif
#if defined(__aarch64__)
    case Isa::neon: return true;
#endif
    default: return false;
  }
}

}  // namespace detail

inline constexpr Isa kAllIsas[] = {
#define MOBILEONE_ISA_ENTRY(id, c_id, test) Isa::id,
    MOBILEONE_FOR_EACH_ISA(MOBILEONE_ISA_ENTRY)
#undef MOBILEONE_ISA_ENTRY
};

inline constexpr const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::automatic: return "auto";
#define MOBILEONE_ISA_NAME(id, c_id, test) \
  case Isa::id: return #id;
    MOBILEONE_FOR_EACH_ISA(MOBILEONE_ISA_NAME)
#undef MOBILEONE_ISA_NAME
  }
  return "unknown";
}

inline constexpr const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::automatic: return "auto";
#define MOBILEONE_PRECISION_NAME(id, c_id) \
  case Precision::id: return #id;
    MOBILEONE_FOR_EACH_PRECISION(MOBILEONE_PRECISION_NAME)
#undef MOBILEONE_PRECISION_NAME
  }
  return "unknown";
}

// "auto, scalar, avx2, avx512 or neon": the accepted names, for messages and usage text.
inline std::string isa_choices() {
  std::string list = isa_name(Isa::automatic);
  for (std::size_t i = 0; i < std::size(kAllIsas); ++i)
    list += std::string(i + 1 == std::size(kAllIsas) ? " or " : ", ") + isa_name(kAllIsas[i]);
  return list;
}

inline Isa parse_isa(std::string_view name) {
  if (name == isa_name(Isa::automatic)) return Isa::automatic;
  for (Isa isa : kAllIsas)
    if (name == isa_name(isa)) return isa;
  throw Error("unknown ISA '" + std::string(name) + "' (expected " + isa_choices() + ")");
}

inline constexpr Precision kAllPrecisions[] = {
#define MOBILEONE_PRECISION_ENTRY(id, c_id) Precision::id,
    MOBILEONE_FOR_EACH_PRECISION(MOBILEONE_PRECISION_ENTRY)
#undef MOBILEONE_PRECISION_ENTRY
};

// "auto, fp32 or int8".
inline std::string precision_choices() {
  std::string list = precision_name(Precision::automatic);
  for (std::size_t i = 0; i < std::size(kAllPrecisions); ++i)
    list += std::string(i + 1 == std::size(kAllPrecisions) ? " or " : ", ") + precision_name(kAllPrecisions[i]);
  return list;
}

inline Precision parse_precision(std::string_view name) {
  if (name == precision_name(Precision::automatic)) return Precision::automatic;
  for (Precision p : kAllPrecisions)
    if (name == precision_name(p)) return p;
  throw Error("unknown precision '" + std::string(name) + "' (expected " + precision_choices() + ")");
}

// Whether this binary carries the kernels and this CPU can run them.
inline bool isa_supported(Isa isa) {
  if (!detail::isa_compiled(isa)) return false;
  switch (isa) {
    case Isa::automatic: return true;
#define MOBILEONE_ISA_TEST(id, c_id, test) \
  case Isa::id: return detail::test();
    MOBILEONE_FOR_EACH_ISA(MOBILEONE_ISA_TEST)
#undef MOBILEONE_ISA_TEST
  }
  return false;
}

// Every ISA this binary carries and this CPU runs, scalar first, best last.
inline std::vector<Isa> runnable_isas() {
  std::vector<Isa> isas;
  for (Isa isa : kAllIsas)
    if (isa_supported(isa)) isas.push_back(isa);
  return isas;
}

inline Isa best_isa() { return runnable_isas().back(); }

// automatic -> MOBILEONE_ISA if set, else the best this CPU runs. A forced ISA this machine cannot run
// is an error, never a silent fallback: a test that asks for AVX-512 must get AVX-512.
inline Isa resolve_isa(Isa requested) {
  if (requested == Isa::automatic) {
    const char* forced = std::getenv("MOBILEONE_ISA");
    if (forced == nullptr || *forced == '\0') return best_isa();
    try {
      requested = parse_isa(forced);
    } catch (const Error& e) {
      throw Error(std::string("environment variable MOBILEONE_ISA: ") + e.what());
    }
    if (requested == Isa::automatic) return best_isa();
  }
  if (!isa_supported(requested))
    throw Error(std::string("ISA '") + isa_name(requested) + "' is not available on this CPU or in this build");
  return requested;
}

}  // namespace mobileone
