// What a Context runs with each kernel set K (a layer, and the quantize pass before an int8 layer), behind
// one class template so that a build can compile it once per kernel set instead of in every translation unit.
//
// By default (header-only) the definitions are here and each translation unit that runs a Context
// instantiates them for every kernel set of the registry (dispatch.hpp). A program that defines
// MOBILEONE_PREBUILT_KERNEL_SETS sees only the declarations and links explicit instantiations compiled
// elsewhere: this repository's tests, tools, benchmarks and fuzzers do, from the static library that
// mobileone_add_kernel_set_library (cmake/kernel_sets.cmake) builds of tests/support/kernel_set_layers.cpp,
// which instantiates every row of KernelSets (adding a row needs nothing else).
#pragma once

#include <cstddef>
#include <cstdint>

#include "../layers.hpp"
#include "thread_pool.hpp"

namespace mobileone::detail {

template <class K>
struct KernelSetLayers {
  static void run(const LayerStep& step, const LayerScratch& scratch, ThreadPool& pool);
  // float -> uint8 before an int8 layer (kernel sets with int8 families only; a no-op for the others).
  static void quantize(const float* input, std::size_t count, float inv_scale, std::uint8_t* output, ThreadPool& pool);
};

#if !defined(MOBILEONE_PREBUILT_KERNEL_SETS)
template <class K>
void KernelSetLayers<K>::run(const LayerStep& step, const LayerScratch& scratch, ThreadPool& pool) {
  run_layer<K>(step, scratch, pool);
}

template <class K>
void KernelSetLayers<K>::quantize(const float* input, std::size_t count, float inv_scale, std::uint8_t* output,
                                  ThreadPool& pool) {
  if constexpr (has_int8_families<K>::value) run_quantize<K>(input, count, inv_scale, output, pool);
}
#endif

}  // namespace mobileone::detail
