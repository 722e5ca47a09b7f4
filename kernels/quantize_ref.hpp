// float -> uint8 activations (QuantizeArgs): scalar reference.
#pragma once

#include <cstddef>

#include "kernel_args.hpp"

namespace mobileone::kernels::ref {

inline void quantize(const QuantizeArgs& a, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) a.output[i] = requantize_u8(a.input[i] * a.inv_scale);
}

}  // namespace mobileone::kernels::ref
