// Decodes an image file into RGB8 pixels that a mobileone::ImageView can point at, as PIL's
// Image.open(f).convert('RGB') does: JPEG with libjpeg-turbo, as PIL decodes it (jpeg_decoder.hpp); PNG,
// BMP, PGM/PPM, TGA and GIF with stb_image, whose conversions to RGB match PIL's (palette, grey, grey+alpha
// and RGBA with the alpha dropped) except for a 16-bit grey PNG (scaled to 8 bits here; PIL clips it to
// white). Shared by the command-line tools and the tests; the engine itself never decodes files.
// stb_image's implementation is compiled once, in stb_image_impl.cpp.
#pragma once

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <mobileone/image.hpp>

#include "jpeg_decoder.hpp"
#include "stb_image.h"

namespace mobileone::examples {

namespace detail {

// stb_image 2.27 reads a 16-bit PGM/PPM (maxval > 255) into a buffer sized for 8 bits when it converts
// its channels (a heap overflow, found by fuzz_image), parses the header's numbers into an int without
// an overflow check, and leaves the pixels of a truncated file uninitialized (heap contents would be
// classified). The header is parsed here as stb parses it, and those files are refused first.
inline const char* unsafe_pnm(const unsigned char* bytes, std::size_t size) {
  if (size < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '6')) return nullptr;  // stb: P5 and P6 only
  const std::uint64_t channels = bytes[1] == '6' ? 3 : 1;
  std::size_t pos = 2;
  auto is_space = [](unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  auto skip_space_and_comments = [&] {
    for (;;) {
      while (pos < size && is_space(bytes[pos])) ++pos;
      if (pos >= size || bytes[pos] != '#') return;
      while (pos < size && bytes[pos] != '\n' && bytes[pos] != '\r') ++pos;
    }
  };
  std::uint64_t values[3] = {0, 0, 0};  // width, height, maxval
  for (std::uint64_t& value : values) {
    skip_space_and_comments();
    for (; pos < size && bytes[pos] >= '0' && bytes[pos] <= '9'; ++pos) {
      value = value * 10 + (bytes[pos] - '0');
      if (value > std::uint64_t(INT_MAX)) return "corrupt PGM/PPM: a header number does not fit in 31 bits";
    }
  }
  if (values[2] > 255) return "16-bit PGM/PPM (maxval > 255) is not supported";
  const std::size_t data = pos + 1;  // one whitespace character ends the header
  const std::uint64_t needed = values[0] * values[1] * channels;  // < 2^31 * 2^31 * 3: no overflow
  if (data > size || size - data < needed) return "truncated PGM/PPM: fewer pixel bytes than the header announces";
  return nullptr;
}

// stb_image 2.27 grows its buffer for a PNG's compressed data to the length an IDAT chunk declares
// before reading it, so a 100-byte file can make it allocate 2 GB (found by fuzz_image: an out-of-memory
// under libFuzzer's allocation limit). Every chunk must fit in the file; stb walks chunks the same way
// (length, type, data, CRC) and stops at IEND.
inline const char* unsafe_png_chunks(const unsigned char* bytes, std::size_t size) {
  static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (size < 8 || std::memcmp(bytes, signature, 8) != 0) return nullptr;
  for (std::size_t pos = 8; size - pos >= 12;) {
    const std::uint64_t length = std::uint64_t(bytes[pos]) << 24 | std::uint64_t(bytes[pos + 1]) << 16 |
                                 std::uint64_t(bytes[pos + 2]) << 8 | bytes[pos + 3];
    if (length > size - pos - 12) return "truncated PNG: a chunk is longer than the rest of the file";
    if (std::memcmp(bytes + pos + 4, "IEND", 4) == 0) break;
    pos += 12 + std::size_t(length);
  }
  return nullptr;
}

}  // namespace detail

// Pixels an encoded file may announce per byte of itself. The decoders allocate (and stb_image for most
// formats fills) the whole raster a header announces, however little data follows: a 35-byte GIF claiming
// 16384x16384 took 3 GB and 4 s, a 54-byte BMP 790 MB. Real images compress far less than this bound
// (a single-colour PNG or GIF reaches ~10^3-10^4 pixels per byte); files of a few KB may still
// announce up to kSmallFilePixels.
inline constexpr std::int64_t kMaxPixelsPerEncodedByte = 16384;
inline constexpr std::int64_t kSmallFilePixels = std::int64_t(1) << 22;

class ImageFile {
 public:
  // Throws mobileone::Error with the file name and the decoder's reason when the file cannot be decoded. The
  // file is read whole and decoded from memory, so the header that was checked is the one that is decoded.
  static ImageFile load(const std::string& path, std::int64_t max_pixels = kMaxImagePixels) {
    std::error_code ignored;  // a directory opens as a stream on Linux and reports a size past 2 GiB
    if (std::filesystem::is_directory(path, ignored)) throw Error(path + ": is a directory, not an image file");
    std::ifstream file(path, std::ios::binary | std::ios::ate);
    if (!file) throw Error(path + ": cannot decode image (cannot open the file)");
    const std::streamoff size = file.tellg();
    if (size < 0) throw Error(path + ": cannot decode image (cannot read the file)");
    if (size > std::streamoff(INT_MAX)) throw Error(path + ": encoded image larger than 2 GiB");
    std::vector<char> bytes(std::size_t(size) + 1);  // + 1: never a zero-length buffer
    file.seekg(0);
    if (!file.read(bytes.data(), size)) throw Error(path + ": cannot decode image (read error)");
    return decode(bytes.data(), std::size_t(size), path, max_pixels);
  }

