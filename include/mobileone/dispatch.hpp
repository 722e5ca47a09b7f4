// The registry of kernel sets: which (ISA, precision) pairs this build carries and the kernel set of each.
// The one place to add a path (README "Adding an ISA or a precision"); the engine maps a run-time choice to
// the compile-time kernel set its layers are instantiated with, and the tests iterate the same list.
#pragma once

#include <iterator>
#include <utility>

#include "error.hpp"
#include "isa.hpp"
#include "kernels/registry.hpp"

namespace mobileone::detail {

template <Isa I, Precision P, class K>
struct KernelSet {
  static constexpr Isa isa = I;
  static constexpr Precision precision = P;
  static constexpr const char* name = isa_name(I);
  using Kernels = K;
};

template <class... Sets>
struct KernelSetList {};

// clang-format off
using KernelSets = KernelSetList<
    KernelSet<Isa::scalar, Precision::fp32, kernels::ref::F32Kernels>
#if defined(__x86_64__)
  , KernelSet<Isa::avx2, Precision::fp32, kernels::avx2::F32Kernels>
  , KernelSet<Isa::avx512, Precision::fp32, kernels::avx512::F32Kernels>
#endif
#if defined(__aarch64__)
  , KernelSet<Isa::neon, Precision::fp32, kernels::neon::F32Kernels>
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
  if (First::isa == isa && First::precision == precision) return std::forward<Fn>(fn)(typename First::Kernels{});
  if constexpr (sizeof...(Rest) > 0) {
    return with_kernel_set_in(KernelSetList<Rest...>{}, isa, precision, std::forward<Fn>(fn));
  } else {
    throw Error(std::string("no ") + precision_name(precision) + " kernels for ISA '" + isa_name(isa) + "' in this build");
  }
}

// Calls fn(Kernels{}) with the kernel set of (isa, precision); isa already resolved and supported.
template <class Fn>
decltype(auto) with_kernel_set(Isa isa, Precision precision, Fn&& fn) {
  return with_kernel_set_in(KernelSets{}, isa, precision, std::forward<Fn>(fn));
}

}  // namespace mobileone::detail
