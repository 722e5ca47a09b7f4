// The reference preprocessing, reproduced exactly: torchvision Resize(shorter side) on a PIL image
// (Pillow's antialiased bilinear: separable, fixed-point coefficients, uint8 between the horizontal and
// the vertical pass), CenterCrop (Python's round-half-even offsets, zero padding when the crop is larger),
// ToTensor (/255) and Normalize, all in float32. Only the cropped window is ever computed, and only the
// source pixels it needs are read. Camera frames (packed or YUV) are turned upright (rotation, mirror) and
// cut to a region of interest in the same pass: nothing copies the frame.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "blob.hpp"
#include "image.hpp"
#include "yuv.hpp"

namespace mobileone {

enum class TensorLayout { nchw, nhwc };

// Where the preprocessing lands: a crop of crop_height x crop_width after resizing the shorter side.
struct PreprocessTarget {
  int crop_height = 224;
  int crop_width = 224;
  int resize_shorter = 256;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};

  static PreprocessTarget from(const PreprocessSpec& spec) {
    return {spec.input_height, spec.input_width, spec.resize_shorter, spec.mean, spec.std};
  }
};

namespace detail {

// Pillow's fixed-point precision for 8-bit resampling.
inline constexpr int kResamplePrecisionBits = 32 - 8 - 2;

// Taps of one output coordinate: source index of the first tap and the integer weights.
struct ResampleTaps {
  std::vector<int> first;   // [outputs]
  std::vector<int> count;   // [outputs]
  std::vector<std::int32_t> weights;  // [outputs][kernel_size]
  int kernel_size = 0;
};

// Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear (triangle) filter, evaluated for
// output coordinates [out_begin, out_begin + out_count) of a resize from in_size to out_size.
inline void compute_taps(int in_size, int out_size, int out_begin, int out_count, ResampleTaps& taps) {
  const double scale = double(in_size) / double(out_size);
  const double filter_scale = std::max(scale, 1.0);
  const double support = 1.0 * filter_scale;
  const double inverse_filter_scale = 1.0 / filter_scale;  // Pillow multiplies by this; dividing would round differently
  taps.kernel_size = int(std::ceil(support)) * 2 + 1;
  taps.first.assign(std::size_t(out_count), 0);
  taps.count.assign(std::size_t(out_count), 0);
  taps.weights.assign(std::size_t(out_count) * std::size_t(taps.kernel_size), 0);
  std::vector<double> w(std::size_t(taps.kernel_size));
  for (int i = 0; i < out_count; ++i) {
    const double center = (out_begin + i + 0.5) * scale;
    int xmin = int(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = int(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double total = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double t = std::fabs((x + xmin - center + 0.5) * inverse_filter_scale);
      w[std::size_t(x)] = t < 1.0 ? 1.0 - t : 0.0;
      total += w[std::size_t(x)];
    }
    for (int x = 0; x < xmax; ++x) {
      const double k = total != 0.0 ? w[std::size_t(x)] / total : w[std::size_t(x)];
      const double fixed = k * double(1 << kResamplePrecisionBits);
      taps.weights[std::size_t(i) * std::size_t(taps.kernel_size) + std::size_t(x)] =
          std::int32_t(k < 0 ? -0.5 + fixed : 0.5 + fixed);
    }
    taps.first[std::size_t(i)] = xmin;
    taps.count[std::size_t(i)] = xmax;
  }
}

inline std::uint8_t clip_to_u8(std::int32_t accumulator) {
  const std::int32_t v = accumulator >> kResamplePrecisionBits;
  return std::uint8_t(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Reusable memory so that preprocessing allocates only when an image is larger than any before.
struct PreprocessScratch {
  ResampleTaps horizontal, vertical;
  std::vector<std::uint8_t> source_rgb;  // a block of source rows as RGB, only the columns the taps read
  std::vector<std::uint8_t> rows;        // horizontally resampled rows, RGB
};

// RGB from `count` pixels `step` bytes apart, to rgb, rgb + rgb_step, ...; Red, Green and Blue are the
// channels' byte offsets in a pixel (all 0 for grey).
template <int Red, int Green, int Blue, class Step, class RgbStep>
void convert_packed(const std::uint8_t* pixel, Step step, int count, std::uint8_t* rgb, RgbStep rgb_step) {
  for (int i = 0; i < count; ++i) {
    rgb[i * rgb_step + 0] = pixel[i * step + Red];
    rgb[i * rgb_step + 1] = pixel[i * step + Green];
    rgb[i * rgb_step + 2] = pixel[i * step + Blue];
  }
}

template <int Bytes, int Red, int Green, int Blue>
void read_packed(const std::uint8_t* first, int count, std::uint8_t* rgb, std::ptrdiff_t rgb_step) {
  using Step = std::integral_constant<std::ptrdiff_t, Bytes>;
  using RgbStep = std::integral_constant<std::ptrdiff_t, 3>;
  if (rgb_step == 3)  // an unturned row: constant steps, which vectorize
    convert_packed<Red, Green, Blue>(first, Step{}, count, rgb, RgbStep{});
  else
    convert_packed<Red, Green, Blue>(first, Step{}, count, rgb, rgb_step);
}

// Reads rows of a validated packed image as RGB; the interface of YuvRowReader.
class PackedRowReader {
 public:
  explicit PackedRowReader(const ImageView& image) : image_(image), stride_(row_stride_of(image)) {}

  // `count` pixels of row `y` from column `x` rightwards, as RGB triples at rgb, rgb + rgb_step, ...
  void read(int y, int x, int count, std::uint8_t* rgb, std::ptrdiff_t rgb_step) const {
    const std::uint8_t* first =
        image_.pixels + std::size_t(y) * stride_ + std::size_t(x) * std::size_t(bytes_per_pixel(image_.format));
    switch (image_.format) {
      case PixelFormat::rgb8: read_packed<3, 0, 1, 2>(first, count, rgb, rgb_step); break;
      case PixelFormat::rgba8: read_packed<4, 0, 1, 2>(first, count, rgb, rgb_step); break;
      case PixelFormat::bgr8: read_packed<3, 2, 1, 0>(first, count, rgb, rgb_step); break;
      case PixelFormat::bgra8: read_packed<4, 2, 1, 0>(first, count, rgb, rgb_step); break;
      case PixelFormat::gray8: read_packed<1, 0, 0, 0>(first, count, rgb, rgb_step); break;
    }
  }

 private:
  ImageView image_;
  std::size_t stride_;
};

// Where pixel (x, y) of the upright region lies in the frame: column origin_x + xx * x + yx * y, row
// origin_y + xy * x + yy * y. Each factor is 0 or +-1; a quarter turn has xx = yy = 0, other turns xy = yx = 0.
struct FrameMapping {
  int origin_x, origin_y, xx, xy, yx, yy;
};

// The mapping for `region` (in upright coordinates) of the frame rotated clockwise, then mirrored.
inline FrameMapping frame_mapping(int frame_width, int frame_height, const Orientation& orientation, const Region& region) {
  FrameMapping m{0, 0, 1, 0, 0, 1};
  switch (orientation.rotation) {
    case 90: m = {0, frame_height - 1, 0, -1, 1, 0}; break;  // upright (x, y) is frame (y, height - 1 - x)
    case 180: m = {frame_width - 1, frame_height - 1, -1, 0, 0, -1}; break;
    case 270: m = {frame_width - 1, 0, 0, 1, -1, 0}; break;  // upright (x, y) is frame (width - 1 - y, x)
    default: break;
  }
  if (orientation.mirror) {  // upright x counts from the right: x -> upright_width - 1 - x
    const int last = (swaps_sides(orientation) ? frame_height : frame_width) - 1;
    m.origin_x += m.xx * last;
    m.origin_y += m.xy * last;
    m.xx = -m.xx;
    m.xy = -m.xy;
  }
  m.origin_x += m.xx * region.x + m.yx * region.y;
  m.origin_y += m.xy * region.x + m.yy * region.y;
  return m;
}

// Upright rows read per pass through the frame in a quarter turn, where an upright row is a frame column:
// each frame row is then read 16 pixels at a time (a cache line of RGBA) instead of one.
inline constexpr int kQuarterTurnBlockRows = 16;

// `count` pixels of frame row `y` from column `x`, stepping `direction` (+1 or -1) columns, to rgb,
// rgb + rgb_step, ... Read left to right either way, written backwards for -1: hardware prefetchers follow
// ascending addresses (on the x86 test machine, right to left made a 1080p quarter turn about 2x slower).
template <class Reader>
void read_frame_row(const Reader& reader, int y, int x, int direction, int count, std::uint8_t* rgb,
                    std::ptrdiff_t rgb_step) {
  if (direction > 0)
    reader.read(y, x, count, rgb, rgb_step);
  else
    reader.read(y, x - (count - 1), count, rgb + (count - 1) * rgb_step, -rgb_step);
}

// Rows [y, y + rows) x columns [x, x + cols) of the upright region as RGB, row r at rgb + r * pitch.
template <class Reader>
void load_upright(const Reader& reader, const FrameMapping& m, int y, int rows, int x, int cols, std::uint8_t* rgb,
                  std::size_t pitch) {
  if (m.xy == 0) {  // an upright row lies along a frame row
    for (int r = 0; r < rows; ++r)
      read_frame_row(reader, m.origin_y + m.yy * (y + r), m.origin_x + m.xx * x, m.xx, cols, rgb + std::size_t(r) * pitch, 3);
  } else {  // along a frame column: each frame row gives one pixel of every row of the block
    for (int c = 0; c < cols; ++c)
      read_frame_row(reader, m.origin_y + m.xy * (x + c), m.origin_x + m.yx * y, m.yx, rows, rgb + std::size_t(c) * 3,
                     std::ptrdiff_t(pitch));
  }
}

// torchvision's centre-crop offset: round-half-even of the centred start, or negative zero padding.
inline int crop_offset(int resized, int crop) {
  if (crop > resized) return -((crop - resized) / 2);
  return int(std::nearbyint((resized - crop) / 2.0));
}

}  // namespace detail

// Size of the image after torchvision's Resize(shorter side): the longer side is truncated.
inline void resized_size(int width, int height, int shorter, int& out_width, int& out_height) {
  if (width <= height) {
    out_width = shorter;
    out_height = int(double(std::int64_t(shorter) * height) / double(width));
  } else {
    out_height = shorter;
    out_width = int(double(std::int64_t(shorter) * width) / double(height));
  }
  out_width = std::max(out_width, 1);
  out_height = std::max(out_height, 1);
}

namespace detail {

// preprocess_image on a validated frame of frame_width x frame_height pixels that `reader` reads.
template <class Reader>
void preprocess_frame(const Reader& reader, int frame_width, int frame_height, const Orientation& orientation,
                      const std::optional<Region>& region, const PreprocessTarget& target, float* out,
                      TensorLayout layout, PreprocessScratch& scratch) {
  validate_orientation(orientation);
  if (target.crop_height <= 0 || target.crop_width <= 0 || target.resize_shorter <= 0 ||
      target.crop_height > kMaxImageSide || target.crop_width > kMaxImageSide || target.resize_shorter > kMaxImageSide)
    throw Error("preprocessing sizes out of range");
  const bool quarter_turn = swaps_sides(orientation);
  const int upright_width = quarter_turn ? frame_height : frame_width;
  const int upright_height = quarter_turn ? frame_width : frame_height;
  const Region part = region.value_or(Region{0, 0, upright_width, upright_height});
  if (orientation.rotation == 0 && !orientation.mirror)
    validate_region(part, upright_width, upright_height);
  else
    validate_region(part, upright_width, upright_height,
                    "upright image (the " + std::to_string(frame_width) + "x" + std::to_string(frame_height) +
                        " frame rotated " + std::to_string(orientation.rotation) + " degrees clockwise" +
                        (orientation.mirror ? ", then mirrored)" : ")"));
  const FrameMapping mapping = frame_mapping(frame_width, frame_height, orientation, part);
  const int width = part.width, height = part.height;
  int rw = 0, rh = 0;
  resized_size(width, height, target.resize_shorter, rw, rh);
  if (rw > kMaxImageSide || rh > kMaxImageSide) throw Error("image aspect ratio too extreme to resize");
  const int top = detail::crop_offset(rh, target.crop_height), left = detail::crop_offset(rw, target.crop_width);
  // Output pixels that fall inside the resized image (the rest is torchvision's zero padding).
  const int x_begin = std::max(0, -left), x_end = std::min(target.crop_width, rw - left);
  const int y_begin = std::max(0, -top), y_end = std::min(target.crop_height, rh - top);
  const int cols = std::max(0, x_end - x_begin), rows = std::max(0, y_end - y_begin);

  const std::size_t plane = std::size_t(target.crop_height) * std::size_t(target.crop_width);
  auto store = [&](int y, int x, int c, float value) {
    if (layout == TensorLayout::nchw)
      out[std::size_t(c) * plane + std::size_t(y) * std::size_t(target.crop_width) + std::size_t(x)] = value;
    else
      out[(std::size_t(y) * std::size_t(target.crop_width) + std::size_t(x)) * 3 + std::size_t(c)] = value;
  };
  auto normalize = [&](int c, std::uint8_t v) { return (float(v) / 255.f - target.mean[c]) / target.std[c]; };
  for (int y = 0; y < target.crop_height; ++y)
    for (int x = 0; x < target.crop_width; ++x)
      if (y < y_begin || y >= y_end || x < x_begin || x >= x_end)
        for (int c = 0; c < 3; ++c) store(y, x, c, normalize(c, 0));
  if (cols == 0 || rows == 0) return;

  auto& h = scratch.horizontal;
  auto& v = scratch.vertical;
  compute_taps(width, rw, left + x_begin, cols, h);
  compute_taps(height, rh, top + y_begin, rows, v);
  // The source rows and columns the taps read (exclusive ends; taps advance monotonically).
  const int src_first = v.first.front(), src_last = v.first.back() + v.count.back();
  const int col_first = h.first.front(), col_last = h.first.back() + h.count.back();

  // Horizontal pass over just those rows, loaded a block at a time.
  const std::size_t pitch = std::size_t(col_last - col_first) * 3;
  const int block = mapping.xy == 0 ? 1 : kQuarterTurnBlockRows;
  scratch.source_rgb.resize(pitch * std::size_t(block));
  scratch.rows.resize(std::size_t(src_last - src_first) * std::size_t(cols) * 3);
  for (int block_first = src_first; block_first < src_last; block_first += block) {
    const int block_rows = std::min(block, src_last - block_first);
    load_upright(reader, mapping, block_first, block_rows, col_first, col_last - col_first, scratch.source_rgb.data(), pitch);
    for (int r = 0; r < block_rows; ++r) {
      const std::uint8_t* source = scratch.source_rgb.data() + std::size_t(r) * pitch;
      std::uint8_t* dst = scratch.rows.data() + std::size_t(block_first + r - src_first) * std::size_t(cols) * 3;
      for (int x = 0; x < cols; ++x) {
        const std::int32_t* k = h.weights.data() + std::size_t(x) * std::size_t(h.kernel_size);
        const std::uint8_t* src = source + std::size_t(h.first[std::size_t(x)] - col_first) * 3;
        const int taps = h.count[std::size_t(x)];  // read once: the uint8 stores below may alias anything
        std::int32_t acc[3] = {1 << (kResamplePrecisionBits - 1), 1 << (kResamplePrecisionBits - 1),
                               1 << (kResamplePrecisionBits - 1)};
        for (int t = 0; t < taps; ++t)
          for (int c = 0; c < 3; ++c) acc[c] += std::int32_t(src[3 * t + c]) * k[t];
        for (int c = 0; c < 3; ++c) dst[3 * x + c] = clip_to_u8(acc[c]);
      }
    }
  }
  // Vertical pass, then ToTensor + Normalize.
  const std::size_t row_bytes = std::size_t(cols) * 3;
  for (int y = 0; y < rows; ++y) {
    const std::int32_t* k = v.weights.data() + std::size_t(y) * std::size_t(v.kernel_size);
    const std::uint8_t* src = scratch.rows.data() + std::size_t(v.first[std::size_t(y)] - src_first) * row_bytes;
    const int taps = v.count[std::size_t(y)];
    for (std::size_t i = 0; i < row_bytes; ++i) {
      std::int32_t acc = 1 << (kResamplePrecisionBits - 1);
      for (int t = 0; t < taps; ++t) acc += std::int32_t(src[std::size_t(t) * row_bytes + i]) * k[t];
      const int x = int(i / 3), c = int(i % 3);
      store(y_begin + y, x_begin + x, c, normalize(c, clip_to_u8(acc)));
    }
  }
}

}  // namespace detail

// Writes the preprocessed crop_height x crop_width x 3 tensor to `out` in the given layout. The image is
// first turned upright (`orientation`: rotated clockwise, then mirrored), then `region` of the upright
// image, if given, is preprocessed as if it were the whole image; all in the resize's own pass.
inline void preprocess_image(const ImageView& image, const PreprocessTarget& target, float* out, TensorLayout layout,
                             detail::PreprocessScratch& scratch, const Orientation& orientation = {},
                             const std::optional<Region>& region = std::nullopt) {
  validate_image(image);
  detail::preprocess_frame(detail::PackedRowReader(image), image.width, image.height, orientation, region, target, out,
                           layout, scratch);
}

// The same for a 4:2:0 YUV camera frame, converted to RGB as yuv_to_rgb does, pixel by pixel as the resize
// reads them: the result equals yuv_to_rgb's image preprocessed, bit for bit.
inline void preprocess_image(const YuvImageView& image, const PreprocessTarget& target, float* out, TensorLayout layout,
                             detail::PreprocessScratch& scratch, const Orientation& orientation = {},
                             const std::optional<Region>& region = std::nullopt) {
  validate_yuv_image(image);
  detail::preprocess_frame(detail::YuvRowReader(image), image.width, image.height, orientation, region, target, out,
                           layout, scratch);
}

}  // namespace mobileone
