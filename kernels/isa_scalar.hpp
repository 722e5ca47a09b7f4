// The scalar kernel set: the oracle every SIMD kernel is tested against, and the fallback on any CPU.
#pragma once

#include <cstddef>

#include "activation_ref.hpp"
#include "channel_mean_ref.hpp"
#include "conv3x3_ref.hpp"
#include "dwconv3x3_ref.hpp"
#include "linear_ref.hpp"
#include "pack.hpp"
#include "pwconv1x1_ref.hpp"
#include "qdwconv3x3_ref.hpp"
#include "qpwconv1x1_ref.hpp"
#include "quantize_ref.hpp"
#include "squeeze_excite_ref.hpp"

namespace mobileone::kernels::ref {

struct Tuning {
  static constexpr StemLayout kStemLayout = StemLayout::taps;  // conv3x3_ref.hpp reads [3][3][in][out]
  static constexpr std::size_t kPointwiseMinPixelsPerTask = 8;
};

}  // namespace mobileone::kernels::ref

#define MOBILEONE_SIMD_NS ref
#include "kernel_set.hpp"
#undef MOBILEONE_SIMD_NS

#define MOBILEONE_QUANT_NS ref
#define MOBILEONE_QUANT_NAME "scalar"
#include "quant_kernel_set.hpp"
