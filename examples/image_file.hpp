// Decodes an image file (JPEG, PNG, BMP, PGM/PPM, TGA, GIF) with stb_image into RGB8 pixels
// that a mobileone::ImageView can point at. Shared by the command-line tools and the tests; the engine
// itself never decodes files. stb_image's implementation is compiled once, in stb_image_impl.cpp.
#pragma once

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <mobileone/image.hpp>

#include "stb_image.h"

namespace mobileone::examples {

namespace detail {

// stb_image 2.27 (Debian's libstb-dev) writes past its 256-entry Huffman arrays when a JPEG DHT segment
// declares a table of more than 256 codes (found by fuzz_image; upstream fixed it in 2.28 with the same
// bound). Every DHT segment stb parses follows the bytes FF C4 in the file, whatever route its marker
// reader takes to them, so each such place is parsed here exactly as stb would (bytes past the end read
// as 0, as stb reads them) and any table stb would accept with more than 256 codes is refused first.
// Returns why the file is refused, or nullptr.
inline const char* unsafe_jpeg_huffman_tables(const unsigned char* bytes, std::size_t size) {
  // stb takes a file for JPEG when it starts with SOI: one or more FF fill bytes, then D8 (no other format
  // it tries first can start so). Anything else never reaches its JPEG parser.
  std::size_t soi = 0;
  while (soi < size && bytes[soi] == 0xFF) ++soi;
  if (soi == 0 || soi >= size || bytes[soi] != 0xD8) return nullptr;
  auto at = [&](std::size_t i) -> unsigned { return i < size ? bytes[i] : 0u; };
  int candidates = 0;
  for (std::size_t i = soi + 1; i + 1 < size; ++i) {
    if (bytes[i] != 0xFF || bytes[i + 1] != 0xC4) continue;
    // A real file has a few DHT segments; thousands of FF C4 pairs bound the work (each costs <= 64 KB).
    if (++candidates > 1024) return "corrupt JPEG: more than 1024 Huffman table markers";
    std::size_t pos = i + 2;
    long remaining = long(at(pos) << 8 | at(pos + 1)) - 2;
    pos += 2;
    while (remaining > 0 && pos < size) {
      const unsigned q = at(pos++);
      if ((q >> 4) > 1 || (q & 15) > 3) break;  // stb refuses the segment here
      unsigned codes = 0;
      for (int length = 0; length < 16; ++length) codes += at(pos++);
      if (codes > 256) return "corrupt JPEG: a Huffman table with more than 256 codes";
      pos += codes;
      remaining -= 17 + long(codes);
    }
  }
  return nullptr;
}

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

// Pixels an encoded file may announce per byte of itself. stb_image allocates (and for most formats
// fills) the whole raster a header announces, however little data follows: a 35-byte GIF claiming
// 16384x16384 took 3 GB and 4 s, a 54-byte BMP 790 MB. Real images compress far less than this bound
// (a single-colour PNG or GIF reaches ~10^3-10^4 pixels per byte); files of a few KB may still
// announce up to kSmallFilePixels.
inline constexpr std::int64_t kMaxPixelsPerEncodedByte = 16384;
inline constexpr std::int64_t kSmallFilePixels = std::int64_t(1) << 22;

class ImageFile {
 public:
  // Throws mobileone::Error with the file name and stb's reason when the file cannot be decoded. The file
  // is read whole and decoded from memory, so the header that was checked is the one that is decoded.
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
  // from the header before stb_image allocates the pixels. `what` names the source in errors.
  static ImageFile decode(const void* data, std::size_t size, const std::string& what = "image",
                          std::int64_t max_pixels = kMaxImagePixels) {
    if (data == nullptr || size == 0) throw Error(what + ": cannot decode image (empty)");
    if (size > std::size_t(INT_MAX)) throw Error(what + ": encoded image larger than 2 GiB");
    const auto* bytes = static_cast<const stbi_uc*>(data);
    for (const char* reason : {detail::unsafe_jpeg_huffman_tables(bytes, size), detail::unsafe_pnm(bytes, size),
                               detail::unsafe_png_chunks(bytes, size)})
      if (reason) throw Error(what + ": cannot decode image (" + reason + ")");
    int width = 0, height = 0, channels_in_file = 0;
    if (!stbi_info_from_memory(bytes, int(size), &width, &height, &channels_in_file))
      throw Error(what + ": cannot decode image (" + failure_reason() + ")");
    max_pixels = std::min(max_pixels, std::max(kSmallFilePixels, kMaxPixelsPerEncodedByte * std::int64_t(size)));
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
  // Takes ownership of stb's pixels, re-checking the decoded size (the header stbi_info read and the one
  // stbi_load decoded can differ: a file replaced in between, formats whose info is only a guess).
  static ImageFile adopt(const std::string& what, stbi_uc* pixels, int width, int height, std::int64_t max_pixels) {
    if (pixels == nullptr) throw Error(what + ": cannot decode image (" + failure_reason() + ")");
    ImageFile image;
    image.pixels_.reset(pixels);
    check_size(what, width, height, max_pixels);
    image.width_ = width;
    image.height_ = height;
    return image;
  }
  static std::string failure_reason() {
    const char* reason = stbi_failure_reason();
    return reason != nullptr && *reason != '\0' ? reason : "corrupt or unsupported file, no reason given";
  }
  struct StbFree {
    void operator()(stbi_uc* p) const { stbi_image_free(p); }
  };
  std::unique_ptr<stbi_uc, StbFree> pixels_;
  int width_ = 0, height_ = 0;
};

}  // namespace mobileone::examples
