// The reference preprocessing, reproduced exactly: torchvision Resize(shorter side) on a PIL image
// (Pillow's antialiased bilinear: separable, fixed-point coefficients, uint8 between the horizontal and
// the vertical pass), CenterCrop (Python's round-half-even offsets, zero padding when the crop is larger),
// ToTensor (/255) and Normalize, all in float32. Only the cropped window is ever computed.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "blob.hpp"
#include "image.hpp"

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
  std::vector<std::uint8_t> source_rgb;  // one source row as RGB
  std::vector<std::uint8_t> rows;        // horizontally resampled rows, RGB
  std::vector<std::uint8_t> out_row;     // one output row, RGB
};

inline void load_rgb_row(const ImageView& image, int y, std::uint8_t* rgb) {
  const std::uint8_t* row = image.pixels + std::size_t(y) * row_stride_of(image);
  const int w = image.width;
  switch (image.format) {
    case PixelFormat::rgb8: std::copy(row, row + 3 * std::size_t(w), rgb); break;
    case PixelFormat::rgba8:
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) rgb[3 * x + c] = row[4 * x + c];
      break;
    case PixelFormat::bgr8:
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) rgb[3 * x + c] = row[3 * x + 2 - c];
      break;
    case PixelFormat::bgra8:
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) rgb[3 * x + c] = row[4 * x + 2 - c];
      break;
    case PixelFormat::gray8:
      for (int x = 0; x < w; ++x) rgb[3 * x] = rgb[3 * x + 1] = rgb[3 * x + 2] = row[x];
      break;
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

// Writes the preprocessed crop_height x crop_width x 3 tensor to `out` in the given layout.
inline void preprocess_image(const ImageView& image, const PreprocessTarget& target, float* out, TensorLayout layout,
                             detail::PreprocessScratch& scratch) {
  validate_image(image);
  if (target.crop_height <= 0 || target.crop_width <= 0 || target.resize_shorter <= 0 ||
      target.crop_height > kMaxImageSide || target.crop_width > kMaxImageSide || target.resize_shorter > kMaxImageSide)
    throw Error("preprocessing sizes out of range");
  int rw = 0, rh = 0;
  resized_size(image.width, image.height, target.resize_shorter, rw, rh);
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
  detail::compute_taps(image.width, rw, left + x_begin, cols, h);
  detail::compute_taps(image.height, rh, top + y_begin, rows, v);
  const int src_first = v.first.front();
  const int src_last = v.first.back() + v.count.back();  // exclusive; taps advance monotonically

  // Horizontal pass over just the source rows the vertical pass will read.
  scratch.source_rgb.resize(std::size_t(image.width) * 3);
  scratch.rows.resize(std::size_t(src_last - src_first) * std::size_t(cols) * 3);
  for (int sy = src_first; sy < src_last; ++sy) {
    detail::load_rgb_row(image, sy, scratch.source_rgb.data());
    std::uint8_t* dst = scratch.rows.data() + std::size_t(sy - src_first) * std::size_t(cols) * 3;
    for (int x = 0; x < cols; ++x) {
      const std::int32_t* k = h.weights.data() + std::size_t(x) * std::size_t(h.kernel_size);
      const std::uint8_t* src = scratch.source_rgb.data() + std::size_t(h.first[std::size_t(x)]) * 3;
      for (int c = 0; c < 3; ++c) {
        std::int32_t acc = 1 << (detail::kResamplePrecisionBits - 1);
        for (int t = 0; t < h.count[std::size_t(x)]; ++t) acc += std::int32_t(src[3 * t + c]) * k[t];
        dst[3 * x + c] = detail::clip_to_u8(acc);
      }
    }
  }
  // Vertical pass, then ToTensor + Normalize.
  const std::size_t row_bytes = std::size_t(cols) * 3;
  for (int y = 0; y < rows; ++y) {
    const std::int32_t* k = v.weights.data() + std::size_t(y) * std::size_t(v.kernel_size);
    const std::uint8_t* src = scratch.rows.data() + std::size_t(v.first[std::size_t(y)] - src_first) * row_bytes;
    for (std::size_t i = 0; i < row_bytes; ++i) {
      std::int32_t acc = 1 << (detail::kResamplePrecisionBits - 1);
      for (int t = 0; t < v.count[std::size_t(y)]; ++t) acc += std::int32_t(src[std::size_t(t) * row_bytes + i]) * k[t];
      const int x = int(i / 3), c = int(i % 3);
      store(y_begin + y, x_begin + x, c, normalize(c, detail::clip_to_u8(acc)));
    }
  }
}

}  // namespace mobileone
