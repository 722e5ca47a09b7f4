// Fully connected layer (the classifier head): scalar reference.
#pragma once

#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::ref {

template <class T>
void linear(const LinearArgsOf<T>& a, int out_begin, int out_end) {
  const std::size_t in = std::size_t(a.in_features);
  for (int o = out_begin; o < out_end; ++o) {
    float acc = a.bias[o];
    const T* w = a.weights + std::size_t(o) * in;
    for (std::size_t i = 0; i < in; ++i) acc += to_float(w[i]) * a.input[i];
    a.output[o] = acc;
  }
}

}  // namespace mobileone::kernels::ref
