// Elementwise activations (in place) and the residual add, written once over the vector traits of every
// SIMD ISA. NO include guard on purpose: simd_instantiate.hpp includes it once per ISA, inside that ISA's
// namespace (see there).
//
// GELU and SiLU are x * sigmoid(v), sigmoid(v) = 1 / (1 + exp(-v)) with a vector exp (constants and
// error bounds in kernel_args.hpp): clamp, n = round(x log2(e)), r = x - n ln(2) in two FMAs, the Taylor
// polynomial of exp(r) in Horner form, times 2^n built in the exponent bits. Clamping keeps every
// intermediate finite for any input (sigmoid saturates to 1 and ~4e-39 instead of 1 and 0), and the
// division is the exact one, so results stay within ~5e-7 relative of the scalar reference. One exp is a
// chain of ~10 dependent FMAs, which an in-order core (Cortex-A55) only hides by interleaving independent
// vectors: Tuning::kElementwiseVectors per step. Every element is computed the same way whether it falls
// in a full vector or the partial tail, so splitting a range between threads never changes a result.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include kernels/registry.hpp, not this file"
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
    return Vec::relu(x);
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

// The per-vector operations of the passes below (structs, not lambdas: a lambda would need the ISA's
// target attribute too, and always-inline member functions keep the loops free of calls).
template <Activation A>
struct ActivationOp {
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static Vec::type apply(Vec::type x, Vec::type) { return activation<A>(x); }
};
template <bool Relu>
struct AddOp {
  MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE static Vec::type apply(Vec::type x, Vec::type y) {
    return Relu ? Vec::relu(Vec::add(x, y)) : Vec::add(x, y);
  }
};

// data[i] = Op::apply(data[i], addend[i]) for [begin, end) (zeros for addend[i] without an addend),
// Tuning::kElementwiseVectors vectors per step, then single vectors, then a partial one.
template <class Op, bool HasAddend>
MOBILEONE_SIMD_TARGET MOBILEONE_SIMD_INLINE void for_each_vector(float* data, const float* addend, std::size_t begin,
                                                                 std::size_t end) {
  using V = Vec::type;
  constexpr int U = Tuning::kElementwiseVectors;
  constexpr std::size_t W = Vec::kWidth;
  std::size_t i = begin;
  for (; i + U * W <= end; i += U * W) {
    V y[U];
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u)
      y[u] = Op::apply(Vec::load(data + i + u * W), HasAddend ? Vec::load(addend + i + u * W) : Vec::zero());
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) Vec::store(data + i + u * W, y[u]);
  }
  for (; i + W <= end; i += W)
    Vec::store(data + i, Op::apply(Vec::load(data + i), HasAddend ? Vec::load(addend + i) : Vec::zero()));
  if (i < end) {
    const int n = int(end - i);
    const V y = HasAddend ? Vec::load_partial(addend + i, n) : Vec::zero();
    Vec::store_partial(data + i, Op::apply(Vec::load_partial(data + i, n), y), n);
  }
}

}  // namespace activation_detail

// Elements [begin, end), in place.
template <Activation A>
MOBILEONE_SIMD_TARGET inline void activate(const ActivationArgs& a, std::size_t begin, std::size_t end) {
  activation_detail::for_each_vector<activation_detail::ActivationOp<A>, false>(a.data, nullptr, begin, end);
}

// data[i] += addend[i] (then ReLU) for elements [begin, end): one add (and max) per element, so the
// values equal the reference's.
MOBILEONE_SIMD_TARGET inline void add(const AddArgs& a, std::size_t begin, std::size_t end) {
  if (a.relu)
    activation_detail::for_each_vector<activation_detail::AddOp<true>, true>(a.data, a.addend, begin, end);
  else
    activation_detail::for_each_vector<activation_detail::AddOp<false>, true>(a.data, a.addend, begin, end);
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
