// The Sec. 3.2 ablation network (bench/ablation_net.hpp), every variant on every ISA, on a small input:
//   - against an independent naive forward pass in double precision (tests/naive_reference.hpp's layers,
//     the activations' defining formulas, the residual adds written out), so every activation pass,
//     squeeze-excite block and skip connection is checked where the network puts it;
//   - the ReLU variant, a plain MobileOne-like graph, bitwise against mobileone::Context on the same blob;
//   - SIMD paths against the scalar one, thread counts against each other, and time_ablation's table.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <optional>
#include <vector>

#include <mobileone/mobileone.hpp>

#include "ablation_net.hpp"
#include "naive_reference.hpp"

using namespace mobileone;
using bench::AblationNet;
using bench::AblationVariant;

namespace {

constexpr int kInputSize = 40;  // odd sizes down the network (20, 10, 5, 3, 2) hit every stride-2 edge
constexpr AblationVariant kVariants[] = {AblationVariant::relu,       AblationVariant::gelu,    AblationVariant::silu,
                                         AblationVariant::hard_swish, AblationVariant::se_relu, AblationVariant::skip};


// The activations as defined (GELU in its tanh form), in double.
double activation(kernels::Activation a, double x) {
  switch (a) {
    case kernels::Activation::relu: return std::max(x, 0.0);
    case kernels::Activation::gelu:
      return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / std::acos(-1.0)) * (x + 0.044715 * x * x * x)));
    case kernels::Activation::silu: return x / (1.0 + std::exp(-x));
    case kernels::Activation::hard_swish: return x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;
  }
  return 0.0;
}

