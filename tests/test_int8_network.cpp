// Int8 networks (weights/FORMAT.md version 2) end to end, on every int8 kernel set this machine runs:
//   - against the independent naive reference (tests/naive_reference.hpp: double precision, the format's
//     int8 semantics: uint8 inputs at each int8 layer's scale, effective int8 weights), random S0 and S4
//     (squeeze-excite: float layers between int8 ones, quantize passes), and against float32;
//   - thread counts 1/2/3 bitwise identical; precision selection (automatic, fp32 on an int8 blob, int8 on a
//     float32 blob refused); uint8 feature maps; the layer observer;
//   - the reader's version-2 checks, each failing with its message.
// The tolerance: an int8 layer rounds every activation to 1/255 of its range, so results legitimately move
// by a few percent of the logit range; a wrong scale, channel or diagonal moves them by the whole range.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "naive_reference.hpp"
#include "support/blob_writer.hpp"
#include "support/int8_blob.hpp"
#include <mobileone/dispatch.hpp>
#include <mobileone/mobileone.hpp>

using namespace mobileone;

namespace {

constexpr int kSide = 64;

std::vector<float> random_input(std::uint64_t seed) {
  WeightRandom random(seed);
  std::vector<float> v(std::size_t(3) * kSide * kSide);
  for (float& x : v) x = random.uniform(-2.f, 2.f);
  return v;
}

double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  double worst = 0.0, range = 0.0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    worst = std::max(worst, std::fabs(double(got[i]) - want[i]));
    range = std::max(range, std::fabs(want[i]));
  }
  return worst / range;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

struct Int8Model {
  std::vector<unsigned char> fp32_blob, int8_blob;
};

Int8Model make_models(const char* variant, std::uint64_t seed) {
  Int8Model m;
  m.fp32_blob = random_model_blob(Architecture::variant(variant), seed, kSide);
  m.int8_blob = int8_blob_from(m.fp32_blob, seed + 1, kSide);
  return m;
}

// Every int8 kernel set this CPU runs, by ISA (the first runnable row of each ISA: what a Context picks).
std::vector<Isa> int8_isas() {
  std::vector<Isa> isas;
  for (Isa isa : runnable_isas()) isas.push_back(isa);
  return isas;
}

}  // namespace

TEST_CASE("int8 networks match the naive int8 reference on every ISA, and stay close to float32") {
  for (const char* variant : {"s0", "s4"}) {
    CAPTURE(variant);
    const Int8Model m = make_models(variant, 31);
    const Model model = Model::from_buffer(m.int8_blob.data(), m.int8_blob.size());
    REQUIRE(model.has_int8_layers());
    const BlobView blob = parse_blob(m.int8_blob.data(), m.int8_blob.size());
    const BlobView fp32 = parse_blob(m.fp32_blob.data(), m.fp32_blob.size());
    const std::vector<float> input = random_input(5);
    const testing::NaiveResult naive = testing::naive_forward(blob, input.data(), kSide, kSide);
    const testing::NaiveResult naive_fp32 = testing::naive_forward(fp32, input.data(), kSide, kSide);
    for (Isa isa : int8_isas()) {
      CAPTURE(isa_name(isa));
      Context context(model, Options{1, isa});
      CHECK(context.precision() == Precision::int8);
      const std::vector<float> logits = context.run(input.data(), 3, kSide, kSide);
      // Rounding boundaries crossed differently (double vs float epilogues) move some uint8 values by one
      // step; measured here below 1e-2 of the logit range.
      CHECK(relative_error(logits, naive.logits) <= 3e-2);
      CHECK(relative_error(logits, naive_fp32.logits) <= 0.15);
      for (int threads : {2, 3}) {
        CAPTURE(threads);
        Context many(model, Options{threads, isa});
        CHECK(bitwise_equal(many.run(input.data(), 3, kSide, kSide), logits));
      }
    }
  }
}

