// Decodes an image file (JPEG, PNG, BMP, PGM/PPM, TGA, GIF, PSD, HDR, PIC) with stb_image into RGB8 pixels
// that a mobileone::ImageView can point at. Shared by the command-line tools and the tests; the engine
// itself never decodes files. stb_image's implementation is compiled once, in stb_image_impl.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <mobileone/image.hpp>

#include "stb_image.h"

namespace mobileone::examples {

class ImageFile {
 public:
  // Throws mobileone::Error with the file name and stb's reason when the file cannot be decoded.
  static ImageFile load(const std::string& path) {
    int width = 0, height = 0, channels_in_file = 0;
    if (!stbi_info(path.c_str(), &width, &height, &channels_in_file))
      throw Error(path + ": cannot decode image (" + failure_reason() + ")");
    if (width <= 0 || height <= 0 || width > kMaxImageSide || height > kMaxImageSide ||
        std::int64_t(width) * height > kMaxImagePixels)
      throw Error(path + ": image size " + std::to_string(width) + "x" + std::to_string(height) + " is out of range");
    stbi_uc* pixels = stbi_load(path.c_str(), &width, &height, &channels_in_file, 3);
    if (pixels == nullptr) throw Error(path + ": cannot decode image (" + failure_reason() + ")");
    ImageFile image;
    image.pixels_.reset(pixels);
    image.width_ = width;
    image.height_ = height;
    return image;
  }

  ImageView view() const { return {pixels_.get(), width_, height_, 0, PixelFormat::rgb8}; }

 private:
  static std::string failure_reason() {
    const char* reason = stbi_failure_reason();
    return reason ? reason : "unknown error";
  }
  struct StbFree {
    void operator()(stbi_uc* p) const { stbi_image_free(p); }
  };
  std::unique_ptr<stbi_uc, StbFree> pixels_;
  int width_ = 0, height_ = 0;
};

}  // namespace mobileone::examples
