// Hardening: the inputs the fuzzers found (fuzz/regressions/) and the limits checked before allocation
// (fuzz/README.md), as ordinary tests that run in every preset, sanitizers included.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <mobileone/mobileone.hpp>

#include "image_file.hpp"
#include "support/blob_writer.hpp"
#include "test_support.hpp"

using namespace mobileone;

namespace {

std::string regression_dir(const std::string& harness) {
  return std::string(MOBILEONE_SOURCE_DIR) + "/fuzz/regressions/" + harness;
}

std::string decode_error(const std::vector<unsigned char>& bytes) {
  try {
    examples::ImageFile::decode(bytes.data(), bytes.size(), "input");
  } catch (const Error& e) {
    return e.what();
  }
  return "decoded";
}

std::vector<unsigned char> text(const std::string& s) { return std::vector<unsigned char>(s.begin(), s.end()); }

}  // namespace

TEST_CASE("every image the fuzzer crashed stb_image with is refused with a clear error") {
  // file -> what the error must say (each was a crash, hang or 2 GB allocation before its fix). The JPEG
  // ones crashed stb's JPEG decoder, which is no longer built: libjpeg-turbo refuses them itself.
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"jpeg_dht_over_256_codes.jpg", "(JPEG: Bogus Huffman table definition)"},
      {"jpeg_dht_over_256_codes_2.jpg", "(JPEG: Bogus Huffman table definition)"},
      {"jpeg_dht_over_256_codes_after_fill_bytes.jpg", "unknown image type"},  // FF FF D8: PIL refuses it too
      {"jpeg_bit_reader_shift_by_32.jpg", "(JPEG: Quantization table 0x00 was not defined)"},
      {"jpeg_undefined_huffman_table_wild_read.jpg", "(JPEG: Invalid progressive parameters"},
      {"pic_failed_decode_null_raster.pic", "unknown image type"},   // PIC, HDR, PSD: not built in
      {"hdr_rle_zero_count_hang.hdr", "unknown image type"},
      {"psd_matte_float_to_uint8_overflow.psd", "unknown image type"},
      {"pnm_16bit_channel_conversion_overflow.ppm", "16-bit PGM/PPM"},
      {"png_idat_length_2gb_allocation.png", "truncated PNG"},
      {"png_empty_first_idat_memcpy_null.png", "cannot decode image (corrupt or unsupported file, no reason given)"},
  };
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(regression_dir("fuzz_image"))) files += entry.is_regular_file();
  CHECK(files == expected.size());  // a new regression input needs its line here
  for (const auto& entry : expected) {
    const std::string file = entry.first, fragment = entry.second;
    CAPTURE(file);
    const std::string error = decode_error(testing::read_bytes(regression_dir("fuzz_image") + "/" + file));
    CHECK(error.rfind("input: ", 0) == 0);
    CHECK(error.find(fragment) != std::string::npos);
    CHECK(error.find('\n') == std::string::npos);
  }
}

