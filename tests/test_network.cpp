// The real path, end to end: checkpoints converted by weights/convert.py (fixtures step), run by the
// engine on every ISA, against PyTorch: the real S0 and Apple's train-time checkpoints on the shared
// tensors, S0..S4 / timm / safetensors / fused fixtures, and the real S0 on the shared image files.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <mobileone/mobileone.hpp>

#include "image_file.hpp"
#include "naive_reference.hpp"
#include "test_support.hpp"

using namespace mobileone;

namespace {

struct LogitsCase {
  std::string name, blob, input, logits;
  int n = 0, c = 0, h = 0, w = 0;
};

std::vector<LogitsCase> read_manifest() {
  const std::string path = testing::fixture_dir() + "/manifest.txt";
  std::ifstream file(path);
  REQUIRE_MESSAGE(file, "missing " << path << ": the fixtures_build test creates it");
  std::vector<LogitsCase> cases;
  for (std::string line; std::getline(file, line);) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    LogitsCase c;
    fields >> c.name >> c.blob >> c.input >> c.n >> c.c >> c.h >> c.w >> c.logits;
    REQUIRE_MESSAGE(fields, "bad manifest line: " << line);
    cases.push_back(c);
  }
  return cases;
}


// The expected top-5 class indices per image from reference/s0_top5.json.
std::vector<int> reference_top5(const std::string& json, const std::string& image) {
  std::size_t at = json.find("\"" + image + "\"");
  REQUIRE(at != std::string::npos);
  std::vector<int> indices;
  for (int k = 0; k < 5; ++k) {
    at = json.find("\"index\":", at);
    REQUIRE(at != std::string::npos);
    at += 8;
    indices.push_back(std::stoi(json.substr(at, 12)));
  }
  return indices;
}

}  // namespace

TEST_CASE("converted checkpoints reproduce PyTorch logits on every ISA") {
  const std::vector<LogitsCase> cases = read_manifest();
  REQUIRE(cases.size() >= 12);
  for (const LogitsCase& c : cases) {
    CAPTURE(c.name);
    REQUIRE(c.n == 1);
    const Model model = Model::load(c.blob);
    const std::vector<float> input = testing::read_floats(c.input);
    const std::vector<float> expected = testing::read_floats(c.logits);
    REQUIRE(input.size() == std::size_t(c.c) * c.h * c.w);
    REQUIRE(expected.size() == std::size_t(model.num_classes()));
    for (Isa isa : runnable_isas()) {
      if (testing::kEmulated && isa == Isa::scalar) continue;  // the host build runs it (test_support.hpp)
      CAPTURE(isa_name(isa));
      Context context(model, Options{2, isa});
      const double difference = testing::max_relative_difference(context.run(input.data(), c.c, c.h, c.w), expected);
      MESSAGE(c.name << " [" << std::string(isa_name(isa)) << "]: max|d|/max|ref| = " << difference);
      CHECK(difference <= 1e-4);
    }
  }
}

TEST_CASE("the real S0 classifies the shared images as PyTorch does") {
  const Model model = Model::load(testing::fixture_dir() + "/s0_real.mone");
  CHECK(model.name() == "mobileone_s0");
  CHECK(model.labels()[281] == "tabby");
  const std::vector<unsigned char> json_bytes = testing::read_bytes(testing::shared_dir() + "/reference/s0_top5.json");
  const std::string json(json_bytes.begin(), json_bytes.end());
  Context context(model);
  for (const char* image : {"apple.png", "camera.png", "chelsea.png", "coffee.png", "motorcycle_left.png"}) {
    CAPTURE(image);
    const auto file = examples::ImageFile::load(testing::shared_dir() + "/images/" + image);
    const std::vector<Prediction> top = context.classify(file.view(), 5);
    const std::vector<int> expected = reference_top5(json, image);
    CHECK(top[0].index == expected[0]);
    int shared = 0;
    for (const Prediction& p : top) shared += int(std::count(expected.begin(), expected.end(), p.index));
    MESSAGE(std::string(image) << ": top-1 " << top[0].label << " (" << top[0].probability << "), " << shared << "/5 of the top-5 shared");
    CHECK(shared >= 4);
  }
}

TEST_CASE("stage feature maps of the real S0 have the paper's shapes") {
  const Model model = Model::load(testing::fixture_dir() + "/s0_real.mone");
  const std::vector<float> input = testing::read_floats(testing::shared_dir() + "/reference/chelsea_input_nchw.f32");
  Context context(model, Options{1});
  context.run(input.data(), 3, 224, 224);
  const int sizes[] = {112, 56, 28, 14, 7}, channels[] = {48, 48, 128, 256, 1024};
  REQUIRE(model.num_stages() == 4);
  for (int s = 0; s <= 4; ++s) {
    const FeatureMap map = context.feature_map(s);
    CHECK(map.height == sizes[s]);
    CHECK(map.width == sizes[s]);
    CHECK(map.channels == channels[s]);
  }
  // Independent check of the last stage against the naive reference on the same blob.
  const std::vector<unsigned char> bytes = testing::read_bytes(testing::fixture_dir() + "/s0_real.mone");
  const testing::NaiveResult naive = testing::naive_forward(parse_blob(bytes.data(), bytes.size()), input.data(), 224, 224);
  const FeatureMap last = context.feature_map(4);
  double diff = 0, scale = 0;
  for (int c = 0; c < 1024; ++c)
    for (int p = 0; p < 49; ++p) {
      diff = std::max(diff, std::fabs(double(last.data[std::size_t(p) * 1024 + c]) - naive.stage_outputs[4].data[std::size_t(c) * 49 + p]));
      scale = std::max(scale, std::fabs(naive.stage_outputs[4].data[std::size_t(c) * 49 + p]));
    }
  CHECK(diff / scale <= 1e-4);
}
