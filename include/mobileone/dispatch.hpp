// The registry of kernel sets: which (ISA, precision) pairs this build carries and the kernel set of each.
// The one place to add a path (README "Adding an ISA or a precision"); the engine maps a run-time choice to
// the compile-time kernel set its layers are instantiated with, and the tests iterate the same list.
#pragma once

#include <iterator>
#include <string>
#include <utility>

#include "error.hpp"
#include "isa.hpp"
#include "kernels/registry.hpp"

namespace mobileone::detail {

inline bool no_extension_needed() { return true; }

// One row: the kernel set K runs (ISA I, precision P) where the CPU runs I and has the extension `Needs`
// tests for (VNNI, dotprod, ...). Rows of the same (I, P) are listed best first; the first runnable wins.
template <Isa I, Precision P, class K, bool (*Needs)() = no_extension_needed>
struct KernelSet {
  static constexpr Isa isa = I;
  static constexpr Precision precision = P;
  using Kernels = K;
  static bool runs_here() { return isa_supported(I) && Needs(); }
  // "avx512" for float32 sets; int8 sets add their int8 families where those differ: "avx512+vnni",
  // "avx2+scalar", "scalar".
  static std::string name() {
    if constexpr (P == Precision::fp32) {
      return isa_name(I);
    } else {
      const std::string isa = isa_name(I), quant = K::kQuantName;
      return quant == isa ? isa : isa + "+" + quant;
    }
  }
};

template <class F32Set, class Quant>
using Int8Kernels = kernels::QuantKernels<F32Set, Quant>;

template <class... Sets>
struct KernelSetList {};

// clang-format off
using KernelSets = KernelSetList<
    KernelSet<Isa::scalar, Precision::fp32, kernels::ref::F32Kernels>
  , KernelSet<Isa::scalar, Precision::int8, Int8Kernels<kernels::ref::F32Kernels, kernels::ref::QuantFamilies>>
#if defined(__x86_64__)
  , KernelSet<Isa::avx2, Precision::fp32, kernels::avx2::F32Kernels>
  , KernelSet<Isa::avx2, Precision::int8, Int8Kernels<kernels::avx2::F32Kernels, kernels::avx2_vnni::QuantFamilies>,
              cpu_has_avx_vnni>
  , KernelSet<Isa::avx2, Precision::int8, Int8Kernels<kernels::avx2::F32Kernels, kernels::avx2_maddubs::QuantFamilies>>
  , KernelSet<Isa::avx512, Precision::fp32, kernels::avx512::F32Kernels>
  , KernelSet<Isa::avx512, Precision::int8, Int8Kernels<kernels::avx512::F32Kernels, kernels::avx512_vnni::QuantFamilies>,
              cpu_has_avx512_vnni>
  , KernelSet<Isa::avx512, Precision::int8, Int8Kernels<kernels::avx512::F32Kernels, kernels::avx2_maddubs::QuantFamilies>>
#endif
#if defined(__aarch64__)
  , KernelSet<Isa::neon, Precision::fp32, kernels::neon::F32Kernels>
  , KernelSet<Isa::neon, Precision::int8, Int8Kernels<kernels::neon::F32Kernels, kernels::neon_i8mm::QuantFamilies>,
              cpu_has_i8mm>
  , KernelSet<Isa::neon, Precision::int8, Int8Kernels<kernels::neon::F32Kernels, kernels::neon_dotprod::QuantFamilies>,
              cpu_has_dotprod>
  , KernelSet<Isa::neon, Precision::int8, Int8Kernels<kernels::neon::F32Kernels, kernels::ref::QuantFamilies>>
#endif
>;
// clang-format on

template <class... Sets>
constexpr bool lists_isa(KernelSetList<Sets...>, Isa isa) {
  return ((Sets::isa == isa) || ...);
}
constexpr bool registry_matches_isa_table() {
  for (Isa isa : kAllIsas)
    if (isa_compiled(isa) != lists_isa(KernelSets{}, isa)) return false;
  return true;
}
static_assert(registry_matches_isa_table(), "isa_compiled() (isa.hpp) and KernelSets disagree");

// fn(Set{}) for every kernel set of the registry, in order.
template <class Fn, class... Sets>
void for_each_kernel_set_in(KernelSetList<Sets...>, Fn&& fn) {
  (fn(Sets{}), ...);
}
template <class Fn>
void for_each_kernel_set(Fn&& fn) {
  for_each_kernel_set_in(KernelSets{}, std::forward<Fn>(fn));
}

template <class Fn, class First, class... Rest>
decltype(auto) with_kernel_set_in(KernelSetList<First, Rest...>, Isa isa, Precision precision, Fn&& fn) {
  if (First::isa == isa && First::precision == precision && First::runs_here())
    return std::forward<Fn>(fn)(typename First::Kernels{});
  if constexpr (sizeof...(Rest) > 0) {
    return with_kernel_set_in(KernelSetList<Rest...>{}, isa, precision, std::forward<Fn>(fn));
  } else {
    throw Error(std::string("no ") + precision_name(precision) + " kernels for ISA '" + isa_name(isa) + "' in this build");
  }
}

// Calls fn(Kernels{}) with the first runnable kernel set of (isa, precision); isa already resolved and
// supported, precision fp32 or int8.
template <class Fn>
decltype(auto) with_kernel_set(Isa isa, Precision precision, Fn&& fn) {
  return with_kernel_set_in(KernelSets{}, isa, precision, std::forward<Fn>(fn));
}

// The name of the kernel set with_kernel_set(isa, precision, ...) runs ("avx512+vnni").
inline std::string kernel_set_name(Isa isa, Precision precision) {
  std::string name;
  for_each_kernel_set([&](auto set) {
    using Set = decltype(set);
    if (name.empty() && Set::isa == isa && Set::precision == precision && Set::runs_here()) name = Set::name();
  });
  return name;
}

}  // namespace mobileone::detail
