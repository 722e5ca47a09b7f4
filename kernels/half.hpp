// The 16-bit float formats of the bf16 and fp16 kernel sets: storage types and their scalar conversions
// (the references' arithmetic and the packing's; SIMD kernels convert with their own instructions, which
// round the same way: to nearest, ties to even).
//   bf16: float32's sign, 8-bit exponent and top 7 mantissa bits (same range as float32, ~2.4 digits).
//   fp16: IEEE binary16, 5-bit exponent, 10 mantissa bits (~3.3 digits, largest finite 65504).
// Distinct types, so that a bf16 buffer can never be handed to an fp16 kernel.
#pragma once

#include <cstdint>
#include <cstring>

namespace mobileone::kernels {

enum class HalfFormat { bf16, fp16 };

template <HalfFormat F>
struct Half {
  std::uint16_t bits;
};
using bf16 = Half<HalfFormat::bf16>;
using fp16 = Half<HalfFormat::fp16>;

namespace half_detail {
inline std::uint32_t bits_of(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
inline float float_of(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
}  // namespace half_detail

inline float to_float(float x) { return x; }
inline float to_float(bf16 x) { return half_detail::float_of(std::uint32_t(x.bits) << 16); }
inline float to_float(fp16 x) {
  const std::uint32_t sign = std::uint32_t(x.bits & 0x8000u) << 16;
  const std::uint32_t exponent = (x.bits >> 10) & 0x1Fu, mantissa = x.bits & 0x3FFu;
  if (exponent == 0x1F) return half_detail::float_of(sign | 0x7F800000u | (mantissa << 13));  // inf, NaN
  if (exponent != 0) return half_detail::float_of(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Zero or subnormal: mantissa * 2^-24, exact in float32.
  const float magnitude = float(mantissa) * half_detail::float_of(0x33800000u);
  return sign ? -magnitude : magnitude;
}

// float32 -> T, round to nearest, ties to even; NaN stays a (quiet) NaN, overflow gives infinity.
template <class T>
T from_float(float x);

template <>
inline float from_float<float>(float x) {
  return x;
}

template <>
inline bf16 from_float<bf16>(float x) {
  const std::uint32_t u = half_detail::bits_of(x);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return bf16{std::uint16_t((u >> 16) | 0x40u)};
  return bf16{std::uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16)};
}

template <>
inline fp16 from_float<fp16>(float x) {
  const std::uint32_t u = half_detail::bits_of(x);
  const std::uint16_t sign = std::uint16_t((u >> 16) & 0x8000u);
  const std::uint32_t magnitude = u & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) return fp16{std::uint16_t(sign | 0x7E00u | ((magnitude >> 13) & 0x3FFu))};
  if (magnitude >= 0x477FF000u) return fp16{std::uint16_t(sign | 0x7C00u)};  // rounds to >= 65520: infinity
  if (magnitude >= 0x38800000u) {  // normal in fp16 (>= 2^-14): rebias the exponent, round 13 bits away
    const std::uint32_t rebiased = magnitude - (112u << 23);
    return fp16{std::uint16_t(sign | ((rebiased + 0xFFFu + ((rebiased >> 13) & 1u)) >> 13))};
  }
  // Subnormal or zero in fp16: units of 2^-24, rounded to nearest even by float32 arithmetic (exact: the
  // product is below 2^10, so adding 2^23 rounds exactly once at the units bit).
  const float scaled = half_detail::float_of(magnitude) * half_detail::float_of(0x4B800000u);  // * 2^24
  const std::uint32_t units = half_detail::bits_of(scaled + 8388608.f) - 0x4B000000u;
  return fp16{std::uint16_t(sign | units)};
}

// The storage type's name in messages and benchmark names.
inline constexpr const char* element_name(float*) { return "f32"; }
inline constexpr const char* element_name(bf16*) { return "bf16"; }
inline constexpr const char* element_name(fp16*) { return "f16"; }

}  // namespace mobileone::kernels