TEST_CASE("int8 feature maps hold uint8 at the next layer's scale and match the naive stages") {
  const Int8Model m = make_models("s0", 41);
  const Model model = Model::from_buffer(m.int8_blob.data(), m.int8_blob.size());
  const BlobView blob = parse_blob(m.int8_blob.data(), m.int8_blob.size());
  const std::vector<float> input = random_input(6);
  const testing::NaiveResult naive = testing::naive_forward(blob, input.data(), kSide, kSide);
  Context context(model, Options{1});
  context.run(input.data(), 3, kSide, kSide);
  int quantized_stages = 0;
  for (int stage = 1; stage <= model.num_stages(); ++stage) {
    CAPTURE(stage);
    const FeatureMap f = context.feature_map(stage);
    testing::NchwTensor want = naive.stage_outputs[std::size_t(stage)];
    if (f.quantized) {  // as the next layer sees it: clipped to 255 steps of its scale
      ++quantized_stages;
      CHECK(f.data == nullptr);
      CHECK(f.scale > 0.f);
      testing::naive_quantize(want, f.scale);
    }
    double worst = 0.0, range = 0.0;
    for (int c = 0; c < f.channels; ++c)
      for (int y = 0; y < f.height; ++y)
        for (int x = 0; x < f.width; ++x) {
          const double got = f.at((std::size_t(y) * std::size_t(f.width) + std::size_t(x)) * std::size_t(f.channels) + std::size_t(c));
          worst = std::max(worst, std::fabs(got - want.at(c, y, x)));
          range = std::max(range, std::fabs(want.at(c, y, x)));
        }
    CHECK(worst <= 3e-2 * range);
  }
  CHECK(quantized_stages > 0);  // stage outputs feeding int8 layers stay uint8
}

TEST_CASE("precision: automatic follows the blob; fp32 runs an int8 blob dequantized; int8 needs int8 layers") {
  const Int8Model m = make_models("s0", 51);
  const Model int8_model = Model::from_buffer(m.int8_blob.data(), m.int8_blob.size());
  const Model fp32_model = Model::from_buffer(m.fp32_blob.data(), m.fp32_blob.size());
  CHECK(Context(int8_model).precision() == Precision::int8);
  CHECK(Context(fp32_model).precision() == Precision::fp32);
  CHECK(!fp32_model.has_int8_layers());
  try {
    Context refused(fp32_model, Options{1, Isa::automatic, Precision::int8});
    FAIL("int8 on a float32 blob was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("has no int8 layers") != std::string::npos);
  }
  // fp32 on the int8 blob: the effective weights in float, activations not quantized.
  const BlobView blob = parse_blob(m.int8_blob.data(), m.int8_blob.size());
  const std::vector<float> input = random_input(7);
  const testing::NaiveResult expected = testing::naive_forward(blob, input.data(), kSide, kSide, false);
  Context context(int8_model, Options{1, Isa::automatic, Precision::fp32});
  CHECK(context.precision() == Precision::fp32);
  const std::vector<float> logits = context.run(input.data(), 3, kSide, kSide);
  CHECK(relative_error(logits, expected.logits) <= 1e-4);
}

TEST_CASE("the layer observer sees every layer's complete output, uint8 where the engine keeps uint8") {
  const Int8Model m = make_models("s0", 61);
  const Model model = Model::from_buffer(m.int8_blob.data(), m.int8_blob.size());
  Context context(model, Options{1});
  std::vector<std::size_t> seen;
  int quantized = 0;
  detail::ContextAccess::set_layer_observer(context, [&](std::size_t i, const detail::LayerOutput& o) {
    seen.push_back(i);
    CHECK((o.data == nullptr) != (o.quantized == nullptr));
    CHECK(o.channels == model.layers()[i].out_channels);
    if (o.quantized) {
      ++quantized;
      CHECK(o.scale == model.layers()[i + 1].input_scale);
    }
  });
  const std::vector<float> input = random_input(8);
  context.run(input.data(), 3, kSide, kSide);
  REQUIRE(seen.size() == model.layers().size());
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i);
  CHECK(quantized > 0);
}

