// Elementwise activations (in place) and the residual add, written once over a vector-traits type for
// both x86 ISAs. NO include guard on purpose: activation_avx2.hpp and activation_avx512.hpp include it once
// each inside their namespace (see pwconv1x1_x86.hpp).
//
// GELU and SiLU are x * sigmoid(v), sigmoid(v) = 1 / (1 + exp(-v)) with a vector exp (constants and
// error bounds in kernel_args.hpp): clamp, n = round(x log2(e)), r = x - n ln(2) in two FMAs, the Taylor
// polynomial of exp(r) in Horner form, times 2^n built in the exponent bits. Clamping keeps every
// intermediate finite for any input (sigmoid saturates to 1 and ~4e-39 instead of 1 and 0), and the
// division is the exact one, so results stay within ~5e-7 relative of the scalar reference. Every element
// is computed the same way whether it falls in a full vector or the masked tail, so splitting a range
// between threads never changes a result.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include activation_avx2.hpp or activation_avx512.hpp, not this file"
#endif

#include <cstddef>
#include <iterator>

#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

namespace activation_detail {

MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE Vec::type exp(Vec::type x) {
  namespace c = exp_constants;
  x = Vec::min(Vec::max(x, Vec::set1(c::kMin)), Vec::set1(c::kMax));
  const Vec::type n = Vec::round(Vec::mul(x, Vec::set1(c::kLog2e)));
  Vec::type r = Vec::fmadd(n, Vec::set1(-c::kLn2Hi), x);
  r = Vec::fmadd(n, Vec::set1(-c::kLn2Lo), r);
  Vec::type p = Vec::set1(c::kTaylor[0]);
#pragma GCC unroll 8
  for (std::size_t k = 1; k < std::size(c::kTaylor); ++k) p = Vec::fmadd(p, r, Vec::set1(c::kTaylor[k]));
  return Vec::mul(p, Vec::pow2i(n));
}

MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE Vec::type sigmoid(Vec::type v) {
  const Vec::type one = Vec::set1(1.f);
  return Vec::div(one, Vec::add(one, exp(Vec::sub(Vec::zero(), v))));
}

template <Activation A>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE Vec::type activation(Vec::type x) {
  if constexpr (A == Activation::relu) {
    return Vec::max(x, Vec::zero());
  } else if constexpr (A == Activation::gelu) {
    const Vec::type inner = Vec::fmadd(Vec::mul(Vec::mul(x, x), x), Vec::set1(kGeluCubic), x);
    return Vec::mul(x, sigmoid(Vec::mul(inner, Vec::set1(kGeluSigmoidScale))));
  } else if constexpr (A == Activation::silu) {
    return Vec::mul(x, sigmoid(x));
  } else {
    static_assert(A == Activation::hard_swish);
    const Vec::type gate = Vec::min(Vec::max(Vec::add(x, Vec::set1(3.f)), Vec::zero()), Vec::set1(6.f));
    return Vec::mul(Vec::mul(x, gate), Vec::set1(1.f / 6.f));
  }
}

}  // namespace activation_detail

// Elements [begin, end), in place.
template <Activation A>
MOBILEONE_SIMD_TARGET inline void activate(const ActivationArgs& a, std::size_t begin, std::size_t end) {
  constexpr std::size_t W = Vec::kWidth;
  std::size_t i = begin;
  for (; i + W <= end; i += W) Vec::store(a.data + i, activation_detail::activation<A>(Vec::load(a.data + i)));
  if (i < end) {
    const int n = int(end - i);
    Vec::store_partial(a.data + i, activation_detail::activation<A>(Vec::load_partial(a.data + i, n)), n);
  }
}

// data[i] += addend[i] (then ReLU) for elements [begin, end): one add (and max) per element, so the
// values equal the reference's.
MOBILEONE_SIMD_TARGET inline void add(const AddArgs& a, std::size_t begin, std::size_t end) {
  constexpr std::size_t W = Vec::kWidth;
  std::size_t i = begin;
  for (; i + W <= end; i += W) {
    Vec::type v = Vec::add(Vec::load(a.data + i), Vec::load(a.addend + i));
    if (a.relu) v = Vec::max(v, Vec::zero());
    Vec::store(a.data + i, v);
  }
  if (i < end) {
    const int n = int(end - i);
    Vec::type v = Vec::add(Vec::load_partial(a.data + i, n), Vec::load_partial(a.addend + i, n));
    if (a.relu) v = Vec::max(v, Vec::zero());
    Vec::store_partial(a.data + i, v, n);
  }
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
