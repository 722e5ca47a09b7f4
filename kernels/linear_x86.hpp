// Fully connected layer (the classifier head), written once over a vector-traits type for both x86 ISAs.
// NO include guard on purpose: linear_avx2.hpp and linear_avx512.hpp include it once each inside their
// namespace (see pwconv1x1_x86.hpp).
//
// out[o] = bias[o] + W[o] . x with W [out][in] as stored. With one input vector every weight is used once,
// so the layer streams W from memory (4 MB for S0, 8 MB for S2..S4): four output rows at a time, each with
// its own accumulator, keep four sequential streams in flight for the prefetchers. Each output's sum is
// formed the same way whichever outputs a task gets, so splits do not change results.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include linear_avx2.hpp or linear_avx512.hpp, not this file"
#endif

#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

template <int R>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE void linear_rows(const LinearArgs& a, int o) {
  using V = typename Vec::type;
  constexpr int W = Vec::kWidth;
  const int n = a.in_features;
  const float* w[R];
  V acc[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    w[r] = a.weights + std::size_t(o + r) * std::size_t(n);
    acc[r] = Vec::zero();
  }
  int i = 0;
  for (; i + W <= n; i += W) {
    const V x = Vec::load(a.input + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r] = Vec::fmadd(Vec::load(w[r] + i), x, acc[r]);
  }
  if (i < n) {
    const V x = Vec::load_partial(a.input + i, n - i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r] = Vec::fmadd(Vec::load_partial(w[r] + i, n - i), x, acc[r]);
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) a.output[o + r] = a.bias[o + r] + Vec::reduce_add(acc[r]);
}

// Outputs [out_begin, out_end).
MOBILEONE_SIMD_TARGET inline void linear(const LinearArgs& a, int out_begin, int out_end) {
  int o = out_begin;
  for (; o + 4 <= out_end; o += 4) linear_rows<4>(a, o);
  for (; o < out_end; ++o) linear_rows<1>(a, o);
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
