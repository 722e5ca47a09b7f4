// Every layer kind on odd shapes (channel counts that are not multiples of any vector width, odd and
// tiny spatial sizes, stride 1 and 2, with and without ReLU, squeeze-excite) through the engine on every
// ISA, against the independent naive reference; plus thread-count determinism and workspace reuse.
#include <doctest/doctest.h>

#include <cstring>

#include <mobileone/mobileone.hpp>

#include "naive_reference.hpp"
#include "support/blob_writer.hpp"

using namespace mobileone;

namespace {

// A small custom MobileOne: stem, then the given units, then the head.
std::vector<unsigned char> custom_model(int stem_channels, std::vector<int> stage_units, std::vector<int> stage_channels,
                                        std::vector<int> se_units, int classes, std::uint64_t seed) {
  Architecture arch{"custom", stem_channels, std::move(stage_units), std::move(stage_channels), std::move(se_units), classes};
  return random_model_blob(arch, seed, 32);
}

std::vector<float> random_input(int height, int width, std::uint64_t seed) {
  WeightRandom random(seed);
  std::vector<float> x(std::size_t(3) * height * width);
  for (float& v : x) v = random.uniform(-1.f, 1.f);
  return x;
}


void check_against_naive(const std::vector<unsigned char>& blob, int height, int width) {
  const Model model = Model::from_buffer(blob.data(), blob.size());
  const std::vector<float> input = random_input(height, width, std::uint64_t(height) * 131 + std::uint64_t(width));
  const testing::NaiveResult expected = testing::naive_forward(parse_blob(blob.data(), blob.size()), input.data(), height, width);
  for (Isa isa : runnable_isas()) {
    CAPTURE(isa_name(isa));
    CAPTURE(height);
    CAPTURE(width);
    Context context(model, Options{1, isa});
    CHECK(testing::max_relative_difference(context.run(input.data(), 3, height, width), expected.logits) <= 1e-4);
    const int last = model.num_stages();
    const FeatureMap map = context.feature_map(last);
    const testing::NchwTensor& ref = expected.stage_outputs[std::size_t(last)];
    REQUIRE(map.channels == ref.channels);
    CHECK(testing::max_relative_difference(testing::nchw_values(map.data, map.height, map.width, map.channels),
                                           ref.data) <= 1e-4);
  }
}

}  // namespace

TEST_CASE("odd channel counts and sizes, every layer kind, against the naive reference") {
  SUBCASE("stem, depthwise s1/s2, pointwise with odd widths") {
    const auto blob = custom_model(5, {1, 2, 1}, {7, 13, 33}, {0, 0, 0}, 3, 1);
    for (auto [h, w] : {std::pair{1, 1}, {2, 3}, {5, 7}, {9, 4}, {17, 31}, {32, 32}}) check_against_naive(blob, h, w);
  }
  SUBCASE("squeeze-excite on depthwise and pointwise, hidden width 1 and more") {
    const auto blob = custom_model(16, {1, 2, 2}, {17, 24, 48}, {1, 2, 1}, 10, 2);
    for (auto [h, w] : {std::pair{3, 3}, {15, 13}, {40, 24}}) check_against_naive(blob, h, w);
  }
  SUBCASE("widths around the SIMD vector and panel sizes") {
    const auto blob = custom_model(15, {1, 1, 1, 1}, {16, 31, 63, 100}, {0, 0, 0, 1}, 17, 3);
    for (auto [h, w] : {std::pair{11, 19}, {64, 48}}) check_against_naive(blob, h, w);
  }
  SUBCASE("a single-stage model with one class") {
    const auto blob = custom_model(8, {3}, {8}, {0}, 1, 4);
    check_against_naive(blob, 6, 10);
  }
}

TEST_CASE("results are bitwise identical for any thread count, and the workspace is reused") {
  const auto blob = random_model_blob(Architecture::variant("s0"), 5, 64);
  const Model model = Model::from_buffer(blob.data(), blob.size());
  const std::vector<float> input = random_input(64, 64, 9);
  for (Isa isa : runnable_isas()) {
    CAPTURE(isa_name(isa));
    Context single(model, Options{1, isa});
    const std::vector<float> reference = single.run(input.data(), 3, 64, 64);
    for (int threads : {2, 3, 4}) {
      Context context(model, Options{threads, isa});
      CHECK(context.threads() == threads);
      const std::vector<float>& logits = context.run(input.data(), 3, 64, 64);
      CHECK(std::memcmp(logits.data(), reference.data(), reference.size() * sizeof(float)) == 0);
      // Same size again: the same workspace, no new allocation; other sizes re-plan.
      const std::size_t workspace = context.workspace_bytes();
      context.run(input.data(), 3, 64, 64);
      CHECK(context.workspace_bytes() == workspace);
      CHECK(std::memcmp(context.logits().data(), reference.data(), reference.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("wrong inputs to a context are refused with a clear error") {
  const auto blob = random_model_blob(Architecture::variant("s0"), 5, 64);
  Context context(Model::from_buffer(blob.data(), blob.size()), Options{1});
  const std::vector<float> input(3 * 8 * 8, 0.f);
  CHECK_THROWS_WITH_AS(context.run(input.data(), 4, 8, 8), doctest::Contains("4 channels"), Error);
  CHECK_THROWS_WITH_AS(context.run(input.data(), 3, 0, 8), doctest::Contains("out of range"), Error);
  CHECK_THROWS_WITH_AS(context.run(nullptr, 3, 8, 8), doctest::Contains("null"), Error);
  CHECK_THROWS_WITH_AS(context.feature_map(0), doctest::Contains("before any run"), Error);
  CHECK_THROWS_WITH_AS(context.run(), doctest::Contains("before set_input"), Error);
  context.run(input.data(), 3, 8, 8);
  CHECK_THROWS_WITH_AS(context.feature_map(9), doctest::Contains("does not exist"), Error);
  const Isa unavailable = isa_supported(Isa::neon) ? Isa::avx2 : Isa::neon;
  CHECK_THROWS_WITH_AS(Context(Model::from_buffer(blob.data(), blob.size()), Options{1, unavailable}).isa(),
                       doctest::Contains("not available"), Error);
}