TEST_CASE("JPEG headers are checked before the pixels are allocated, and scans are bounded") {
  const std::vector<unsigned char> seed = testing::read_bytes(std::string(MOBILEONE_SOURCE_DIR) + "/fuzz/corpus/fuzz_image/baseline.jpg");
  auto announcing = [&](int width, int height) {  // the seed (7x5 pixels) with another size in its SOF0
    std::vector<unsigned char> jpeg = seed;
    for (std::size_t i = 0; i + 8 < jpeg.size(); ++i)
      if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
        const unsigned char size[4] = {static_cast<unsigned char>(height >> 8), static_cast<unsigned char>(height),
                                       static_cast<unsigned char>(width >> 8), static_cast<unsigned char>(width)};
        std::memcpy(&jpeg[i + 5], size, 4);
        break;
      }
    return jpeg;
  };
  CHECK(decode_error(seed) == "decoded");
  CHECK(decode_error(announcing(40000, 8)).find("image size 40000x8 is out of range") != std::string::npos);
  CHECK(decode_error(announcing(20000, 20000)).find("image size 20000x20000 is out of range") != std::string::npos);
  // A 654-byte file may announce at most 16384 pixels per byte of itself.
  const std::string bound = "(at most " + std::to_string(examples::kMaxPixelsPerEncodedByte * std::int64_t(seed.size()));
  CHECK(decode_error(announcing(4096, 4096)).find("image size 4096x4096 is out of range " + bound + " pixels for this file") !=
        std::string::npos);
  // 2048x2048 is within what a small file may announce: the data for 7x5 pixels ends at the EOI marker and
  // libjpeg fills the rest with grey, warning of corrupt data, as PIL accepts it.
  CHECK(decode_error(announcing(2048, 2048)) == "decoded");
  CHECK(decode_error(std::vector<unsigned char>(seed.begin(), seed.end() - 10)).find("(truncated JPEG: Premature end of JPEG file)") !=
        std::string::npos);
  CHECK(decode_error(text("\xFF\xD8 not a JPEG")).find("not a JPEG file") != std::string::npos);
  // A grey JPEG whose frame header declares a second component: refused from the header, as PIL does.
  std::vector<unsigned char> two = testing::read_bytes(std::string(MOBILEONE_SOURCE_DIR) + "/fuzz/corpus/fuzz_image/gray.jpg");
  for (std::size_t i = 0; i + 12 < two.size(); ++i)
    if (two[i] == 0xFF && two[i + 1] == 0xC0 && two[i + 3] == 11 && two[i + 9] == 1) {  // SOF0, 1 component
      two[i + 3] = 14;
      two[i + 9] = 2;
      const unsigned char second[3] = {2, 0x11, 0};
      two.insert(two.begin() + long(i) + 13, second, second + 3);
      break;
    }
  CHECK(decode_error(two).find("(JPEG with 2 components (1, 3 or 4 are decoded, as by PIL))") != std::string::npos);

  // Each scan of a progressive JPEG is a pass over the whole coefficient buffer: more than 500 are refused.
  const std::vector<unsigned char> progressive =
      testing::read_bytes(std::string(MOBILEONE_SOURCE_DIR) + "/fuzz/corpus/fuzz_image/progressive.jpg");
  std::size_t last_scan = 0;
  for (std::size_t i = 0; i + 1 < progressive.size(); ++i)
    if (progressive[i] == 0xFF && progressive[i + 1] == 0xDA) last_scan = i;
  REQUIRE(last_scan > 0);
  auto with_repeated_last_scan = [&](int copies) {  // libjpeg warns of a bogus progression, PIL decodes it
    std::vector<unsigned char> jpeg(progressive.begin(), progressive.end() - 2);  // without EOI
    for (int i = 0; i < copies; ++i) jpeg.insert(jpeg.end(), progressive.begin() + long(last_scan), progressive.end() - 2);
    jpeg.push_back(0xFF);
    jpeg.push_back(0xD9);
    return jpeg;
  };
  CHECK(decode_error(with_repeated_last_scan(400)) == "decoded");
  CHECK(decode_error(with_repeated_last_scan(600)).find("(JPEG with more than 500 scans)") != std::string::npos);
}

