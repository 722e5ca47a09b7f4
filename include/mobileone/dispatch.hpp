// Maps a run-time ISA choice to the compile-time kernel set the layers are instantiated with.
#pragma once

#include <utility>

#include "isa.hpp"
#include "kernels/kernel_set_ref.hpp"

namespace mobileone::detail {

// Calls fn(KernelSet{}) with the kernel set of `isa` (already resolved and supported).
template <class Fn>
decltype(auto) with_kernel_set(Isa isa, Fn&& fn) {
  switch (isa) {
    default: return std::forward<Fn>(fn)(kernels::RefKernels{});
  }
}

}  // namespace mobileone::detail
