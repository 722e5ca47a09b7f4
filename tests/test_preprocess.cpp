// Preprocessing against the shared PyTorch tensors (PIL resize + crop + normalize), the pixel formats and
// strides an app hands in, and broken images.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

#include <mobileone/mobileone.hpp>

#include "image_file.hpp"
#include "test_support.hpp"

using namespace mobileone;

namespace {

std::vector<float> preprocess(const ImageView& image, const PreprocessTarget& target, TensorLayout layout = TensorLayout::nchw) {
  std::vector<float> out(std::size_t(3) * target.crop_height * target.crop_width);
  detail::PreprocessScratch scratch;
  preprocess_image(image, target, out.data(), layout, scratch);
  return out;
}

}  // namespace

TEST_CASE("the shared images preprocess to the reference PyTorch tensors") {
  for (const std::string name : {"apple", "chelsea"}) {
    CAPTURE(name);
    const auto image = examples::ImageFile::load(testing::shared_dir() + "/images/" + name + ".png");
    const std::vector<float> ours = preprocess(image.view(), PreprocessTarget{});
    const std::vector<float> reference = testing::read_floats(testing::shared_dir() + "/reference/" + name + "_input_nchw.f32");
    REQUIRE(ours.size() == reference.size());
    double sum = 0.0, worst = 0.0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
      const double d = std::fabs(double(ours[i]) - double(reference[i]));
      sum += d;
      worst = std::max(worst, d);
    }
    const double mean = sum / double(ours.size());
    MESSAGE(name << ": mean |d| = " << mean << ", max |d| = " << worst);
    CHECK(mean <= 0.01);
    CHECK(worst <= 0.1);
  }
}

TEST_CASE("pixel formats, row strides and layouts give the same tensor") {
  const int w = 37, h = 23;
  std::vector<std::uint8_t> rgb(std::size_t(w) * h * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = std::uint8_t((i * 37 + i / 7) % 251);
  const PreprocessTarget target{16, 16, 19, {0.5f, 0.4f, 0.3f}, {0.2f, 0.25f, 0.3f}};
  const std::vector<float> expected = preprocess(ImageView{rgb.data(), w, h, 0, PixelFormat::rgb8}, target);

  const std::size_t stride4 = std::size_t(w) * 4 + 12;  // padded rows, as bitmaps have
  std::vector<std::uint8_t> rgba(stride4 * h, 0xEE), bgra(stride4 * h, 0xEE), bgr(std::size_t(w) * 3 * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        const std::uint8_t v = rgb[(std::size_t(y) * w + x) * 3 + c];
        rgba[y * stride4 + x * 4 + c] = v;
        bgra[y * stride4 + x * 4 + 2 - c] = v;
        bgr[(std::size_t(y) * w + x) * 3 + 2 - c] = v;
      }
  CHECK(preprocess(ImageView{rgba.data(), w, h, stride4, PixelFormat::rgba8}, target) == expected);
  CHECK(preprocess(ImageView{bgra.data(), w, h, stride4, PixelFormat::bgra8}, target) == expected);
  CHECK(preprocess(ImageView{bgr.data(), w, h, 0, PixelFormat::bgr8}, target) == expected);

  const std::vector<float> nhwc = preprocess(ImageView{rgb.data(), w, h, 0, PixelFormat::rgb8}, target, TensorLayout::nhwc);
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 16 * 16; ++p) CHECK(nhwc[std::size_t(p) * 3 + c] == expected[std::size_t(c) * 256 + p]);

  std::vector<std::uint8_t> gray(std::size_t(w) * h, 100);
  const std::vector<float> g = preprocess(ImageView{gray.data(), w, h, 0, PixelFormat::gray8}, target);
  CHECK(g[0] == doctest::Approx((100.f / 255.f - 0.5f) / 0.2f));
}

TEST_CASE("resize matches Pillow's fixed-point arithmetic on known cases") {
  // Identity resize and crop: the pixels come back unchanged.
  std::vector<std::uint8_t> rgb(8 * 8 * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = std::uint8_t(i * 5);
  const std::vector<float> same = preprocess(ImageView{rgb.data(), 8, 8, 0, PixelFormat::rgb8}, {8, 8, 8, {0, 0, 0}, {1, 1, 1}});
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 64; ++p) CHECK(same[std::size_t(c) * 64 + p] == float(rgb[std::size_t(p) * 3 + c]) / 255.f);
  // A 2x downscale of a constant image stays constant; a crop larger than the image is zero-padded.
  std::vector<std::uint8_t> flat(10 * 6 * 3, 77);
  const std::vector<float> padded = preprocess(ImageView{flat.data(), 10, 6, 0, PixelFormat::rgb8}, {8, 8, 3, {0, 0, 0}, {1, 1, 1}});
  // Resized to 5x3, centred in 8x8: rows 2..4 and columns 1..5 hold the image.
  CHECK(padded[0] == 0.f);
  CHECK(padded[2 * 8 + 1] == 77.f / 255.f);
  CHECK(padded[4 * 8 + 5] == 77.f / 255.f);
  CHECK(padded[5 * 8 + 5] == 0.f);
  CHECK(padded[2 * 8 + 6] == 0.f);
}

TEST_CASE("bad images are refused cleanly") {
  std::vector<std::uint8_t> pixels(64 * 3, 0);
  const PreprocessTarget target;
  detail::PreprocessScratch scratch;
  std::vector<float> out(3 * 224 * 224);
  auto error = [&](const ImageView& image) {
    try {
      preprocess_image(image, target, out.data(), TensorLayout::nchw, scratch);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(error(ImageView{nullptr, 8, 8, 0, PixelFormat::rgb8}).find("no pixel data") != std::string::npos);
  CHECK(error(ImageView{pixels.data(), 0, 8, 0, PixelFormat::rgb8}).find("out of range") != std::string::npos);
  CHECK(error(ImageView{pixels.data(), 8, -3, 0, PixelFormat::rgb8}).find("out of range") != std::string::npos);
  CHECK(error(ImageView{pixels.data(), 1 << 20, 8, 0, PixelFormat::rgb8}).find("out of range") != std::string::npos);
  CHECK(error(ImageView{pixels.data(), 8, 8, 5, PixelFormat::rgb8}).find("row stride 5 is shorter") != std::string::npos);

  // Files: missing, not an image, truncated PNG.
  CHECK_THROWS_WITH_AS(examples::ImageFile::load("/nonexistent.png"), doctest::Contains("/nonexistent.png: cannot decode"), Error);
  const std::vector<unsigned char> png = testing::read_bytes(testing::shared_dir() + "/images/chelsea.png");
  const std::string truncated = "test_preprocess_truncated.png", text = "test_preprocess_text.png";
  std::ofstream(truncated, std::ios::binary).write(reinterpret_cast<const char*>(png.data()), 2000);
  std::ofstream(text) << "this is not an image\n";
  CHECK_THROWS_WITH_AS(examples::ImageFile::load(truncated), doctest::Contains("cannot decode image"), Error);
  CHECK_THROWS_WITH_AS(examples::ImageFile::load(text), doctest::Contains("cannot decode image"), Error);
  std::remove(truncated.c_str());
  std::remove(text.c_str());
}