TEST_CASE("image headers are checked before stb_image allocates") {
  auto png_header = [](std::uint32_t width, std::uint32_t height) {
    std::vector<unsigned char> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    for (std::uint32_t v : {width, height})
      for (int shift = 24; shift >= 0; shift -= 8) png.push_back(static_cast<unsigned char>(v >> shift));
    const std::vector<unsigned char> rest = {8, 2, 0, 0, 0, 0, 0, 0, 0,  // RGB8, CRC (stb does not check it)
                                             0, 0, 0, 0, 'I', 'E', 'N', 'D', 0, 0, 0, 0};
    png.insert(png.end(), rest.begin(), rest.end());
    return png;
  };
  CHECK(decode_error(png_header(40000, 10)).find("cannot decode image") != std::string::npos);  // > STBI_MAX_DIMENSIONS
  CHECK(decode_error(png_header(32768, 32768)).find("cannot decode image") != std::string::npos);  // == STBI_MAX_DIMENSIONS
  // A header stb reports as is (GIF): the engine's limit (2^28 pixels) refuses it before stbi_load.
  const std::vector<unsigned char> gif = {'G', 'I', 'F', '8', '9', 'a', 0x20, 0x4E, 0x20, 0x4E, 0, 0, 0, ';'};
  CHECK(decode_error(gif).find("image size 20000x20000 is out of range") != std::string::npos);
  // A 35-byte GIF may announce at most kSmallFilePixels (2048x2048 decodes, in ~50 MB), not 4096x4096:
  // before this bound, 16384x16384 took 3 GB and 4 s to decode into a blank image.
  auto tiny_gif = [](int side) {
    std::vector<unsigned char> g = {'G', 'I', 'F', '8', '9', 'a', static_cast<unsigned char>(side & 255),
                                    static_cast<unsigned char>(side >> 8), static_cast<unsigned char>(side & 255),
                                    static_cast<unsigned char>(side >> 8), 0x80, 0, 0, 0, 0, 0, 255, 255, 255, ',',
                                    0, 0, 0, 0, static_cast<unsigned char>(side & 255), static_cast<unsigned char>(side >> 8),
                                    static_cast<unsigned char>(side & 255), static_cast<unsigned char>(side >> 8), 0,
                                    2, 2, 0x4C, 1, 0, ';'};
    return g;
  };
  CHECK(decode_error(tiny_gif(2048)) == "decoded");
  CHECK(decode_error(tiny_gif(4096)).find("image size 4096x4096 is out of range (at most 4194304 pixels for this file") !=
        std::string::npos);
  CHECK(decode_error(text("P5 99999999999 1 255\n")).find("does not fit in 31 bits") != std::string::npos);
  CHECK(decode_error(text("P6 4 4 255\nabc")).find("truncated PGM/PPM") != std::string::npos);
  CHECK(decode_error(text("P5 2 2 65535\n01234567")).find("16-bit PGM/PPM") != std::string::npos);
  CHECK(decode_error(text("P5 2 1 255\nAB")) == "decoded");
  CHECK(decode_error({}).find("empty") != std::string::npos);
  CHECK(decode_error(text("not an image")).find("cannot decode image") != std::string::npos);
  // The fuzzer's lower pixel limit is a parameter: the same check with another bound.
  const std::vector<unsigned char> pgm = text("P5 64 64 255\n" + std::string(64 * 64, 'x'));
  CHECK_NOTHROW(examples::ImageFile::decode(pgm.data(), pgm.size(), "input"));
  CHECK_THROWS_WITH_AS(examples::ImageFile::decode(pgm.data(), pgm.size(), "input", 1000), doctest::Contains("out of range"), Error);
}

TEST_CASE("a context refuses an input whose workspace exceeds its limit, before allocating, and stays usable") {
  const auto blob = random_model_blob(Architecture{"limits", 8, {1, 1}, {16, 24}, {0, 0}, 4}, 7, 32);
  const Model model = Model::from_buffer(blob.data(), blob.size());
  Options options{1, Isa::scalar};
  options.max_workspace_bytes = std::size_t(1) << 20;  // 1 MiB
  Context context(model, options);
  const std::vector<float> small(3 * 16 * 16, 0.5f);
  context.run(small.data(), 3, 16, 16);
  CHECK(context.top_k(1).size() == 1);
  const std::size_t workspace = context.workspace_bytes();

  // 1024x1024 needs ~50 MB: refused, nothing allocated, and no stale input, plan or results remain.
  const std::vector<float> big(std::size_t(3) * 1024 * 1024, 0.5f);
  CHECK_THROWS_WITH_AS(context.run(big.data(), 3, 1024, 1024), doctest::Contains("MiB workspace, more than the limit of 1 MiB"), Error);
  CHECK(context.workspace_bytes() == workspace);
  CHECK_THROWS_WITH_AS(context.run(), doctest::Contains("before set_input"), Error);
  CHECK_THROWS_WITH_AS(context.feature_map(0), doctest::Contains("before any run"), Error);
  CHECK_THROWS_WITH_AS(context.top_k(1), doctest::Contains("before any run"), Error);
  // The largest side the engine takes, with the default 2 GiB limit: 16384 x 16384 x 8 channels is more.
  Context defaults(model, Options{1, Isa::scalar});
  CHECK_THROWS_WITH_AS(defaults.set_input(small.data(), 3, 16384, 16384), doctest::Contains("workspace"), Error);
  CHECK_THROWS_WITH_AS(defaults.set_input(small.data(), 3, 16385, 1), doctest::Contains("out of range"), Error);

  // Still usable afterwards, with the same results as before.
  const std::vector<float> first = context.run(small.data(), 3, 16, 16);
  Context fresh(model, Options{1, Isa::scalar});
  CHECK(std::memcmp(first.data(), fresh.run(small.data(), 3, 16, 16).data(), first.size() * sizeof(float)) == 0);
}

