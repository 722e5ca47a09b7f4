// Fully connected layer (the classifier head), written once over the vector traits of every SIMD ISA.
// NO include guard on purpose: simd_instantiate.hpp includes it once per ISA, inside that ISA's namespace.
//
// out[o] = bias[o] + W[o] . x with W [out][in] as stored. With one input vector every weight is used once,
// so the layer streams W from memory (4 MB for S0, 8 MB for S2..S4): four output rows at a time keep four
// sequential streams in flight for the prefetchers, each row with Tuning::kLinearAccumulators accumulator
// vectors (independent FMA chains). Each output's sum is formed the same way whichever outputs a task
// gets (lane-wise partial sums, a fixed reduction, the tail, then the bias), so splits never change results.
// Weights are float or a 16-bit T (LinearArgsOf<T>: half the bytes to stream; Vec's loads of T convert), the
// input and the sums float32.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include kernels/registry.hpp, not this file"
#endif

#include <cmath>
#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

namespace dot_detail {

// (acc[0] + acc[1]) + (acc[2] + acc[3]) ...: a fixed pairwise order, then the horizontal sum.
template <int A>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE float reduce(const typename Vec::type* acc) {
  if constexpr (A == 1) {
    return Vec::reduce_add(acc[0]);
  } else {
    static_assert(A % 2 == 0);
    typename Vec::type half[A / 2];
#pragma GCC unroll 8
    for (int j = 0; j < A / 2; ++j) half[j] = Vec::add(acc[2 * j], acc[2 * j + 1]);
    return reduce<A / 2>(half);
  }
}

// sum(w[r][i] * x[i]) over i in [0, n) for R rows at once: A accumulators per row over steps of A vectors,
// single vectors after that into accumulator 0, the tail into accumulator A - 1 where partial vectors are
// cheap (else by scalar FMAs after the reduction). w holds float or T.
template <int R, int A, class T>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE void dot_rows(const T* const* w, const float* x, int n, float* out) {
  using V = typename Vec::type;
  constexpr int W = Vec::kWidth;
  V acc[R][A];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < A; ++j) acc[r][j] = Vec::zero();
  int i = 0;
  for (; i + A * W <= n; i += A * W)
#pragma GCC unroll 8
    for (int j = 0; j < A; ++j) {
      const V xv = Vec::load(x + i + j * W);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[r][j] = Vec::fmadd(Vec::load(w[r] + i + j * W), xv, acc[r][j]);
    }
  for (; i + W <= n; i += W) {
    const V xv = Vec::load(x + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r][0] = Vec::fmadd(Vec::load(w[r] + i), xv, acc[r][0]);
  }
  if (Vec::kCheapPartial && i < n) {
    const V xv = Vec::load_partial(x + i, n - i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r][A - 1] = Vec::fmadd(Vec::load_partial(w[r] + i, n - i), xv, acc[r][A - 1]);
    i = n;
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    float s = reduce<A>(acc[r]);
    for (int j = i; j < n; ++j) s = std::fma(to_float(w[r][j]), x[j], s);
    out[r] = s;
  }
}

}  // namespace dot_detail

// Outputs [out_begin, out_end).
template <class T>
MOBILEONE_SIMD_TARGET void linear(const LinearArgsOf<T>& a, int out_begin, int out_end) {
  constexpr int A = Tuning::kLinearAccumulators;
  const std::size_t n = std::size_t(a.in_features);
  int o = out_begin;
  for (; o + 4 <= out_end; o += 4) {
    const T* w[4] = {a.weights + std::size_t(o) * n, a.weights + std::size_t(o + 1) * n,
                         a.weights + std::size_t(o + 2) * n, a.weights + std::size_t(o + 3) * n};
    float s[4];
    dot_detail::dot_rows<4, A>(w, a.input, a.in_features, s);
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) a.output[o + r] = a.bias[o + r] + s[r];
  }
  for (; o < out_end; ++o) {
    const T* w[1] = {a.weights + std::size_t(o) * n};
    float s;
    dot_detail::dot_rows<1, A>(w, a.input, a.in_features, &s);
    a.output[o] = a.bias[o] + s;
  }
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
