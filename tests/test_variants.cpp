// Every standard variant S0..S4 (random weights made here) on every ISA this machine runs, against the
// independent naive reference: logits and every stage's feature map.
#include <doctest/doctest.h>

#include <mobileone/mobileone.hpp>

#include "naive_reference.hpp"
#include "support/blob_writer.hpp"

using namespace mobileone;

namespace {


std::vector<float> random_input(int height, int width, std::uint64_t seed) {
  WeightRandom random(seed);
  std::vector<float> x(std::size_t(3) * height * width);
  for (float& v : x) v = random.uniform(-2.f, 2.f);
  return x;
}

}  // namespace

TEST_CASE("S0..S4 with random weights match the naive reference on every ISA") {
  const int height = 67, width = 50;  // odd and even sides, stride-2 edges at every stage
  const std::vector<float> input = random_input(height, width, 7);
  for (const char* variant : {"s0", "s1", "s2", "s3", "s4"}) {
    const std::vector<unsigned char> blob = random_model_blob(Architecture::variant(variant), 11);
    const Model model = Model::from_buffer(blob.data(), blob.size());
    const testing::NaiveResult expected = testing::naive_forward(parse_blob(blob.data(), blob.size()), input.data(), height, width);
    for (Isa isa : runnable_isas()) {
      CAPTURE(variant);
      CAPTURE(isa_name(isa));
      Context context(model, Options{1, isa});
      const std::vector<float>& logits = context.run(input.data(), 3, height, width);
      REQUIRE(logits.size() == 1000);
      CHECK(testing::max_relative_difference(logits, expected.logits) <= 1e-4);
      for (int stage = 0; stage <= model.num_stages(); ++stage) {
        CAPTURE(stage);
        const FeatureMap map = context.feature_map(stage);
        const testing::NchwTensor& ref = expected.stage_outputs[std::size_t(stage)];
        REQUIRE(map.channels == ref.channels);
        REQUIRE(map.height == ref.height);
        REQUIRE(map.width == ref.width);
        CHECK(testing::max_relative_difference(testing::nchw_values(map.data, map.height, map.width, map.channels),
                                               ref.data) <= 1e-4);
      }
    }
  }
}

TEST_CASE("architecture tables match the paper's parameter counts") {
  // Fused parameter counts (fact sheet §1.3, the paper's Table 7: 2.1/4.8/7.8/10.1/14.8 M).
  const std::pair<const char*, std::size_t> expected[] = {
      {"s0", 2078504}, {"s1", 4764840}, {"s2", 7808168}, {"s3", 10078312}, {"s4", 14838352}};
  for (const auto& entry : expected) {
    const char* variant = entry.first;  // not a structured binding: CAPTURE's lambda needs a variable (C++17)
    const std::size_t params = entry.second;
    const std::vector<unsigned char> blob = random_model_blob(Architecture::variant(variant), 1);
    const BlobView view = parse_blob(blob.data(), blob.size());
    std::size_t count = 0;
    for (const LayerDesc& d : view.layers)
      for (const TensorView& t : d.tensors) count += t.data ? t.element_count() : 0;
    CAPTURE(variant);
    CHECK(count == params);
  }
}