TEST_CASE("a refused image leaves no input behind") {
  const auto blob = random_model_blob(Architecture{"limits", 8, {1}, {16}, {0}, 3}, 8, 16);
  Context context(Model::from_buffer(blob.data(), blob.size()), Options{1, Isa::scalar});
  std::vector<std::uint8_t> pixels(20 * 20 * 3, 100);
  context.run(ImageView{pixels.data(), 20, 20, 0, PixelFormat::rgb8});
  CHECK_THROWS_AS(context.set_input(ImageView{pixels.data(), 20, 20, 7, PixelFormat::rgb8}), Error);  // stride < row
  CHECK_THROWS_WITH_AS(context.run(), doctest::Contains("before set_input"), Error);
  // An extreme aspect ratio whose resize would exceed the side limit.
  std::vector<std::uint8_t> strip(32768, 7);
  CHECK_THROWS_WITH_AS(context.set_input(ImageView{strip.data(), 32768, 1, 0, PixelFormat::gray8}),
                       doctest::Contains("aspect ratio"), Error);
}

TEST_CASE("a raw tensor with a NaN or infinity is refused, naming the first one, and leaves no input behind") {
  const auto blob = random_model_blob(Architecture{"finite", 8, {1}, {16}, {0}, 3}, 10, 16);
  Context context(Model::from_buffer(blob.data(), blob.size()), Options{1, Isa::scalar});
  const int height = 5, width = 7;
  const std::size_t count = std::size_t(3) * height * width;
  const std::vector<float> finite(count, 0.25f);
  const std::vector<float> want = context.run(finite.data(), 3, height, width);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const struct {
    float value;
    const char* name;
  } bad[] = {{nan, "NaN"}, {-nan, "NaN"}, {inf, "+inf"}, {-inf, "-inf"}};
  for (const auto& b : bad) {
    for (std::size_t at : {std::size_t(0), count - 1, std::size_t(width) * height + 2 * width + 3}) {
      CAPTURE(b.name);
      CAPTURE(at);
      std::vector<float> input = finite;
      if (at != count - 1) input[count - 1] = -inf;  // a later one too: the first is named
      input[at] = b.value;
      const std::string where = at == 0 ? "channel 0, row 0, column 0"
                                : at == count - 1 ? "channel 2, row 4, column 6"
                                                  : "channel 1, row 2, column 3";
      const std::string message = "input tensor has a non-finite value (" + std::string(b.name) + ") at " + where;
      CHECK_THROWS_WITH_AS(context.set_input(input.data(), 3, height, width), message.c_str(), Error);
      CHECK_THROWS_WITH_AS(context.run(), "run() before set_input()", Error);
      CHECK_THROWS_WITH_AS(context.run(input.data(), 3, height, width), doctest::Contains(where.c_str()), Error);
      CHECK_THROWS_WITH_AS(context.run(), "run() before set_input()", Error);
    }
  }
  // The largest finite values and subnormals are data like any other.
  std::vector<float> extreme = finite;
  extreme[0] = std::numeric_limits<float>::max();
  extreme[1] = -std::numeric_limits<float>::max();
  extreme[2] = std::numeric_limits<float>::denorm_min();
  CHECK_NOTHROW(context.set_input(extreme.data(), 3, height, width));
  const std::vector<float> got = context.run(finite.data(), 3, height, width);
  CHECK(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);
}

TEST_CASE("a tensor shared by two layers is refused: a small file cannot demand a packed copy per layer") {
  // Two depthwise layers of the same width: point the second one's weight slot at the first one's tensor.
  auto blob = random_model_blob(Architecture{"shared", 8, {1, 1}, {8, 8}, {0, 0}, 2}, 9, 16);
  CHECK_NOTHROW(Model::from_buffer(blob.data(), blob.size()));
  const std::size_t first_dw = 160 + 64 * 1 + 32, second_dw = 160 + 64 * 3 + 32;  // layer records, slot 0
  std::memcpy(blob.data() + second_dw, blob.data() + first_dw, 4);
  const std::uint32_t crc = detail::crc32(blob.data() + 32, blob.size() - 32);
  std::memcpy(blob.data() + 24, &crc, 4);
  CHECK_THROWS_WITH_AS(Model::from_buffer(blob.data(), blob.size()), doctest::Contains("is already used by another layer slot"),
                       Error);
}
