// An 8-bit image in memory, described as apps get them (decoders, Android bitmaps, iOS pixel buffers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "error.hpp"

namespace mobileone {

enum class PixelFormat { rgb8, rgba8, bgr8, bgra8, gray8 };

inline int bytes_per_pixel(PixelFormat format) {
  switch (format) {
    case PixelFormat::rgb8:
    case PixelFormat::bgr8: return 3;
    case PixelFormat::rgba8:
    case PixelFormat::bgra8: return 4;
    case PixelFormat::gray8: return 1;
  }
  return 0;
}

struct ImageView {
  const std::uint8_t* pixels = nullptr;
  int width = 0;
  int height = 0;
  std::size_t row_stride = 0;  // bytes from one row to the next; 0 means tightly packed
  PixelFormat format = PixelFormat::rgb8;
};

inline constexpr int kMaxImageSide = 1 << 15;
inline constexpr std::int64_t kMaxImagePixels = std::int64_t(1) << 28;

// Refuses what cannot be a valid image before anything reads it: null pixels, empty or absurd sizes
// (checked before any size arithmetic can overflow), a row stride shorter than a row.
inline void validate_image(const ImageView& image) {
  if (image.pixels == nullptr) throw Error("image has no pixel data");
  if (image.width <= 0 || image.height <= 0 || image.width > kMaxImageSide || image.height > kMaxImageSide)
    throw Error("image size " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                " is out of range (1.." + std::to_string(kMaxImageSide) + " per side)");
  if (std::int64_t(image.width) * image.height > kMaxImagePixels) throw Error("image has too many pixels");
  const int bpp = bytes_per_pixel(image.format);
  if (bpp == 0) throw Error("unknown pixel format");
  if (image.row_stride != 0 && image.row_stride < std::size_t(image.width) * std::size_t(bpp))
    throw Error("image row stride " + std::to_string(image.row_stride) + " is shorter than a row of " +
                std::to_string(std::size_t(image.width) * std::size_t(bpp)) + " bytes");
}

inline std::size_t row_stride_of(const ImageView& image) {
  return image.row_stride ? image.row_stride : std::size_t(image.width) * std::size_t(bytes_per_pixel(image.format));
}

// How a frame as the camera delivers it becomes the upright image the model sees: first rotated clockwise
// by `rotation` degrees (0, 90, 180 or 270: the rotation that makes the frame upright, what Android's
// ImageInfo.getRotationDegrees() reports), then, if `mirror`, flipped left to right (the upright image as a
// front camera's preview shows it). A region of interest is in coordinates of that upright image.
struct Orientation {
  int rotation = 0;
  bool mirror = false;
};

inline void validate_orientation(const Orientation& orientation) {
  const int r = orientation.rotation;
  if (r != 0 && r != 90 && r != 180 && r != 270)
    throw Error("rotation " + std::to_string(r) + " is not 0, 90, 180 or 270 degrees clockwise");
}

// Whether the upright image is the frame's height wide (a quarter turn).
inline bool swaps_sides(const Orientation& orientation) { return orientation.rotation % 180 != 0; }

}  // namespace mobileone
