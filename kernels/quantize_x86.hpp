// float -> uint8 activations (QuantizeArgs): requantize_u8(x * inv_scale), written once over the vector
// traits of both x86 int8 sets. NO include guard on purpose: isa_x86_int8.hpp includes it once per ISA,
// inside that ISA's namespace (which holds `Vec`, `QVec` and `QuantTuning`). A plain multiply (no FMA to
// fuse into) and QVec's requantization give the reference's bits.

#if !defined(MOBILEONE_SIMD_NS) || !defined(MOBILEONE_SIMD_TARGET)
#error "include kernels/isa_x86_int8.hpp, not this file"
#endif

#include <cstddef>
#include <cstdint>

#include "kernel_args.hpp"

namespace mobileone::kernels::MOBILEONE_SIMD_NS {

// Elements [begin, end): kQuantizeVectors vectors per step (independent loads in flight), then single
// vectors, then a masked tail.
MOBILEONE_SIMD_TARGET inline void quantize(const QuantizeArgs& a, std::size_t begin, std::size_t end) {
  constexpr std::size_t W = std::size_t(Vec::kWidth), U = std::size_t(QuantTuning::kQuantizeVectors);
  const typename Vec::type s = Vec::set1(a.inv_scale);
  const float* const in = a.input;
  std::uint8_t* const out = a.output;
  std::size_t i = begin;
  for (; i + U * W <= end; i += U * W)
#pragma GCC unroll 8
    for (std::size_t u = 0; u < U; ++u) QVec::store(out + i + u * W, Vec::mul(Vec::load(in + i + u * W), s));
  for (; i + W <= end; i += W) QVec::store(out + i, Vec::mul(Vec::load(in + i), s));
  if (i < end) {
    const int n = int(end - i);
    QVec::store_partial(out + i, Vec::mul(Vec::load_partial(in + i, n), s), n);
  }
}

}  // namespace mobileone::kernels::MOBILEONE_SIMD_NS
