// Bad blobs are refused before anything uses them, with an error that says what and where:
// truncation, wrong magic/version, checksum mismatch, offsets and indices out of range, wrong shapes,
// an invalid graph, golden self-check data that does not fit the graph, unreadable files, misaligned
// external buffers.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <vector>

#include <mobileone/mobileone.hpp>

#include "support/blob_writer.hpp"
#include "support/golden_blob.hpp"
#include "support/int8_blob.hpp"

using namespace mobileone;

namespace {

std::vector<unsigned char> valid_blob() {
  Architecture arch{"tiny", 8, {1, 1}, {16, 24}, {0, 1}, 5};
  return random_model_blob(arch, 3, 32);
}

template <class T>
void poke(std::vector<unsigned char>& blob, std::size_t offset, T value) {
  std::memcpy(blob.data() + offset, &value, sizeof(T));
}
template <class T>
T peek(const std::vector<unsigned char>& blob, std::size_t offset) {
  T value;
  std::memcpy(&value, blob.data() + offset, sizeof(T));
  return value;
}

// Rewrites the checksum so that a deliberate corruption reaches the check behind the CRC.
void reseal(std::vector<unsigned char>& blob) { poke(blob, 24, detail::crc32(blob.data() + 32, blob.size() - 32)); }

std::string load_error(const std::vector<unsigned char>& blob) {
  try {
    Model::from_buffer(blob.data(), blob.size());
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

std::size_t layer_record(const std::vector<unsigned char>& blob, int index) {
  return std::size_t(peek<std::uint64_t>(blob, 48)) + std::size_t(index) * 64;
}
std::size_t tensor_record(const std::vector<unsigned char>& blob, int index) {
  return std::size_t(peek<std::uint64_t>(blob, 56)) + std::size_t(index) * 48;
}

}  // namespace

TEST_CASE("a valid blob loads") {
  const auto blob = valid_blob();
  const Model model = Model::from_buffer(blob.data(), blob.size());
  CHECK(model.name() == "tiny");
  CHECK(model.num_classes() == 5);
  CHECK(model.labels()[4] == "class_4");
  CHECK(model.num_stages() == 2);
}

TEST_CASE("truncated blobs are refused at every length") {
  const auto blob = valid_blob();
  for (std::size_t length : {std::size_t(0), std::size_t(7), std::size_t(100), std::size_t(159), std::size_t(160),
                             blob.size() / 2, blob.size() - 1}) {
    CAPTURE(length);
    const std::vector<unsigned char> cut(blob.begin(), blob.begin() + std::ptrdiff_t(length));
    const std::string error = load_error(cut);
    CHECK(error.find("invalid model blob") != std::string::npos);
    CHECK((error.find("truncated") != std::string::npos || error.find("smaller than") != std::string::npos));
  }
}

TEST_CASE("magic, version, flags and checksum") {
  auto blob = valid_blob();
  SUBCASE("magic") {
    blob[1] = 'X';
    CHECK(load_error(blob).find("bad magic") != std::string::npos);
  }
  SUBCASE("version") {
    poke<std::uint32_t>(blob, 8, 4);
    CHECK(load_error(blob).find("format version 4 is not supported (this reader knows 1..3)") != std::string::npos);
    poke<std::uint32_t>(blob, 8, 0);
    CHECK(load_error(blob).find("format version 0 is not supported") != std::string::npos);
  }
  SUBCASE("a flipped weight byte fails the checksum") {
    blob[blob.size() - 3] ^= 0x40;
    CHECK(load_error(blob).find("checksum mismatch") != std::string::npos);
  }
  SUBCASE("unknown flags") {
    poke<std::uint32_t>(blob, 28, 1);
    reseal(blob);
    CHECK(load_error(blob).find("unknown flags") != std::string::npos);
  }
  SUBCASE("file size field") {
    poke<std::uint64_t>(blob, 16, blob.size() + 64);
    CHECK(load_error(blob).find("header says the file is") != std::string::npos);
  }
}

TEST_CASE("offsets, indices and counts out of range") {
  auto blob = valid_blob();
  SUBCASE("layer table beyond the end") {
    poke<std::uint64_t>(blob, 48, blob.size() - 8);
    reseal(blob);
    CHECK(load_error(blob).find("layer table at offset") != std::string::npos);
  }
  SUBCASE("huge counts cannot overflow the range checks") {
    poke<std::uint64_t>(blob, 72, ~std::uint64_t(0));
    reseal(blob);
    CHECK(load_error(blob).find("string table") != std::string::npos);
  }
  SUBCASE("tensor data outside the data section") {
    poke<std::uint64_t>(blob, tensor_record(blob, 0) + 32, std::uint64_t(blob.size()) * 64);
    reseal(blob);
    CHECK(load_error(blob).find("lies outside the data section") != std::string::npos);
  }
  SUBCASE("misaligned tensor") {
    poke<std::uint64_t>(blob, tensor_record(blob, 1) + 32, peek<std::uint64_t>(blob, tensor_record(blob, 1) + 32) + 4);
    reseal(blob);
    CHECK(load_error(blob).find("not 64-byte aligned") != std::string::npos);
  }
  SUBCASE("tensor byte size disagrees with its shape") {
    poke<std::uint32_t>(blob, tensor_record(blob, 0) + 16, 9);
    reseal(blob);
    CHECK(load_error(blob).find("does not match its shape") != std::string::npos);
  }
  SUBCASE("string index out of range") {
    poke<std::uint32_t>(blob, layer_record(blob, 1) + 28, 999999);
    reseal(blob);
    CHECK(load_error(blob).find("layer 1 refers to string 999999") != std::string::npos);
  }
  SUBCASE("tensor index out of range") {
    poke<std::uint32_t>(blob, layer_record(blob, 1) + 32, 4000);
    reseal(blob);
    CHECK(load_error(blob).find("tensor 4000 does not exist") != std::string::npos);
  }
  SUBCASE("labels beyond the string table") {
    poke<std::uint32_t>(blob, 152, peek<std::uint32_t>(blob, 44));
    reseal(blob);
    CHECK(load_error(blob).find("labels") != std::string::npos);
  }
}

TEST_CASE("shapes and graph structure") {
  auto blob = valid_blob();
  SUBCASE("a layer's tensor has the wrong shape") {
    // Layers: 0 stem (3->8), 1 dw (8), 2 pw (8->16), 3 dw, 4 se, 5 pw (16->24), 6 se, 7 avgpool, 8 linear.
    poke<std::uint32_t>(blob, layer_record(blob, 2) + 4, 9);
    reseal(blob);
    const std::string error = load_error(blob);
    CHECK(error.find("layer 2 'stage1.1'") != std::string::npos);
    CHECK(error.find("expected [16, 9, 1, 1]") != std::string::npos);
  }
  SUBCASE("channel chain broken") {
    poke<std::uint32_t>(blob, layer_record(blob, 1) + 4, 9);
    poke<std::uint32_t>(blob, layer_record(blob, 1) + 8, 9);
    reseal(blob);
    CHECK(load_error(blob).find("has shape [8, 1, 3, 3], expected [9, 1, 3, 3]") != std::string::npos);
  }
  SUBCASE("unknown layer kind") {
    poke<std::uint32_t>(blob, layer_record(blob, 3), 77);
    reseal(blob);
    CHECK(load_error(blob).find("layer 3: unknown kind 77") != std::string::npos);
  }
  SUBCASE("stride 3") {
    poke<std::uint32_t>(blob, layer_record(blob, 1) + 12, 3);
    reseal(blob);
    CHECK(load_error(blob).find("stride 3") != std::string::npos);
  }
  SUBCASE("missing head") {
    poke<std::uint32_t>(blob, 32, peek<std::uint32_t>(blob, 32) - 1);
    reseal(blob);
    CHECK(load_error(blob).find("must end with avgpool followed by linear") != std::string::npos);
  }
}

TEST_CASE("golden self-check data (version 3) is read, and refused where it does not fit the graph") {
  // valid_blob at a 10x6 golden input: stem 5x3, stage 1 3x2, stage 2 2x1. Tensors: 20 of the layers, then
  // the golden input (20), stages 0..2 (21..23), the logits (24).
  auto blob = with_golden(valid_blob(), 10, 6);
  const BlobView view = parse_blob(blob.data(), blob.size());
  REQUIRE(view.format_version == 3);
  REQUIRE(view.golden.available());
  CHECK(view.golden.height() == 10);
  CHECK(view.golden.width() == 6);
  REQUIRE(view.golden.fp32.stages.size() == 3);
  CHECK(view.golden.fp32.stages[2].dims == std::array<std::uint32_t, 4>{1, 24, 2, 1});
  CHECK(view.golden.fp32.logits.dims == std::array<std::uint32_t, 4>{1, 5, 0, 0});
  CHECK(view.golden.int8.stages.empty());
  CHECK(!parse_blob(valid_blob().data(), valid_blob().size()).golden.available());
  const std::uint32_t first = peek<std::uint32_t>(blob, 156);
  REQUIRE(first == 20);
  SUBCASE("tensors past the table") {
    poke<std::uint32_t>(blob, 156, 22);
    reseal(blob);
    CHECK(load_error(blob).find("golden data: tensors 22..26 lie outside the tensor table (25 tensors)") != std::string::npos);
    poke<std::uint32_t>(blob, 156, 0xFFFFFFFFu);
    reseal(blob);
    CHECK(load_error(blob).find("lie outside the tensor table") != std::string::npos);
  }
  SUBCASE("a layer's tensor") {
    poke<std::uint32_t>(blob, layer_record(blob, 8) + 36, 24);  // the linear bias -> the golden logits
    poke<std::uint32_t>(blob, tensor_record(blob, 24) + 16, 5);  // shaped like the bias
    poke<std::uint32_t>(blob, tensor_record(blob, 24) + 20, 0);
    poke<std::uint32_t>(blob, tensor_record(blob, 24) + 8, 1);
    reseal(blob);
    CHECK(load_error(blob).find("golden data: tensor 24 'golden.logits' is also used by a layer") != std::string::npos);
  }
  SUBCASE("the input is not [1, 3, H, W]") {
    poke<std::uint32_t>(blob, tensor_record(blob, 20) + 20, 1);  // [1, 1, 10, 6]
    poke<std::uint32_t>(blob, tensor_record(blob, 20) + 24, 30);  // [1, 1, 30, 6]: the same byte size
    reseal(blob);
    CHECK(load_error(blob).find("golden data: input tensor 20 'golden.input' has shape [1, 1, 30, 6], expected [1, 3, H, W]") !=
          std::string::npos);
  }
  SUBCASE("a stage's shape is not what the graph gives at the input") {
    poke<std::uint32_t>(blob, tensor_record(blob, 22) + 24, 2);  // stage 1: [1, 16, 2, 3] instead of [1, 16, 3, 2]
    poke<std::uint32_t>(blob, tensor_record(blob, 22) + 28, 3);
    reseal(blob);
    CHECK(load_error(blob).find("golden data: tensor 22 'golden.stage1' has shape [1, 16, 2, 3], expected [1, 16, 3, 2]") !=
          std::string::npos);
  }
  SUBCASE("a NaN") {
    poke<float>(blob, std::size_t(peek<std::uint64_t>(blob, tensor_record(blob, 23) + 32)) + 8, std::nanf(""));
    reseal(blob);
    CHECK(load_error(blob).find("tensor 23 'golden.stage2': element 2 is NaN") != std::string::npos);
  }
  SUBCASE("an int8 blob carries the outputs of both arithmetics") {
    const auto int8 = with_golden(int8_blob_from(valid_blob(), 1, 32), 10, 6);
    const BlobView v = parse_blob(int8.data(), int8.size());
    REQUIRE(v.golden.int8.stages.size() == 3);
    CHECK(v.golden.int8.stages[0].data == v.golden.fp32.stages[0].data);  // the stem is never int8
    CHECK(v.golden.int8.logits.data != v.golden.fp32.logits.data);
    auto cut = int8;  // one tensor fewer than the int8 outputs need
    poke<std::uint32_t>(cut, 36, peek<std::uint32_t>(cut, 36) - 1);
    reseal(cut);
    CHECK(load_error(cut).find("lie outside the tensor table") != std::string::npos);
  }
}

TEST_CASE("a NaN or infinite weight is refused, naming the tensor and the element") {
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity()};
  for (float bad : specials) {
    auto blob = valid_blob();
    const std::size_t record = tensor_record(blob, 2);
    const std::uint64_t offset = peek<std::uint64_t>(blob, record + 32);
    poke<float>(blob, std::size_t(offset) + 4 * 5, bad);
    reseal(blob);
    const std::string error = load_error(blob);
    CAPTURE(error);
    CHECK(error.find("tensor 2 '") != std::string::npos);
    CHECK(error.find(std::isnan(bad) ? "element 5 is NaN" : "element 5 is infinite") != std::string::npos);
  }
}

TEST_CASE("squeeze-excite on fewer than 16 channels gets a hidden width of 1, not an invalid 0") {
  // SE on every unit of an 8-channel stage (int(8 * 0.0625) = 0) and of a 16-channel one (exactly 1).
  const Architecture arch{"narrow_se", 4, {2, 1}, {8, 16}, {2, 1}, 3};
  int se_layers = 0;
  for (const LayerDesc& d : architecture_layers(arch))
    if (d.kind == LayerKind::squeeze_excite) {
      CHECK(d.hidden == 1);
      ++se_layers;
    }
  CHECK(se_layers == 6);
  const auto blob = random_model_blob(arch, 5, 16);
  const Model model = Model::from_buffer(blob.data(), blob.size());
  Context context(model, Options{1, Isa::scalar});
  const std::vector<float> input(3 * 16 * 16, 0.5f);
  for (float logit : context.run(input.data(), 3, 16, 16)) CHECK(std::isfinite(logit));
}

TEST_CASE("files and external buffers") {
  CHECK_THROWS_WITH_AS(Model::load("/nonexistent/model.mone"), doctest::Contains("/nonexistent/model.mone: cannot open"), Error);
  const auto blob = valid_blob();
  const std::string path = "test_blob_truncated.mone";
  {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(blob.data()), std::streamsize(blob.size() - 10));
  }
  CHECK_THROWS_WITH_AS(Model::load(path), doctest::Contains("test_blob_truncated.mone: invalid model blob"), Error);
  std::remove(path.c_str());

  // In place: an aligned buffer is used without copying; a misaligned one is refused.
  const std::size_t size = blob.size();
  if (size >= (std::size_t(1) << 30)) {  // an explicit return tells GCC that size + 4 cannot wrap (-Wstringop-overflow)
    FAIL("test blob unexpectedly large");
    return;
  }
  detail::AlignedBuffer<unsigned char> aligned(size + 4);
  std::memcpy(aligned.data(), blob.data(), size);
  const Model in_place = Model::from_external_buffer(aligned.data(), blob.size());
  CHECK(detail::ModelAccess::data(in_place).bytes == aligned.data());
  std::memmove(aligned.data() + 1, aligned.data(), blob.size());
  CHECK_THROWS_WITH_AS(Model::from_external_buffer(aligned.data() + 1, blob.size()), doctest::Contains("4-byte aligned"), Error);
}