  // The same from an encoded file held in memory (an app asset, a network payload): the size is checked
  // from the header before the pixels are allocated. `what` names the source in errors.
  static ImageFile decode(const void* data, std::size_t size, const std::string& what = "image",
                          std::int64_t max_pixels = kMaxImagePixels) {
    if (data == nullptr || size == 0) throw Error(what + ": cannot decode image (empty)");
    if (size > std::size_t(INT_MAX)) throw Error(what + ": encoded image larger than 2 GiB");
    const auto* bytes = static_cast<const stbi_uc*>(data);
    max_pixels = std::min(max_pixels, std::max(kSmallFilePixels, kMaxPixelsPerEncodedByte * std::int64_t(size)));
    if (detail::is_jpeg(bytes, size)) return decode_jpeg(bytes, size, what, max_pixels);
    for (const char* reason : {detail::unsafe_pnm(bytes, size), detail::unsafe_png_chunks(bytes, size)})
      if (reason) throw Error(what + ": cannot decode image (" + reason + ")");
    int width = 0, height = 0, channels_in_file = 0;
    if (!stbi_info_from_memory(bytes, int(size), &width, &height, &channels_in_file))
      throw Error(what + ": cannot decode image (" + failure_reason() + ")");
    check_size(what, width, height, max_pixels);
    return adopt(what, stbi_load_from_memory(bytes, int(size), &width, &height, &channels_in_file, 3), width, height,
                 max_pixels);
  }

  ImageView view() const { return {pixels_.get(), width_, height_, 0, PixelFormat::rgb8}; }

 private:
  static void check_size(const std::string& what, int width, int height, std::int64_t max_pixels) {
    if (width <= 0 || height <= 0 || width > kMaxImageSide || height > kMaxImageSide ||
        std::int64_t(width) * height > std::min(max_pixels, kMaxImagePixels))
      throw Error(what + ": image size " + std::to_string(width) + "x" + std::to_string(height) +
                  " is out of range (at most " + std::to_string(std::min(max_pixels, kMaxImagePixels)) +
                  " pixels for this file, " + std::to_string(kMaxImageSide) + " per side)");
  }
  // The header (width, height, components) is read and checked before the pixels are allocated.
  static ImageFile decode_jpeg(const unsigned char* bytes, std::size_t size, const std::string& what,
                               std::int64_t max_pixels) {
    detail::JpegDecoder jpeg;
    if (const char* reason = jpeg.read_header(bytes, size))
      throw Error(what + ": cannot decode image (" + reason + ")");
    check_size(what, jpeg.width(), jpeg.height(), max_pixels);
    ImageFile image;
    const std::size_t bytes_needed = std::size_t(jpeg.width()) * std::size_t(jpeg.height()) * 3;
    image.pixels_.reset(static_cast<unsigned char*>(std::malloc(bytes_needed)));
    if (!image.pixels_)
      throw Error(what + ": cannot decode image (out of memory for " + std::to_string(jpeg.width()) + "x" +
                  std::to_string(jpeg.height()) + " pixels)");
    if (const char* reason = jpeg.decode_rgb(image.pixels_.get()))
      throw Error(what + ": cannot decode image (" + reason + ")");
    image.width_ = jpeg.width();
    image.height_ = jpeg.height();
    return image;
  }
  // Takes ownership of stb's pixels, re-checking the decoded size (the header stbi_info read and the one
  // stbi_load decoded can differ: a file replaced in between, formats whose info is only a guess).
  static ImageFile adopt(const std::string& what, stbi_uc* pixels, int width, int height, std::int64_t max_pixels) {
    if (pixels == nullptr) throw Error(what + ": cannot decode image (" + failure_reason() + ")");
    ImageFile image;
    image.pixels_ = Pixels(pixels, &stbi_image_free);
    check_size(what, width, height, max_pixels);
    image.width_ = width;
    image.height_ = height;
    return image;
  }
  static std::string failure_reason() {
    const char* reason = stbi_failure_reason();
    return reason != nullptr && *reason != '\0' ? reason : "corrupt or unsupported file, no reason given";
  }
  using Pixels = std::unique_ptr<unsigned char, void (*)(void*)>;  // freed by the decoder that allocated them
  Pixels pixels_{nullptr, &std::free};
  int width_ = 0, height_ = 0;
};

}  // namespace mobileone::examples
