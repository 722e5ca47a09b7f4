// The registry of kernel sets: which (ISA, precision) pairs this build carries and the kernel set of each.
// The one place to add a path (README "Adding an ISA or a precision"); the engine maps a run-time choice to
// the compile-time kernel set its layers are instantiated with, and the tests iterate the same list.
#pragma once

#include <iterator>
#include <string>
#include <type_traits>
#include <utility>

#include "detail/arm_midr.hpp"
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
  // "avx512" for float32 sets; int8 and 16-bit sets add the extension of their own families where it
  // differs: "avx512+vnni", "avx2+scalar", "avx512+bf16", "neon+fp16", "scalar".
  static std::string name() {
    if constexpr (P == Precision::fp32) {
      return isa_name(I);
    } else {
      const std::string isa = isa_name(I), extension = K::kExtensionName;
      return extension == isa ? isa : isa + "+" + extension;
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
  , KernelSet<Isa::scalar, Precision::bf16, kernels::ref::Bf16Kernels>
  , KernelSet<Isa::scalar, Precision::fp16, kernels::ref::Fp16Kernels>
#if defined(__x86_64__)
  , KernelSet<Isa::avx2, Precision::fp32, kernels::avx2::F32Kernels>
  , KernelSet<Isa::avx2, Precision::int8, Int8Kernels<kernels::avx2::F32Kernels, kernels::avx2_vnni::QuantFamilies>,
              cpu_has_avx_vnni>
  , KernelSet<Isa::avx2, Precision::int8, Int8Kernels<kernels::avx2::F32Kernels, kernels::avx2_maddubs::QuantFamilies>>
  , KernelSet<Isa::avx512, Precision::fp32, kernels::avx512::F32Kernels>
  , KernelSet<Isa::avx512, Precision::int8, Int8Kernels<kernels::avx512::F32Kernels, kernels::avx512_vnni::QuantFamilies>,
              cpu_has_avx512_vnni>
  , KernelSet<Isa::avx512, Precision::int8, Int8Kernels<kernels::avx512::F32Kernels, kernels::avx2_maddubs::QuantFamilies>>
  , KernelSet<Isa::avx512, Precision::bf16, kernels::avx512_bf16::HalfKernels, cpu_has_avx512_bf16>
#endif
#if defined(__aarch64__)
  , KernelSet<Isa::neon, Precision::fp32, kernels::neon_in_order::F32Kernels, cpu_is_in_order>
  , KernelSet<Isa::neon, Precision::fp32, kernels::neon::F32Kernels>
  , KernelSet<Isa::neon, Precision::int8, Int8Kernels<kernels::neon::F32Kernels, kernels::neon_i8mm::QuantFamilies>,
              cpu_has_i8mm>
  , KernelSet<Isa::neon, Precision::int8, Int8Kernels<kernels::neon::F32Kernels, kernels::neon_dotprod::QuantFamilies>,
              cpu_has_dotprod>
  , KernelSet<Isa::neon, Precision::int8, Int8Kernels<kernels::neon::F32Kernels, kernels::ref::QuantFamilies>>
  , KernelSet<Isa::neon, Precision::fp16, kernels::neon_fp16::HalfKernels, cpu_has_fp16_arithmetic>
  , KernelSet<Isa::neon, Precision::bf16, kernels::neon_bf16::HalfKernels, cpu_has_arm_bf16>
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

// Whether some kernel set of (isa, precision) runs on this CPU.
inline bool kernel_set_runs(Isa isa, Precision precision) {
  bool runs = false;
  for_each_kernel_set([&](auto set) {
    using Set = decltype(set);
    runs = runs || (Set::isa == isa && Set::precision == precision && Set::runs_here());
  });
  return runs;
}

// Throws the reason when no kernel set of (isa, precision) runs here (isa resolved and supported).
inline void require_kernel_set(Isa isa, Precision precision) {
  if (kernel_set_runs(isa, precision)) return;
  throw Error(std::string("precision ") + precision_name(precision) + " is not available for ISA '" + isa_name(isa) +
              "' on this CPU or in this build: it needs " + precision_requirement(precision) +
              " (fp32 runs everywhere; --isa scalar runs the reference kernels of every precision)");
}

// The rows of a list whose precision is Only (all of them for Precision::automatic), in order.
template <Precision Only, class Kept, class... Rest>
struct RowsOf {
  using type = Kept;
};
template <Precision Only, class... Kept, class First, class... Rest>
struct RowsOf<Only, KernelSetList<Kept...>, First, Rest...> {
  using type = typename RowsOf<Only,
                               std::conditional_t<Only == Precision::automatic || First::precision == Only,
                                                  KernelSetList<Kept..., First>, KernelSetList<Kept...>>,
                               Rest...>::type;
};
template <Precision Only, class... Sets>
typename RowsOf<Only, KernelSetList<>, Sets...>::type rows_of(KernelSetList<Sets...>);

// fn(Kernels{}) with the first runnable set of (isa, precision) in the list.
template <class Fn, class First, class... Rest>
decltype(auto) with_kernel_set_in(KernelSetList<First, Rest...>, Isa isa, Precision precision, Fn&& fn) {
  if (First::isa == isa && First::precision == precision && First::runs_here())
    return std::forward<Fn>(fn)(typename First::Kernels{});
  if constexpr (sizeof...(Rest) > 0) {
    return with_kernel_set_in(KernelSetList<Rest...>{}, isa, precision, std::forward<Fn>(fn));
  } else {
    require_kernel_set(isa, precision);
    throw Error(std::string("no ") + precision_name(precision) + " kernels for ISA '" + isa_name(isa) + "' in this build");
  }
}

// Calls fn(Kernels{}) with the first runnable kernel set of (isa, precision); isa already resolved and
// supported. fn is instantiated for every kernel set of the registry.
template <class Fn>
decltype(auto) with_kernel_set(Isa isa, Precision precision, Fn&& fn) {
  return with_kernel_set_in(KernelSets{}, isa, precision, std::forward<Fn>(fn));
}

// The same among the float32 kernel sets only (tools and tests of float32-only families: activations,
// layouts), so that only those are instantiated with fn.
template <class Fn>
decltype(auto) with_f32_kernel_set(Isa isa, Fn&& fn) {
  return with_kernel_set_in(decltype(rows_of<Precision::fp32>(KernelSets{})){}, isa, Precision::fp32,
                            std::forward<Fn>(fn));
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
