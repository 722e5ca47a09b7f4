// 16-bit float networks (Precision::bf16, Precision::fp16) end to end, on every 16-bit kernel set this
// machine runs (the scalar references everywhere; AVX512-BF16 on x86, FEAT_FP16 / FEAT_BF16 NEON on
// AArch64 under qemu):
//   - the real S0 against float32 on the shared reference tensors (the bound: logits within 2e-2
//     relative for bf16), same top-1;
//   - random S0 and S4 (squeeze-excite) against float32, thread counts 1/2/3 bitwise identical;
//   - 16-bit feature maps; precision selection and the error where a CPU lacks a precision.
// Tolerances: bf16 keeps 8 significant bits, so every activation and weight moves by up to 2^-9 relative;
// over S0's 28 layers the real model's logits move by 1.4-1.6e-2 of their range (scalar reference,
// measured), a dropped diagonal or a wrong weight pair by far more (2.3e-2 with the diagonal merely rounded).
// fp16 keeps 11 bits: 1.9e-3 measured for float32 accumulation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "support/blob_writer.hpp"
#include "support/int8_blob.hpp"
#include "test_support.hpp"
#include <mobileone/dispatch.hpp>
#include <mobileone/mobileone.hpp>

using namespace mobileone;

namespace {

double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double worst = 0.0, range = 0.0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::fabs(double(got[i]) - double(want[i])));
    range = std::max(range, std::fabs(double(want[i])));
  }
  return worst / range;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

int argmax(const std::vector<float>& v) { return int(std::max_element(v.begin(), v.end()) - v.begin()); }

// The logit bound of a precision on a real model (see the top).
double real_model_bound(Precision p) { return p == Precision::bf16 ? 2e-2 : 5e-3; }

// fn(isa, precision, name) for every 16-bit kernel set that runs here (the first runnable row of each
// (ISA, precision): what a Context picks).
template <class Fn>
void for_each_half_set(Fn&& fn) {
  std::vector<std::pair<Isa, Precision>> seen;
  detail::for_each_kernel_set([&](auto set) {
    using Set = decltype(set);
    if constexpr (Set::precision == Precision::bf16 || Set::precision == Precision::fp16) {
      if (!Set::runs_here()) return;
      const std::pair<Isa, Precision> key{Set::isa, Set::precision};
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) return;
      seen.push_back(key);
      fn(Set::isa, Set::precision, Set::name());
    }
  });
  CHECK(seen.size() >= 2);  // at least the scalar bf16 and fp16 sets
}

std::vector<float> random_input(int side, std::uint64_t seed) {
  WeightRandom random(seed);
  std::vector<float> v(std::size_t(3) * std::size_t(side) * std::size_t(side));
  for (float& x : v) x = random.uniform(-2.f, 2.f);
  return v;
}

}  // namespace

TEST_CASE("the real S0 in bf16 and fp16 stays within the bound of float32 on the reference tensors") {
  const Model model = Model::load(testing::fixture_dir() + "/s0_real.mone");
  const std::string reference = testing::shared_dir() + "/reference/";
  std::vector<std::vector<float>> inputs, fp32;
  for (const char* image : {"apple", "chelsea"}) {
    inputs.push_back(testing::read_floats(reference + image + "_input_nchw.f32"));
    REQUIRE(inputs.back().size() == std::size_t(3 * 224 * 224));
    // The float32 reference on the best ISA here (within ~1e-6 of the scalar one; scalar is slow under qemu).
    fp32.push_back(Context(model, Options{1}).run(inputs.back().data(), 3, 224, 224));
  }
  for_each_half_set([&](Isa isa, Precision precision, const std::string& name) {
    if (testing::kEmulated && isa == Isa::scalar) return;  // the host build runs them (test_support.hpp)
    CAPTURE(name);
    const std::string precision_text = precision_name(precision);
    CAPTURE(precision_text);
    Context context(model, Options{1, isa, precision});
    CHECK(context.precision() == precision);
    // The scalar references are slow: one tensor for them, both for the SIMD sets.
    const std::size_t images = isa == Isa::scalar ? 1 : inputs.size();
    for (std::size_t i = 0; i < images; ++i) {
      CAPTURE(i);
      const std::vector<float> logits = context.run(inputs[i].data(), 3, 224, 224);
      const double error = relative_error(logits, fp32[i]);
      MESSAGE(name << " " << precision_text << " image " << i << ": logits within " << error);
      CHECK(error <= real_model_bound(precision));
      CHECK(argmax(logits) == argmax(fp32[i]));
    }
  });
}

