// The explicit instantiations of detail::KernelSetLayers (include/mobileone/detail/kernel_set_layers.hpp)
// that translation units built with MOBILEONE_PREBUILT_KERNEL_SETS link. cmake/kernel_sets.cmake compiles
// this file once per shard so that the kernel sets build in parallel: shard s of n instantiates the
// registry's rows s, s + n, s + 2n, ... (dispatch.hpp), so a new row is picked up with nothing else to do.
#include <mobileone/detail/kernel_set_layers.hpp>
#include <mobileone/dispatch.hpp>

#include <cstddef>

#if !defined(MOBILEONE_KERNEL_SET_SHARD) || !defined(MOBILEONE_KERNEL_SET_SHARDS)
#error "built by cmake/kernel_sets.cmake, which defines MOBILEONE_KERNEL_SET_SHARD and MOBILEONE_KERNEL_SET_SHARDS"
#endif

namespace mobileone::detail {
namespace {

// Past the last row: a placeholder per index, whose KernelSetLayers is empty.
template <std::size_t I>
struct NoKernelSet {};

template <std::size_t I, class List>
struct Row {
  using Kernels = NoKernelSet<I>;
};
template <class First, class... Rest>
struct Row<0, KernelSetList<First, Rest...>> {
  using Kernels = typename First::Kernels;
};
template <std::size_t I, class First, class... Rest>
struct Row<I, KernelSetList<First, Rest...>> : Row<I - 1, KernelSetList<Rest...>> {};

template <class... Sets>
constexpr std::size_t row_count(KernelSetList<Sets...>) {
  return sizeof...(Sets);
}

constexpr std::size_t kRowsPerShard = 16;
static_assert(row_count(KernelSets{}) <= kRowsPerShard * MOBILEONE_KERNEL_SET_SHARDS,
              "more kernel sets than the shards instantiate: raise kRowsPerShard");

}  // namespace

template <std::size_t I>
struct KernelSetLayers<NoKernelSet<I>> {};

#define MOBILEONE_INSTANTIATE_ROW(r) \
  template struct KernelSetLayers<Row<MOBILEONE_KERNEL_SET_SHARD + (r) * MOBILEONE_KERNEL_SET_SHARDS, KernelSets>::Kernels>;
MOBILEONE_INSTANTIATE_ROW(0)
MOBILEONE_INSTANTIATE_ROW(1)
MOBILEONE_INSTANTIATE_ROW(2)
MOBILEONE_INSTANTIATE_ROW(3)
MOBILEONE_INSTANTIATE_ROW(4)
MOBILEONE_INSTANTIATE_ROW(5)
MOBILEONE_INSTANTIATE_ROW(6)
MOBILEONE_INSTANTIATE_ROW(7)
MOBILEONE_INSTANTIATE_ROW(8)
MOBILEONE_INSTANTIATE_ROW(9)
MOBILEONE_INSTANTIATE_ROW(10)
MOBILEONE_INSTANTIATE_ROW(11)
MOBILEONE_INSTANTIATE_ROW(12)
MOBILEONE_INSTANTIATE_ROW(13)
MOBILEONE_INSTANTIATE_ROW(14)
MOBILEONE_INSTANTIATE_ROW(15)
#undef MOBILEONE_INSTANTIATE_ROW

}  // namespace mobileone::detail
