// An int8 kernel set: a float32 kernel set (for the layers a blob keeps in float32) plus the int8 families
// (`Quant`: qpwconv1x1, qdwconv3x3, quantize, QuantGemmTiles). Built from parts so that an ISA whose CPU
// lacks its int8 instructions still runs its float32 layers in SIMD, with the scalar int8 families
// (dispatch.hpp lists both rows, the fast one first).
#pragma once

namespace mobileone::kernels {

template <class F32, class Quant>
struct QuantKernels : F32, Quant {
  using Int8 = Quant;
};

}  // namespace mobileone::kernels
