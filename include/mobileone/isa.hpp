// Instruction sets and precisions: the one registry every other place derives from (dispatch, the C API,
// the CLI's --isa, tests, benchmarks). x86-64 binaries carry scalar, AVX2+FMA and AVX-512 kernels and pick
// one at run time from CPUID; AArch64 binaries carry scalar and NEON. MOBILEONE_ISA=scalar|avx2|avx512|neon
// or Options::isa forces a path (tests, benchmarks). Which (ISA, precision) kernel sets a build carries is
// kernels/registry.hpp; README "Adding an ISA or a precision" lists the steps.
#pragma once

#include <cstdlib>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"

// X(id, C_ID, cpu_test): the enumerator Isa::id, its C API value MOBILEONE_ISA_<C_ID> (the position here,
// from 1: append, never reorder), and the function of mobileone::detail that says whether this CPU runs it.
// Among the ISAs of one architecture a later entry is a better one: automatic selection takes the last
// supported entry.
#define MOBILEONE_FOR_EACH_ISA(X)      \
  X(scalar, SCALAR, cpu_runs_scalar)   \
  X(avx2, AVX2, cpu_runs_avx2)         \
  X(avx512, AVX512, cpu_runs_avx512)   \
  X(neon, NEON, cpu_runs_neon)

// X(id, C_ID): Precision::id and MOBILEONE_PRECISION_<C_ID>.
#define MOBILEONE_FOR_EACH_PRECISION(X) X(fp32, FP32)

namespace mobileone {

enum class Isa {
  automatic,
#define MOBILEONE_ISA_ENUMERATOR(id, c_id, test) id,
  MOBILEONE_FOR_EACH_ISA(MOBILEONE_ISA_ENUMERATOR)
#undef MOBILEONE_ISA_ENUMERATOR
};

enum class Precision {
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
