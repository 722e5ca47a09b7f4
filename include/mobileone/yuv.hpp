// Camera frames: regions of interest, and 4:2:0 YUV (NV12, NV21, I420, Android's YUV_420_888) to RGB888.
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
#include <utility>

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

// Refuses an empty region or one not entirely inside a width x height image (`what` names it in the
// message). Nothing is clamped: a region that sticks out is a caller's bug that clamping would hide.
inline void validate_region(const Region& r, int width, int height, const std::string& what = "image") {
  if (r.width <= 0 || r.height <= 0) throw Error("region of interest " + describe_region(r) + " is empty");
  if (r.x < 0 || r.y < 0 || r.x > width - r.width || r.y > height - r.height)
    throw Error("region of interest " + describe_region(r) + " (width x height + x + y) does not lie inside the " +
                std::to_string(width) + "x" + std::to_string(height) + " " + what);
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

enum class YuvMatrix { bt601, bt709 };
enum class YuvRange { full, video };  // Y, U, V over 0..255, or Y over 16..235 and U, V over 16..240

// A 4:2:0 frame: a luma plane of width x height samples and two chroma planes, U (Cb) and V (Cr), of
// ceil(height/2) rows of ceil(width/2) samples, one sample per 2x2 block of pixels. The samples of a chroma
// row lie `chroma_pixel_stride` bytes apart: 2 when U and V interleave in one plane (NV12: v = u + 1; NV21:
// u = v + 1), 1 when each has a plane of its own (I420); Android's YUV_420_888 is either. nv12(), nv21() and
// i420() fill it in.
struct YuvImageView {
  const std::uint8_t* luma = nullptr;
  std::size_t luma_stride = 0;  // 0: width
  const std::uint8_t* u = nullptr;
  std::size_t u_stride = 0;  // 0: ceil(width / 2) * chroma_pixel_stride
  const std::uint8_t* v = nullptr;
  std::size_t v_stride = 0;  // 0: as u_stride
  int chroma_pixel_stride = 1;  // 1 or 2
  int width = 0, height = 0;
  YuvMatrix matrix = YuvMatrix::bt601;
  YuvRange range = YuvRange::full;
};

// Semi-planar frames: the luma plane, then one plane of interleaved chroma pairs (U,V for NV12, V,U for NV21).
inline YuvImageView nv12(const std::uint8_t* luma, std::size_t luma_stride, const std::uint8_t* chroma,
                         std::size_t chroma_stride, int width, int height) {
  return {luma, luma_stride, chroma, chroma_stride, chroma ? chroma + 1 : nullptr, chroma_stride, 2, width, height};
}
inline YuvImageView nv21(const std::uint8_t* luma, std::size_t luma_stride, const std::uint8_t* chroma,
                         std::size_t chroma_stride, int width, int height) {
  return {luma, luma_stride, chroma ? chroma + 1 : nullptr, chroma_stride, chroma, chroma_stride, 2, width, height};
}
// Planar: three planes, Y then U then V.
inline YuvImageView i420(const std::uint8_t* luma, std::size_t luma_stride, const std::uint8_t* u, std::size_t u_stride,
                         const std::uint8_t* v, std::size_t v_stride, int width, int height) {
  return {luma, luma_stride, u, u_stride, v, v_stride, 1, width, height};
}

inline int chroma_width(const YuvImageView& image) { return (image.width + 1) / 2; }
inline int chroma_rows(const YuvImageView& image) { return (image.height + 1) / 2; }
// Bytes of a chroma row, up to the next row when the rows are packed.
inline std::size_t chroma_row_bytes(const YuvImageView& image) {
  return std::size_t(chroma_width(image)) * std::size_t(image.chroma_pixel_stride);
}
// Bytes from a chroma row's first sample to just after its last (what the last row of a plane must hold).
inline std::size_t chroma_row_span(const YuvImageView& image) {
  return std::size_t(chroma_width(image) - 1) * std::size_t(image.chroma_pixel_stride) + 1;
}
inline std::size_t luma_stride_of(const YuvImageView& image) {
  return image.luma_stride ? image.luma_stride : std::size_t(image.width);
}
inline std::size_t u_stride_of(const YuvImageView& image) {
  return image.u_stride ? image.u_stride : chroma_row_bytes(image);
}
inline std::size_t v_stride_of(const YuvImageView& image) { return image.v_stride ? image.v_stride : u_stride_of(image); }

// The checks of validate_image (null planes, sizes, strides), for all three planes.
inline void validate_yuv_image(const YuvImageView& image) {
  validate_image(ImageView{image.luma, image.width, image.height, image.luma_stride, PixelFormat::gray8});
  if (image.u == nullptr || image.v == nullptr)
    throw Error(std::string("YUV image has no chroma plane (") + (image.u ? "V" : "U") + ")");
  if (image.chroma_pixel_stride != 1 && image.chroma_pixel_stride != 2)
    throw Error("chroma pixel stride " + std::to_string(image.chroma_pixel_stride) + " is not 1 or 2");
  const std::size_t row = chroma_row_bytes(image);
  for (const auto& [name, stride] : {std::pair{"U", u_stride_of(image)}, std::pair{"V", v_stride_of(image)}})
    if (stride < row)
      throw Error(std::string(name) + " plane: chroma row stride " + std::to_string(stride) + " is shorter than a row of " +
                  std::to_string(row) + " bytes (" + std::to_string(chroma_width(image)) + " samples " +
                  std::to_string(image.chroma_pixel_stride) + " bytes apart)");
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

// Reads frame rows as RGB: the pixels of a validated frame, each taking the chroma samples of its 2x2 block.
class YuvRowReader {
 public:
  explicit YuvRowReader(const YuvImageView& image)
      : image_(image),
        k_(yuv_coefficients(image.matrix, image.range)),
        luma_stride_(luma_stride_of(image)),
        u_stride_(u_stride_of(image)),
        v_stride_(v_stride_of(image)) {}

  // `count` pixels of row `y` from column `x` rightwards, as RGB triples at rgb, rgb + rgb_step, ...
  void read(int y, int x, int count, std::uint8_t* rgb, std::ptrdiff_t rgb_step) const {
    const std::uint8_t* luma = image_.luma + std::size_t(y) * luma_stride_;
    const std::uint8_t* u = image_.u + std::size_t(y / 2) * u_stride_;
    const std::uint8_t* v = image_.v + std::size_t(y / 2) * v_stride_;
    const std::size_t pixel_stride = std::size_t(image_.chroma_pixel_stride);
    for (int i = 0; i < count; ++i, rgb += rgb_step) {
      const std::size_t column = std::size_t(x) + std::size_t(i);
      const std::size_t c = column / 2 * pixel_stride;
      const std::int32_t cb = u[c] - 128, cr = v[c] - 128;
      const std::int32_t base = (luma[column] - k_.luma_offset) * k_.luma_scale + (1 << 15);  // + 0.5: round
      rgb[0] = fixed_to_u8(base + k_.v_to_red * cr);
      rgb[1] = fixed_to_u8(base - k_.u_to_green * cb - k_.v_to_green * cr);
      rgb[2] = fixed_to_u8(base + k_.u_to_blue * cb);
    }
  }

 private:
  YuvImageView image_;
  YuvCoefficients k_;
  std::size_t luma_stride_, u_stride_, v_stride_;
};

}  // namespace detail

// Converts `region` of `image` to packed RGB888: region.width * region.height * 3 bytes at `rgb`. Each
// pixel takes the chroma samples of its 2x2 block (what libyuv and the platforms' converters do), so a
// region may start at odd coordinates. (The engine's preprocessing reads frames directly, without this copy.)
inline void yuv_to_rgb(const YuvImageView& image, const Region& region, std::uint8_t* rgb) {
  validate_yuv_image(image);
  validate_region(region, image.width, image.height);
  const detail::YuvRowReader reader(image);
  const std::size_t row_bytes = std::size_t(region.width) * 3;
  for (int y = 0; y < region.height; ++y) reader.read(region.y + y, region.x, region.width, rgb + std::size_t(y) * row_bytes, 3);
}

}  // namespace mobileone
