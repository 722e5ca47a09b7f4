// Camera frames: regions of interest, and NV12/NV21 (4:2:0 semi-planar YUV) to RGB888.
//
// Everything here checks sizes, strides and regions before reading a pixel, and throws mobileone::Error
// saying what does not fit. The conversion is integer arithmetic (16.16 fixed point), identical on every
// platform, within 1 of the exactly rounded result.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "error.hpp"
#include "image.hpp"

namespace mobileone {

// A rectangle of pixels in the coordinates of the whole image.
struct Region {
  int x = 0, y = 0, width = 0, height = 0;
};

inline std::string describe_region(const Region& r) {
  return std::to_string(r.width) + "x" + std::to_string(r.height) + "+" + std::to_string(r.x) + "+" + std::to_string(r.y);
}

// Refuses an empty region or one not entirely inside a width x height image. Nothing is clamped: a region
// that sticks out is a caller's bug that clamping would hide.
inline void validate_region(const Region& r, int width, int height) {
  if (r.width <= 0 || r.height <= 0) throw Error("region of interest " + describe_region(r) + " is empty");
  if (r.x < 0 || r.y < 0 || r.x > width - r.width || r.y > height - r.height)
    throw Error("region of interest " + describe_region(r) + " (width x height + x + y) does not lie inside the " +
                std::to_string(width) + "x" + std::to_string(height) + " image");
}

// The part of `image` inside `region`, without copying: a view of the same pixels with the same stride.
inline ImageView crop(const ImageView& image, const Region& region) {
  validate_image(image);
  validate_region(region, image.width, image.height);
  ImageView view = image;
  view.row_stride = row_stride_of(image);
  view.pixels += std::size_t(region.y) * view.row_stride + std::size_t(region.x) * std::size_t(bytes_per_pixel(image.format));
  view.width = region.width;
  view.height = region.height;
  return view;
}

// Bytes spanned by `rows` rows of `row_bytes` each, `stride` apart. The last row need not be padded to the
// stride (camera planes often end right after it). SIZE_MAX when the span does not fit in size_t.
inline std::size_t plane_span(std::size_t rows, std::size_t row_bytes, std::size_t stride) {
  if (rows == 0) return 0;
  const std::size_t limit = std::numeric_limits<std::size_t>::max();
  if (stride != 0 && rows - 1 > (limit - row_bytes) / stride) return limit;
  return (rows - 1) * stride + row_bytes;
}

enum class ChromaOrder { uv, vu };  // NV12, NV21
enum class YuvMatrix { bt601, bt709 };
enum class YuvRange { full, video };  // Y, U, V over 0..255, or Y over 16..235 and U, V over 16..240

// A 4:2:0 semi-planar frame: a luma plane and a chroma plane of ceil(height/2) rows of ceil(width/2)
// interleaved pairs, one pair for each 2x2 block of pixels.
struct YuvImageView {
  const std::uint8_t* luma = nullptr;
  std::size_t luma_stride = 0;  // 0: width
  const std::uint8_t* chroma = nullptr;
  std::size_t chroma_stride = 0;  // 0: 2 * ceil(width / 2)
  int width = 0, height = 0;
  ChromaOrder order = ChromaOrder::vu;
  YuvMatrix matrix = YuvMatrix::bt601;
  YuvRange range = YuvRange::full;
};

inline int chroma_rows(const YuvImageView& image) { return (image.height + 1) / 2; }
inline std::size_t chroma_row_bytes(const YuvImageView& image) { return 2 * std::size_t((image.width + 1) / 2); }
inline std::size_t luma_stride_of(const YuvImageView& image) {
  return image.luma_stride ? image.luma_stride : std::size_t(image.width);
}
inline std::size_t chroma_stride_of(const YuvImageView& image) {
  return image.chroma_stride ? image.chroma_stride : chroma_row_bytes(image);
}

// The checks of validate_image (null planes, sizes, strides), for both planes.
inline void validate_yuv_image(const YuvImageView& image) {
  validate_image(ImageView{image.luma, image.width, image.height, image.luma_stride, PixelFormat::gray8});
  if (image.chroma == nullptr) throw Error("YUV image has no chroma plane");
  if (chroma_stride_of(image) < chroma_row_bytes(image))
    throw Error("chroma row stride " + std::to_string(image.chroma_stride) + " is shorter than a row of " +
                std::to_string(chroma_row_bytes(image)) + " bytes");
}

namespace detail {

// RGB = Y' + M * (Cb, Cr) with Y', Cb, Cr scaled from the stored range, in 16.16 fixed point.
struct YuvCoefficients {
  int luma_offset;
  std::int32_t luma_scale, v_to_red, u_to_green, v_to_green, u_to_blue;
};

inline YuvCoefficients yuv_coefficients(YuvMatrix matrix, YuvRange range) {
  const double kr = matrix == YuvMatrix::bt601 ? 0.299 : 0.2126;
  const double kb = matrix == YuvMatrix::bt601 ? 0.114 : 0.0722;
  const double kg = 1.0 - kr - kb;
  const bool full = range == YuvRange::full;
  const double luma = full ? 1.0 : 255.0 / 219.0, chroma = full ? 1.0 : 255.0 / 224.0;
  auto fixed = [](double v) { return std::int32_t(std::lround(v * 65536.0)); };
  return {full ? 0 : 16,
          fixed(luma),
          fixed(2.0 * (1.0 - kr) * chroma),
          fixed(2.0 * kb * (1.0 - kb) / kg * chroma),
          fixed(2.0 * kr * (1.0 - kr) / kg * chroma),
          fixed(2.0 * (1.0 - kb) * chroma)};
}

inline std::uint8_t fixed_to_u8(std::int32_t value) {
  if (value <= 0) return 0;
  const std::int32_t v = value >> 16;
  return std::uint8_t(v > 255 ? 255 : v);
}

}  // namespace detail

// Converts `region` of `image` to packed RGB888: region.width * region.height * 3 bytes at `rgb`. Each
// pixel takes the chroma pair of its 2x2 block (what libyuv and the platforms' converters do), so a
// region may start at odd coordinates.
inline void yuv_to_rgb(const YuvImageView& image, const Region& region, std::uint8_t* rgb) {
  validate_yuv_image(image);
  validate_region(region, image.width, image.height);
  const detail::YuvCoefficients k = detail::yuv_coefficients(image.matrix, image.range);
  const int u_at = image.order == ChromaOrder::uv ? 0 : 1, v_at = 1 - u_at;
  const std::size_t luma_stride = luma_stride_of(image), chroma_stride = chroma_stride_of(image);
  for (int y = region.y; y < region.y + region.height; ++y) {
    const std::uint8_t* luma = image.luma + std::size_t(y) * luma_stride;
    const std::uint8_t* chroma = image.chroma + std::size_t(y / 2) * chroma_stride;
    for (int x = region.x; x < region.x + region.width; ++x) {
      const std::uint8_t* pair = chroma + std::size_t(x / 2) * 2;
      const std::int32_t u = pair[u_at] - 128, v = pair[v_at] - 128;
      const std::int32_t base = (luma[x] - k.luma_offset) * k.luma_scale + (1 << 15);  // + 0.5: round
      *rgb++ = detail::fixed_to_u8(base + k.v_to_red * v);
      *rgb++ = detail::fixed_to_u8(base - k.u_to_green * u - k.v_to_green * v);
      *rgb++ = detail::fixed_to_u8(base + k.u_to_blue * u);
    }
  }
}

}  // namespace mobileone