TEST_CASE("version-2 blobs: every int8 rule is checked, with its message") {
  const std::vector<unsigned char> fp32_blob = random_model_blob(Architecture::variant("s0"), 71, kSide);
  const Model model = Model::from_buffer(fp32_blob.data(), fp32_blob.size());
  // Rebuild the layers as the writer takes them, then break one rule per case.
  auto layers_of = [&]() {
    std::vector<blob_writer::Layer> layers;
    for (const LayerDesc& d : model.layers()) {
      blob_writer::Layer l{d, std::string(d.name), {}};
      for (const TensorView& t : d.tensors)
        if (t.bytes)
          l.tensors.push_back({std::string(t.name), {t.dims.begin(), t.dims.begin() + t.rank},
                               {t.data, t.data + t.element_count()}, {}, {}});
      layers.push_back(std::move(l));
    }
    return layers;
  };
  auto error_of = [&](const std::vector<blob_writer::Layer>& layers) -> std::string {
    const std::vector<std::string> labels(model.labels().begin(), model.labels().end());
    const auto bytes = blob_writer::write_blob("m", model.preprocess(), layers, labels);
    try {
      parse_blob(bytes.data(), bytes.size());
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  // Layer 2 is the first pointwise layer (after stage1.0's depthwise with its ReLU); layer 1 the first
  // depthwise (after the stem's ReLU).
  const std::size_t pw = 2;
  REQUIRE(model.layers()[pw].kind == LayerKind::pwconv1x1);
  auto int8_pointwise = [&](std::vector<blob_writer::Layer>& layers) {
    blob_writer::Layer& l = layers[pw];
    l.desc.precision = LayerPrecision::int8;
    l.desc.input_scale = 0.02f;
    const std::size_t n = l.tensors[0].values.size();
    l.tensors[0].values.clear();
    l.tensors[0].int8_values.assign(n, 3);
    l.tensors.push_back({"scale", {std::uint32_t(l.desc.out_channels)}, std::vector<float>(std::size_t(l.desc.out_channels), 0.01f), {}, {}});
  };
  {
    auto layers = layers_of();
    int8_pointwise(layers);
    CHECK(error_of(layers).empty());
  }
  SUBCASE("input_scale not positive") {
    auto layers = layers_of();
    int8_pointwise(layers);
    layers[pw].desc.input_scale = 0.f;
    CHECK(error_of(layers).find("input_scale") != std::string::npos);
  }
  SUBCASE("-128 in int8 weights") {
    auto layers = layers_of();
    int8_pointwise(layers);
    layers[pw].tensors[0].int8_values[5] = -128;
    CHECK(error_of(layers).find("element 5 is -128") != std::string::npos);
  }
  SUBCASE("weight scale not positive") {
    auto layers = layers_of();
    int8_pointwise(layers);
    layers[pw].tensors[2].values[1] = -0.5f;
    CHECK(error_of(layers).find("weight scale of output channel 1 is not positive") != std::string::npos);
  }
  SUBCASE("float weights on an int8 layer") {
    auto layers = layers_of();
    int8_pointwise(layers);
    layers[pw].tensors[0].values.assign(layers[pw].tensors[0].int8_values.size(), 0.f);
    layers[pw].tensors[0].int8_values.clear();
    CHECK(error_of(layers).find("is float32, expected int8") != std::string::npos);
  }
  SUBCASE("an accumulator that could overflow int32") {
    auto layers = layers_of();
    int8_pointwise(layers);
    const auto c = std::uint32_t(layers[pw].desc.out_channels);
    layers[pw].tensors.push_back({"diagonal", {c}, {}, {}, std::vector<std::int32_t>(c, 1 << 24)});
    CHECK(error_of(layers).find("can overflow its int32 accumulator") != std::string::npos);
  }
  SUBCASE("an int8 layer whose input does not follow a ReLU") {
    auto layers = layers_of();
    int8_pointwise(layers);
    layers[pw - 1].desc.relu = false;
    CHECK(error_of(layers).find("must follow a ReLU") != std::string::npos);
  }
  SUBCASE("int8 on a layer kind without an int8 form") {
    auto layers = layers_of();
    layers[0].desc.precision = LayerPrecision::int8;
    layers[0].desc.input_scale = 0.1f;
    CHECK(error_of(layers).find("layers have no int8 form") != std::string::npos);
  }
}

// (x86 CPUs without VNNI get the AVX2 vpmaddubsw kernels; ARM cores without dotprod the scalar int8 ones.)
TEST_CASE("a Context runs its ISA's best int8 kernels for this CPU's extensions") {
  const Int8Model m = make_models("s0", 81);
  const Model model = Model::from_buffer(m.int8_blob.data(), m.int8_blob.size());
  for (Isa isa : runnable_isas()) {
    CAPTURE(isa_name(isa));
    const std::string name = Context(model, Options{1, isa}).kernel_set_name();
    std::string expected = isa_name(isa);
    if (isa == Isa::avx512) expected += detail::cpu_has_avx512_vnni() ? "+vnni" : "+maddubs";
    if (isa == Isa::avx2) expected += detail::cpu_has_avx_vnni() ? "+avxvnni" : "+maddubs";
    if (isa == Isa::neon) expected += detail::cpu_has_i8mm() ? "+i8mm" : detail::cpu_has_dotprod() ? "+dotprod" : "+scalar";
    CHECK(name == expected);
    MESSAGE("int8 kernel set for " << std::string(isa_name(isa)) << ": " << name);
  }
}