TEST_CASE("16-bit networks with squeeze-excite stay close to float32 and are bitwise identical for any thread count") {
  constexpr int kSide = 64;
  for (const char* variant : {"s0", "s4"}) {
    CAPTURE(variant);
    const std::vector<unsigned char> blob = random_model_blob(Architecture::variant(variant), 17, kSide);
    const Model model = Model::from_buffer(blob.data(), blob.size());
    const std::vector<float> input = random_input(kSide, 3);
    // The float32 reference on the best ISA here (within ~1e-6 of the scalar one, far inside the bounds).
    const std::vector<float> fp32 = Context(model, Options{1}).run(input.data(), 3, kSide, kSide);
    for_each_half_set([&](Isa isa, Precision precision, const std::string& name) {
      if (testing::kEmulated && isa == Isa::scalar) return;  // the host build runs them (test_support.hpp)
      CAPTURE(name);
      const std::string precision_text = precision_name(precision);
      CAPTURE(precision_text);
      Context one(model, Options{1, isa, precision});
      const std::vector<float> logits = one.run(input.data(), 3, kSide, kSide);
      // Random weights have no trained structure that keeps errors small: a looser bound than the real
      // model's, still far below what a wrong kernel gives (errors of the order of the range).
      CHECK(relative_error(logits, fp32) <= (precision == Precision::bf16 ? 6e-2 : 1e-2));
      for (int threads : {2, 3}) {
        CAPTURE(threads);
        Context many(model, Options{threads, isa, precision});
        CHECK(bitwise_equal(many.run(input.data(), 3, kSide, kSide), logits));
      }
    });
  }
}

TEST_CASE("16-bit feature maps hold 16-bit values close to float32's") {
  constexpr int kSide = 64;
  const std::vector<unsigned char> blob = random_model_blob(Architecture::variant("s0"), 23, kSide);
  const Model model = Model::from_buffer(blob.data(), blob.size());
  const std::vector<float> input = random_input(kSide, 4);
  Context fp32(model, Options{1, Isa::scalar});
  fp32.run(input.data(), 3, kSide, kSide);
  for_each_half_set([&](Isa isa, Precision precision, const std::string& name) {
    CAPTURE(name);
    Context context(model, Options{1, isa, precision});
    context.run(input.data(), 3, kSide, kSide);
    for (int stage = 0; stage <= model.num_stages(); ++stage) {
      CAPTURE(stage);
      const FeatureMap want = fp32.feature_map(stage), got = context.feature_map(stage);
      REQUIRE(got.half != nullptr);
      CHECK(got.data == nullptr);
      CHECK((got.half_format == kernels::HalfFormat::bf16) == (precision == Precision::bf16));
      REQUIRE(got.channels == want.channels);
      double worst = 0.0, range = 0.0;
      const std::size_t count = std::size_t(want.height) * std::size_t(want.width) * std::size_t(want.channels);
      for (std::size_t i = 0; i < count; ++i) {
        worst = std::max(worst, std::fabs(double(got.at(i)) - double(want.at(i))));
        range = std::max(range, std::fabs(double(want.at(i))));
      }
      CHECK(worst <= (precision == Precision::bf16 ? 4e-2 : 8e-3) * range);
    }
  });
}

TEST_CASE("precision: 16-bit floats only where asked, any blob, and a clear error where the CPU lacks them") {
  constexpr int kSide = 64;
  const std::vector<unsigned char> fp32_blob = random_model_blob(Architecture::variant("s0"), 29, kSide);
  const Model model = Model::from_buffer(fp32_blob.data(), fp32_blob.size());
  CHECK(Context(model).precision() == Precision::fp32);
  // An int8 blob runs in 16 bits on its dequantized weights, as fp32 does.
  const std::vector<unsigned char> int8_blob = int8_blob_from(fp32_blob, 30, kSide);
  const Model int8_model = Model::from_buffer(int8_blob.data(), int8_blob.size());
  const std::vector<float> input = random_input(kSide, 5);
  const std::vector<float> dequantized =
      Context(int8_model, Options{1, Isa::scalar, Precision::fp32}).run(input.data(), 3, kSide, kSide);
  for (Precision p : {Precision::bf16, Precision::fp16}) {
    CAPTURE(precision_name(p));
    const std::vector<float> logits = Context(int8_model, Options{1, Isa::scalar, p}).run(input.data(), 3, kSide, kSide);
    CHECK(relative_error(logits, dequantized) <= (p == Precision::bf16 ? 6e-2 : 1e-2));
  }
  CHECK(parse_precision("bf16") == Precision::bf16);
  CHECK(parse_precision("fp16") == Precision::fp16);
  // Every (ISA, 16-bit precision) this CPU cannot run is refused when the Context is made, saying what it needs.
  int refused = 0;
  for (Isa isa : runnable_isas())
    for (Precision p : {Precision::bf16, Precision::fp16}) {
      if (detail::kernel_set_runs(isa, p)) continue;
      CAPTURE(isa_name(isa));
      CAPTURE(precision_name(p));
      ++refused;
      CHECK_THROWS_WITH_AS(Context(model, Options{1, isa, p}),
                           doctest::Contains((std::string("precision ") + precision_name(p) + " is not available").c_str()), Error);
    }
  MESSAGE(refused << " (ISA, 16-bit precision) pairs refused on this CPU");
}
