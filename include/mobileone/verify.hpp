// The golden self-check: a blob of format version 3 carries a small input and the converter's float64
// outputs of every stage and of the logits on it (weights/FORMAT.md "Version 3"). verify() runs that input
// through the engine on the kernels a Context would use and reports, per stage, how far the engine is from
// those outputs: run once on each phone model (or at an app's first launch), it catches a miscompiled
// kernel, a wrong ISA path or a corrupted model that still has a valid checksum.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "blob.hpp"
#include "context.hpp"
#include "error.hpp"
#include "isa.hpp"
#include "model.hpp"

namespace mobileone {

// The largest relative error (max|ours - golden| / max|golden| over a stage) a correct engine shows in
// each precision, from measurements with margin (README "Self-check on a device (--verify)"). fp32 against
// the float64 outputs: below 3e-6 on the real S0 on every ISA. int8 against the float64 forward of the
// int8 arithmetic (uint8 inputs, clipping included): 1e-6 as long as every uint8 value rounds as in double,
// but one that an epilogue's float32 rounding puts on the other step (1/255 of a stage's range) moves the
// layers after it, and such cascades reached 4 % on int8 S0 models. A wrong kernel, scale or channel
// order moves stages by 10-100 %; one altered weight can hide below 0.1 (fp32 sees it). bf16 and fp16
// against the float64 outputs of the float32 weights: the real S0's worst stage is 0.033 in bf16 (8-bit
// mantissas) and 0.0033 in fp16 on the scalar sets (the SIMD sets round in other orders, the NEON fp16
// pointwise sums in fp16 blocks): 2.4x and 6x margins. One negated weight in S0's stages 1..3 moves
// them by 0.16-0.94, in stage 4 by 0.036: bf16 misses that one, fp16 and fp32 do not.
inline double verification_tolerance(Precision precision) {
  switch (precision) {
    case Precision::fp32: return 1e-4;
    case Precision::int8: return 0.1;
    case Precision::bf16: return 0.08;
    case Precision::fp16: return 0.02;
    case Precision::automatic: break;  // verify() runs a resolved precision
  }
  return 0.0;
}

struct StageVerification {
  int stage = 0;                // 0 = the stem .. num_stages; num_stages + 1 = the logits
  std::string name;             // "stem", "stage1" .. "stage<S>", "logits"
  double relative_error = 0.0;  // max|ours - golden| / max|golden| (max|ours| if the golden output is all 0)
  double tolerance = 0.0;       // verification_tolerance() of the precision that ran
  bool passed() const { return relative_error <= tolerance; }  // false for NaN
};

struct Verification {
  bool available = false;  // false: the blob has no golden data (format versions 1 and 2); nothing ran
  Isa isa = Isa::automatic;
  Precision precision = Precision::automatic;
  std::string kernel_set;  // Context::kernel_set_name() of the run
  int height = 0, width = 0;  // the golden input's size
  std::vector<StageVerification> stages;  // the stem, stages 1..S, then the logits

  bool passed() const { return available && first_divergence() == nullptr; }
  // The first stage past its tolerance (errors propagate: it is where the engine goes wrong), or null.
  const StageVerification* first_divergence() const {
    for (const StageVerification& s : stages)
      if (!s.passed()) return &s;
    return nullptr;
  }
};

inline bool has_golden_data(const Model& model) { return detail::ModelAccess::data(model).blob.golden.available(); }

namespace detail {

inline bool non_finite(float v) {  // on the bits, so that it holds under -ffast-math too
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return (bits & 0x7f800000u) == 0x7f800000u;
}

// max|ours - golden| / max|golden|; `ours` is read through at(i) at NHWC index i of the NCHW golden
// element (c, y, x), and compared with the golden value quantized as the engine holds it when `scale` > 0
// (a stage kept in uint8 for the next int8 layer). Infinite when the engine produced a NaN or an infinity.
template <class At>
double relative_error(const float* golden, int channels, int height, int width, const At& at, float scale = 0.f) {
  double worst = 0.0, range = 0.0;
  bool finite = true;
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const float ours = at((std::size_t(y) * std::size_t(width) + std::size_t(x)) * std::size_t(channels) + std::size_t(c));
        double want = golden[(std::size_t(c) * std::size_t(height) + std::size_t(y)) * std::size_t(width) + std::size_t(x)];
        if (scale > 0.f) want = double(scale) * std::clamp(std::nearbyint(want / double(scale)), 0.0, 255.0);
        finite = finite && !non_finite(ours);
        worst = std::max(worst, std::fabs(double(ours) - want));
        range = std::max(range, std::fabs(want));
      }
  if (!finite) return HUGE_VAL;
  return range > 0.0 ? worst / range : worst;
}

}  // namespace detail

// Runs the golden input with `options` (ISA, precision, threads as a Context takes them) and compares.
// Without golden data returns {available = false} and runs nothing. Throws mobileone::Error for options a
// Context refuses (an ISA this CPU lacks, int8 on a float32 model).
inline Verification verify(const Model& model, Options options = {}) {
  Verification v;
  const GoldenView& golden = detail::ModelAccess::data(model).blob.golden;
  if (!golden.available()) return v;
  options.profile = false;
  Context context(model, options);
  v.available = true;
  v.isa = context.isa();
  v.precision = context.precision();
  v.kernel_set = context.kernel_set_name();
  v.height = golden.height();
  v.width = golden.width();
  context.run(golden.input.data, 3, v.height, v.width);
  const double tolerance = verification_tolerance(v.precision);
  const GoldenOutputs& expected = v.precision == Precision::int8 ? golden.int8 : golden.fp32;
  for (int s = 0; s <= model.num_stages(); ++s) {
    const FeatureMap f = context.feature_map(s);
    const TensorView& want = expected.stages[std::size_t(s)];
    if (std::uint32_t(f.channels) != want.dims[1] || std::uint32_t(f.height) != want.dims[2] ||
        std::uint32_t(f.width) != want.dims[3])
      throw Error("internal: stage " + std::to_string(s) + " is " + std::to_string(f.height) + "x" + std::to_string(f.width) +
                  "x" + std::to_string(f.channels) + ", its golden output has another shape");
    const double error =
        detail::relative_error(want.data, f.channels, f.height, f.width, [&](std::size_t i) { return f.at(i); }, f.scale);
    v.stages.push_back({s, s == 0 ? "stem" : "stage" + std::to_string(s), error, tolerance});
  }
  const std::vector<float>& logits = context.logits();
  const double error = detail::relative_error(expected.logits.data, int(logits.size()), 1, 1, [&](std::size_t i) { return logits[i]; });
  v.stages.push_back({model.num_stages() + 1, "logits", error, tolerance});
  return v;
}

// The check on the kernels `context` runs (its ISA, precision and thread count), in a context of its own:
// the results, input and workspace of `context` are left as they are.
inline Verification verify(const Context& context) {
  Options options;
  options.threads = context.threads();
  options.isa = context.isa();
  options.precision = context.precision();
  return verify(context.model(), options);
}

}  // namespace mobileone