// The network as its header describes it: after every conv either the variant's activation or ReLU,
// except the pointwise convs of the squeeze-excite variants, whose ReLU comes after SE (and, around a
// unit that keeps its shape in the skip variant, after the residual add).
std::vector<double> naive_ablation(const BlobView& blob, AblationVariant variant, const std::vector<float>& input,
                                   int size) {
  const std::optional<kernels::Activation> separate = bench::separate_activation(variant);
  const bool se = bench::has_squeeze_excite(variant);
  auto activate = [&](testing::NchwTensor& t, kernels::Activation a) {
    for (double& v : t.data) v = activation(a, v);
  };
  testing::NchwTensor x{3, size, size, std::vector<double>(input.begin(), input.end())}, unit_input;
  std::vector<double> pooled, logits;
  for (const LayerDesc& d : blob.layers) {
    switch (d.kind) {
      case LayerKind::conv3x3:
      case LayerKind::dwconv3x3:
        if (d.kind == LayerKind::dwconv3x3) unit_input = x;
        x = testing::naive_conv3x3(x, d, d.kind == LayerKind::dwconv3x3);
        activate(x, separate.value_or(kernels::Activation::relu));
        break;
      case LayerKind::pwconv1x1:
        x = testing::naive_pointwise(x, d);
        if (!se) activate(x, separate.value_or(kernels::Activation::relu));
        break;
      case LayerKind::squeeze_excite:
        testing::naive_squeeze_excite(x, d);
        if (variant == AblationVariant::skip && x.channels == unit_input.channels && x.height == unit_input.height &&
            x.width == unit_input.width)
          for (std::size_t i = 0; i < x.data.size(); ++i) x.data[i] += unit_input.data[i];
        activate(x, kernels::Activation::relu);
        break;
      case LayerKind::avgpool: {
        const std::size_t plane = std::size_t(x.height) * std::size_t(x.width);
        pooled.assign(std::size_t(x.channels), 0.0);
        for (std::size_t c = 0; c < pooled.size(); ++c) {
          for (std::size_t p = 0; p < plane; ++p) pooled[c] += x.data[c * plane + p];
          pooled[c] /= double(plane);
        }
        break;
      }
      case LayerKind::linear:
        for (int o = 0; o < d.out_channels; ++o) {
          double acc = d.tensors[1].data[o];
          for (int i = 0; i < d.in_channels; ++i)
            acc += double(d.tensors[0].data[std::size_t(o) * std::size_t(d.in_channels) + std::size_t(i)]) * pooled[std::size_t(i)];
          logits.push_back(acc);
        }
        break;
    }
  }
  return logits;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("the network has the documented shape") {
  const AblationNet net(AblationVariant::skip, Isa::scalar, 1, 7, 224);
  CHECK(net.layers() == 30);
  const std::vector<LayerDesc>& layers = net.model().layers();
  CHECK(std::count_if(layers.begin(), layers.end(), [](const LayerDesc& d) { return d.kind == LayerKind::squeeze_excite; }) == 15);
  // Residuals (SE without its own ReLU) on the 10 units that keep their shape.
  CHECK(std::count_if(layers.begin(), layers.end(),
                      [](const LayerDesc& d) { return d.kind == LayerKind::squeeze_excite && !d.relu; }) == 10);
  // Counted by hand at 224x224: stem 10838016 + depthwise 20095488 + pointwise 642252800 + SE 520704 +
  // linear 1024000.
  CHECK(net.macs() == 674731008.0);
  CHECK(!bench::ablation_network_summary().empty());
}

TEST_CASE("every variant on every ISA matches the naive double-precision network") {
  for (AblationVariant variant : kVariants) {
    CAPTURE(bench::ablation_variant_name(variant));
    AblationNet scalar(variant, Isa::scalar, 1, 11, kInputSize);
    scalar.run();
    const std::vector<double> expected = naive_ablation(detail::ModelAccess::data(scalar.model()).blob, variant, scalar.input(), kInputSize);
    CHECK(testing::max_relative_difference(scalar.logits(), expected) <= 1e-5);
    for (Isa isa : runnable_isas()) {
      if (isa == Isa::scalar) continue;
      CAPTURE(isa_name(isa));
      AblationNet net(variant, isa, 1, 11, kInputSize);
      net.run();
      CHECK(testing::max_relative_difference(net.logits(), expected) <= 1e-5);
      CHECK(testing::max_relative_difference(net.logits(), scalar.logits()) <= 1e-5);
    }
  }
}

TEST_CASE("the ReLU variant equals mobileone::Context on the same blob") {
  for (Isa isa : runnable_isas()) {
    CAPTURE(isa_name(isa));
    AblationNet net(AblationVariant::relu, isa, 1, 13, kInputSize);
    net.run();
    Context context(net.model(), Options{1, isa});
    CHECK(bitwise_equal(context.run(net.input().data(), 3, kInputSize, kInputSize), net.logits()));
  }
}

TEST_CASE("results do not depend on the thread count, and runs repeat exactly") {
  const Isa isa = best_isa();
  for (AblationVariant variant : {AblationVariant::gelu, AblationVariant::skip}) {
    CAPTURE(bench::ablation_variant_name(variant));
    AblationNet one(variant, isa, 1, 17, kInputSize), two(variant, isa, 2, 17, kInputSize);
    one.run();
    const std::vector<float> first = one.logits();
    one.run();
    two.run();
    CHECK(bitwise_equal(one.logits(), first));
    CHECK(bitwise_equal(two.logits(), first));
  }
}

TEST_CASE("time_ablation reports every requested row against the ReLU baseline") {
  const std::vector<AblationVariant> table3(std::begin(bench::kBlockAblation), std::end(bench::kBlockAblation));
  const std::vector<bench::AblationRow> rows = bench::time_ablation(table3, Isa::scalar, 1, 1, 3, 5, kInputSize);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].name == "ReLU");
  CHECK(rows[0].relative_to_relu == 1.0);
  CHECK(rows[0].min_relative_to_relu == 1.0);
  for (const bench::AblationRow& row : rows) {
    CHECK(row.min_ms > 0.0);
    CHECK(row.min_ms <= row.median_ms);
  }
  // Without the baseline in the list it is timed anyway.
  const auto gelu = bench::time_ablation({AblationVariant::gelu}, Isa::scalar, 1, 0, 1, 5, kInputSize);
  REQUIRE(gelu.size() == 1);
  CHECK(gelu[0].relative_to_relu > 0.0);
  CHECK(gelu[0].min_relative_to_relu > 0.0);
}
