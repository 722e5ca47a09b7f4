// Maps a run-time ISA choice to the compile-time kernel set the layers are instantiated with.
#pragma once

#include <utility>

#include "isa.hpp"
#include "kernels/kernel_set_ref.hpp"
#if defined(__x86_64__)
#include "kernels/kernel_set_avx2.hpp"
#include "kernels/kernel_set_avx512.hpp"
#endif
#if defined(__aarch64__)
#include "kernels/kernel_set_neon.hpp"
#endif

namespace mobileone::detail {

// Calls fn(KernelSet{}) with the kernel set of `isa` (already resolved and supported).
template <class Fn>
decltype(auto) with_kernel_set(Isa isa, Fn&& fn) {
  switch (isa) {
#if defined(__x86_64__)
    case Isa::avx2: return std::forward<Fn>(fn)(kernels::Avx2Kernels{});
    case Isa::avx512: return std::forward<Fn>(fn)(kernels::Avx512Kernels{});
#endif
#if defined(__aarch64__)
    case Isa::neon: return std::forward<Fn>(fn)(kernels::NeonKernels{});
#endif
    default: return std::forward<Fn>(fn)(kernels::RefKernels{});
  }
}

}  // namespace mobileone::detail
