// Elementwise activations (in place) and the residual add, one element at a time: the scalar reference.
// GELU is the tanh form, evaluated as x * sigmoid(2u) (see kernel_args.hpp). Large finite arguments need
// no special care here: std::exp overflows to inf, and 1 / (1 + inf) is exactly the limit 0. At x = -inf,
// though, x * 0 would be NaN where the SIMD kernels (whose sigmoid saturates at ~4e-39, not 0) give -inf:
// there the reference returns -inf too, so every ISA agrees on every non-finite input.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "kernel_args.hpp"

namespace mobileone::kernels::ref {

inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

template <Activation A>
inline float activation(float x) {
  if constexpr (A == Activation::relu) {
    return std::max(x, 0.f);
  } else if constexpr (A == Activation::gelu) {
    if (x == -std::numeric_limits<float>::infinity()) return x;
    return x * sigmoid(kGeluSigmoidScale * (x + kGeluCubic * x * x * x));
  } else if constexpr (A == Activation::silu) {
    if (x == -std::numeric_limits<float>::infinity()) return x;
    return x * sigmoid(x);
  } else {
    static_assert(A == Activation::hard_swish);
    return x * std::min(std::max(x + 3.f, 0.f), 6.f) / 6.f;
  }
}

template <Activation A>
inline void activate(const ActivationArgs& a, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) a.data[i] = activation<A>(a.data[i]);
}

inline void add(const AddArgs& a, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    const float v = a.data[i] + a.addend[i];
    a.data[i] = a.relu ? std::max(v, 0.f) : v;
  }
}

}  // namespace mobileone::kernels::ref
