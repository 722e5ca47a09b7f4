// fuzz_image: arbitrary bytes as an image file, decoded exactly as the command-line tool decodes files
// (examples/image_file.hpp: JPEG with libjpeg-turbo, the rest with stb_image, with the engine's size
// limits checked from the header before the pixels are allocated), then preprocessed to a small target in
// every pixel format, row stride and tensor layout. Decoding must either succeed or throw mobileone::Error.
// libjpeg-turbo itself is Debian's prebuilt library, not instrumented (fuzz/CMakeLists.txt).
//
// The pixel limit is lowered to 2^22 (4 Mpixel) here: the decoders allocate and fill the whole raster
// a header announces even when the file holds no data for it, so every header near the production limit
// (2^28) would cost seconds and starve the search. The production limit's worst case is measured
// separately (fuzz/README.md).
#include <cstddef>
#include <cstdint>
#include <vector>

#include <mobileone/preprocess.hpp>

#include "image_file.hpp"

using namespace mobileone;

namespace {

constexpr std::int64_t kFuzzMaxPixels = std::int64_t(1) << 22;
volatile float g_sink;

void run(const ImageView& image, const PreprocessTarget& target, TensorLayout layout, detail::PreprocessScratch& scratch) {
  std::vector<float> out(std::size_t(3) * std::size_t(target.crop_height) * std::size_t(target.crop_width));
  preprocess_image(image, target, out.data(), layout, scratch);
  float sum = 0.f;
  for (float v : out) sum += v;
  g_sink = sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const examples::ImageFile file = examples::ImageFile::decode(data, size, "fuzz input", kFuzzMaxPixels);
    const ImageView rgb = file.view();
    // A small target derived from the image, so that up- and down-scaling, crops larger than the image
    // (zero padding) and extreme aspect ratios all occur.
    const unsigned w = unsigned(rgb.width), h = unsigned(rgb.height);
    PreprocessTarget target;
    target.resize_shorter = 1 + int((w * 7 + h * 3) % 40);
    target.crop_height = 1 + int((w ^ h) % 24);
    target.crop_width = 1 + int((w + 2 * h) % 24);
    detail::PreprocessScratch scratch;
    run(rgb, target, TensorLayout::nchw, scratch);

    // Other pixel formats with padded rows, built from the decoded pixels (small images only).
    if (std::int64_t(w) * h <= 256 * 256) {
      const std::size_t width = w, height = h;
      for (PixelFormat format : {PixelFormat::rgba8, PixelFormat::bgr8, PixelFormat::bgra8, PixelFormat::gray8}) {
        const std::size_t bpp = std::size_t(bytes_per_pixel(format)), stride = width * bpp + 3;
        std::vector<std::uint8_t> pixels(stride * height);
        for (std::size_t y = 0; y < height; ++y)
          for (std::size_t x = 0; x < width; ++x)
            for (std::size_t c = 0; c < bpp; ++c) pixels[y * stride + x * bpp + c] = rgb.pixels[(y * width + x) * 3 + c % 3];
        // The last row ends right after its pixels: a read past a row's end is caught.
        pixels.resize(stride * (height - 1) + width * bpp);
        run(ImageView{pixels.data(), int(w), int(h), stride, format}, target, TensorLayout::nhwc, scratch);
      }
    }
  } catch (const Error&) {
    // A clean refusal.
  }
  return 0;
}
