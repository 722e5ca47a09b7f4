// MAC and parameter counts of bench/model_stats.hpp (used by every benchmark's counters and by
// mobileone-bench --correlation) against the paper's Table 9 and a per-layer count done by hand.
#include <doctest/doctest.h>

#include <cmath>

#include "model_stats.hpp"
#include "support/architecture.hpp"

namespace {

struct PaperRow {
  const char* variant;
  double mmacs;     // Table 9, "FLOPs (M)": multiply-adds at 224x224
  double mparams;   // Table 9, "Params (M)", rounded to 0.1 M
};

}  // namespace

TEST_CASE("S0..S4 at 224x224 count the MACs and parameters of the paper's Table 9") {
  const PaperRow rows[] = {{"s0", 275, 2.1}, {"s1", 825, 4.8}, {"s2", 1299, 7.8}, {"s3", 1896, 10.1}, {"s4", 2978, 14.8}};
  for (const PaperRow& row : rows) {
    CAPTURE(row.variant);
    const auto stats = mobileone::bench::model_stats(
        mobileone::architecture_layers(mobileone::Architecture::variant(row.variant)), 224, 224);
    const double mmacs = double(stats.macs) * 1e-6, mparams = double(stats.params) * 1e-6;
    CAPTURE(mmacs);
    CAPTURE(mparams);
    CHECK(std::abs(mmacs - row.mmacs) <= 0.0005 * row.mmacs);  // the paper rounds to 1 M
    CHECK(std::round(mparams * 10) / 10 == doctest::Approx(row.mparams));
  }
}

TEST_CASE("S0 exactly, layer by layer") {
  const auto stats =
      mobileone::bench::model_stats(mobileone::architecture_layers(mobileone::Architecture::variant("s0")), 224, 224);
  // 1 stem + 2 x (2 + 8 + 10 + 1) depthwise/pointwise layers + avgpool + linear.
  REQUIRE(stats.layers.size() == 45);
  const auto& stem = stats.layers[0];
  CHECK(stem.out_height == 112);
  CHECK(stem.macs == 112ull * 112 * 48 * 3 * 9);
  CHECK(stem.params == 48ull * 3 * 9 + 48);
  const auto& last_pointwise = stats.layers[42];  // stage4.1: 7x7, 256 -> 1024
  CHECK(mobileone::bench::layer_label(last_pointwise) == "stage4.1/pw1x1_to1024/C256_7x7");
  CHECK(last_pointwise.macs == 7ull * 7 * 256 * 1024);
  CHECK(last_pointwise.params == 256ull * 1024 + 1024);
  CHECK(mobileone::bench::layer_label(stats.layers[8]) == "stage2.3/pw1x1_to128/C128_28x28");
  CHECK(mobileone::bench::layer_label(stats.layers[7]) == "stage2.2/dw3x3_s1/C128_28x28");
  CHECK(stats.layers[44].macs == 1024ull * 1000);
  CHECK(stats.macs == 275110400ull);  // as weights/convert.py --inspect reports for the real checkpoint
  CHECK(stats.params == 2078504ull);
}
