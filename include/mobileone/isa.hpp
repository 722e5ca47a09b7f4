// Instruction-set selection. x86-64 binaries carry scalar, AVX2+FMA and AVX-512 kernels and pick one at
// run time from CPUID; AArch64 binaries carry scalar and NEON. MOBILEONE_ISA=scalar|avx2|avx512|neon or
// Options::isa forces a path (tests, benchmarks).
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>

#include "error.hpp"

namespace mobileone {

enum class Isa { automatic, scalar, avx2, avx512, neon };

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::automatic: return "auto";
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::neon: return "neon";
  }
  return "unknown";
}

inline Isa parse_isa(std::string_view name) {
  for (Isa isa : {Isa::automatic, Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon})
    if (name == isa_name(isa)) return isa;
  throw Error("unknown ISA '" + std::string(name) + "' (expected auto, scalar, avx2, avx512 or neon)");
}

// Whether this binary carries the kernels and this CPU can run them.
inline bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::automatic:
    case Isa::scalar: return true;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
    case Isa::avx2:
    case Isa::avx512: return false;
#endif
#if defined(__aarch64__)
    case Isa::neon: return true;
#else
    case Isa::neon: return false;
#endif
  }
  return false;
}

inline Isa best_isa() {
  for (Isa isa : {Isa::avx512, Isa::avx2, Isa::neon})
    if (isa_supported(isa)) return isa;
  return Isa::scalar;
}

// automatic -> MOBILEONE_ISA if set, else the best this CPU runs. A forced ISA this machine cannot run
// is an error, never a silent fallback: a test that asks for AVX-512 must get AVX-512.
inline Isa resolve_isa(Isa requested) {
  if (requested == Isa::automatic) {
    const char* forced = std::getenv("MOBILEONE_ISA");
    if (forced == nullptr || *forced == '\0') return best_isa();
    requested = parse_isa(forced);
    if (requested == Isa::automatic) return best_isa();
  }
  if (!isa_supported(requested))
    throw Error(std::string("ISA '") + isa_name(requested) + "' is not available on this CPU or in this build");
  return requested;
}

}  // namespace mobileone
