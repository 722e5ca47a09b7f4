// yuv.hpp: regions of interest, plane spans, and NV12/NV21 -> RGB against the standards' published
// coefficients.
#include <doctest/doctest.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <mobileone/yuv.hpp>

using namespace mobileone;

namespace {

// R = a * (Y - offset) + b * Cr;  G = a * (Y - offset) - c * Cb - d * Cr;  B = a * (Y - offset) + e * Cb,
// with the coefficients as the standards (and every converter's documentation) print them.
struct PublishedCoefficients {
  YuvMatrix matrix;
  YuvRange range;
  double luma_offset, a, b, c, d, e;
};

const PublishedCoefficients kColorSpaces[] = {
    {YuvMatrix::bt601, YuvRange::full, 0, 1.0, 1.402, 0.344136, 0.714136, 1.772},
    {YuvMatrix::bt601, YuvRange::video, 16, 1.164383, 1.596027, 0.391762, 0.812968, 2.017232},
    {YuvMatrix::bt709, YuvRange::full, 0, 1.0, 1.5748, 0.187324, 0.468124, 1.8556},
    {YuvMatrix::bt709, YuvRange::video, 16, 1.164383, 1.792741, 0.213249, 0.532909, 2.112402},
};

std::uint8_t rounded(double v) { return std::uint8_t(std::lround(std::min(255.0, std::max(0.0, v)))); }

void reference_rgb(const PublishedCoefficients& k, int y, int u, int v, std::uint8_t rgb[3]) {
  const double luma = k.a * (y - k.luma_offset), cb = u - 128.0, cr = v - 128.0;
  rgb[0] = rounded(luma + k.b * cr);
  rgb[1] = rounded(luma - k.c * cb - k.d * cr);
  rgb[2] = rounded(luma + k.e * cb);
}

enum class ChromaOrder { uv, vu };  // NV12, NV21

// A frame whose 2x2 blocks take every chroma pair of a grid and whose rows take every luma value.
struct Frame {
  std::vector<std::uint8_t> luma, chroma;
  YuvImageView view;
};

Frame sweep_frame(ChromaOrder order, std::size_t luma_padding = 0, std::size_t chroma_padding = 0) {
  std::vector<int> samples;
  for (int s = 0; s < 256; s += 5) samples.push_back(s);
  samples.push_back(255);
  const int pairs = int(samples.size() * samples.size());
  Frame f;
  const int width = 2 * pairs, height = 2 * 256;
  const std::size_t luma_stride = std::size_t(width) + luma_padding, chroma_stride = std::size_t(width) + chroma_padding;
  f.luma.assign(luma_stride * std::size_t(height), 0xEE);
  f.chroma.assign(chroma_stride * 256, 0xEE);
  f.view = order == ChromaOrder::uv ? nv12(f.luma.data(), luma_stride, f.chroma.data(), chroma_stride, width, height)
                                    : nv21(f.luma.data(), luma_stride, f.chroma.data(), chroma_stride, width, height);
  for (int y = 0; y < f.view.height; ++y)
    for (int x = 0; x < f.view.width; ++x) f.luma[std::size_t(y) * f.view.luma_stride + std::size_t(x)] = std::uint8_t(y / 2);
  for (int row = 0; row < 256; ++row)
    for (int p = 0; p < pairs; ++p) {
      const int u = samples[std::size_t(p) / samples.size()], v = samples[std::size_t(p) % samples.size()];
      std::uint8_t* pair = &f.chroma[std::size_t(row) * chroma_stride + 2 * std::size_t(p)];
      pair[order == ChromaOrder::uv ? 0 : 1] = std::uint8_t(u);
      pair[order == ChromaOrder::uv ? 1 : 0] = std::uint8_t(v);
    }
  return f;
}

std::vector<std::uint8_t> convert(const YuvImageView& view, const Region& region) {
  std::vector<std::uint8_t> rgb(std::size_t(region.width) * std::size_t(region.height) * 3);
  yuv_to_rgb(view, region, rgb.data());
  return rgb;
}

}  // namespace

TEST_CASE("NV12 and NV21 convert within 1 of the published BT.601 and BT.709 formulas, full and video range") {
  for (ChromaOrder order : {ChromaOrder::uv, ChromaOrder::vu}) {
    Frame frame = sweep_frame(order, 5, 3);
    for (const PublishedCoefficients& k : kColorSpaces) {
      frame.view.matrix = k.matrix;
      frame.view.range = k.range;
      const Region whole{0, 0, frame.view.width, frame.view.height};
      const std::vector<std::uint8_t> rgb = convert(frame.view, whole);
      int worst = 0;
      for (int y = 0; y < frame.view.height; ++y)
        for (int x = 0; x < frame.view.width; ++x) {
          const std::uint8_t* pair = &frame.chroma[std::size_t(y / 2) * frame.view.u_stride + std::size_t(x / 2) * 2];
          const int u = pair[order == ChromaOrder::uv ? 0 : 1], v = pair[order == ChromaOrder::uv ? 1 : 0];
          std::uint8_t expected[3];
          reference_rgb(k, y / 2, u, v, expected);
          for (int c = 0; c < 3; ++c)
            worst = std::max(worst, std::abs(int(rgb[(std::size_t(y) * std::size_t(frame.view.width) + std::size_t(x)) * 3 + std::size_t(c)]) - expected[c]));
        }
      CAPTURE(int(k.matrix));
      CAPTURE(int(k.range));
      CHECK(worst <= 1);
    }
  }
}

TEST_CASE("a converted region equals the same pixels of the whole frame, at odd offsets and odd sizes") {
  const Frame frame = sweep_frame(ChromaOrder::vu);
  const std::vector<std::uint8_t> whole = convert(frame.view, {0, 0, frame.view.width, frame.view.height});
  for (const Region r : {Region{1, 1, 7, 5}, Region{2, 3, 1, 1}, Region{frame.view.width - 3, frame.view.height - 5, 3, 5}}) {
    CAPTURE(describe_region(r));
    const std::vector<std::uint8_t> part = convert(frame.view, r);
    bool same = true;
    for (int y = 0; y < r.height; ++y)
      for (int x = 0; x < r.width * 3; ++x)
        same = same && part[std::size_t(y * r.width * 3 + x)] ==
                           whole[(std::size_t(r.y + y) * std::size_t(frame.view.width) + std::size_t(r.x)) * 3 + std::size_t(x)];
    CHECK(same);
  }
}

TEST_CASE("odd frame sizes use ceil(width/2) x ceil(height/2) chroma pairs") {
  // 3x3 frame: chroma is 2 rows of 2 pairs; the last column and row use the last pair.
  const std::uint8_t luma[9] = {10, 20, 30, 40, 50, 60, 70, 80, 90};
  const std::uint8_t chroma[8] = {128, 128, 90, 200, 128, 128, 200, 90};  // NV21: V, U
  const YuvImageView view = nv21(luma, 0, chroma, 0, 3, 3);
  const std::vector<std::uint8_t> rgb = convert(view, {0, 0, 3, 3});
  std::uint8_t expected[3];
  reference_rgb(kColorSpaces[0], 90, 90, 200, expected);  // pixel (2, 2): pair (1, 1) = V 200, U 90
  CHECK(rgb[24] == expected[0]);
  CHECK(rgb[25] == expected[1]);
  CHECK(rgb[26] == expected[2]);
  CHECK(rgb[0] == 10);  // neutral chroma: grey
}

TEST_CASE("regions, strides and planes are refused before any pixel is read") {
  std::vector<std::uint8_t> luma(16 * 8), chroma(16 * 4);
  const YuvImageView view = nv21(luma.data(), 0, chroma.data(), 0, 16, 8);
  std::vector<std::uint8_t> rgb(16 * 8 * 3);
  CHECK_NOTHROW(yuv_to_rgb(view, {0, 0, 16, 8}, rgb.data()));
  CHECK_THROWS_WITH(yuv_to_rgb(view, {0, 0, 17, 8}, rgb.data()), doctest::Contains("does not lie inside the 16x8 image"));
  CHECK_THROWS_WITH(yuv_to_rgb(view, {-1, 0, 4, 4}, rgb.data()), doctest::Contains("does not lie inside"));
  CHECK_THROWS_WITH(yuv_to_rgb(view, {8, 0, INT_MAX, 4}, rgb.data()), doctest::Contains("does not lie inside"));
  CHECK_THROWS_WITH(yuv_to_rgb(view, {0, 0, 0, 4}, rgb.data()), doctest::Contains("is empty"));

  YuvImageView bad = view;
  bad.u = nullptr;
  CHECK_THROWS_WITH(validate_yuv_image(bad), doctest::Contains("no chroma plane (U)"));
  bad = view;
  bad.luma = nullptr;
  CHECK_THROWS_WITH(validate_yuv_image(bad), doctest::Contains("no pixel data"));
  bad = view;
  bad.luma_stride = 15;
  CHECK_THROWS_WITH(validate_yuv_image(bad), doctest::Contains("shorter than a row"));
  bad = view;
  bad.u_stride = bad.v_stride = 15;
  CHECK_THROWS_WITH(validate_yuv_image(bad), doctest::Contains("U plane: chroma row stride 15 is shorter than a row of 16 bytes"));
  bad = view;
  bad.chroma_pixel_stride = 0;
  CHECK_THROWS_WITH(validate_yuv_image(bad), doctest::Contains("chroma pixel stride 0 is not 1 or 2"));
  bad = view;
  bad.width = 0;
  CHECK_THROWS_WITH(validate_yuv_image(bad), doctest::Contains("out of range"));
}

TEST_CASE("I420 and YUV_420_888 planes convert exactly as NV12 and NV21 frames of the same samples") {
  const Frame nv21_frame = sweep_frame(ChromaOrder::vu, 0, 6);
  const YuvImageView& nv21_view = nv21_frame.view;
  const int cw = (nv21_view.width + 1) / 2, ch = (nv21_view.height + 1) / 2;
  std::vector<std::uint8_t> u(std::size_t(cw + 3) * std::size_t(ch)), v(std::size_t(cw + 1) * std::size_t(ch));
  for (int y = 0; y < ch; ++y)
    for (int x = 0; x < cw; ++x) {
      v[std::size_t(y) * std::size_t(cw + 1) + std::size_t(x)] = nv21_view.v[std::size_t(y) * nv21_view.v_stride + 2 * std::size_t(x)];
      u[std::size_t(y) * std::size_t(cw + 3) + std::size_t(x)] = nv21_view.u[std::size_t(y) * nv21_view.u_stride + 2 * std::size_t(x)];
    }
  const YuvImageView planar = i420(nv21_view.luma, 0, u.data(), std::size_t(cw + 3), v.data(), std::size_t(cw + 1),
                                   nv21_view.width, nv21_view.height);
  const Region whole{0, 0, nv21_view.width, nv21_view.height}, part{3, 1, 101, 77};
  CHECK(convert(planar, whole) == convert(nv21_view, whole));
  CHECK(convert(planar, part) == convert(nv21_view, part));
  // NV21 read as YUV_420_888 with a pixel stride of 2 (the U view one byte after the V view) is NV21.
  YuvImageView semi_planar = planar;
  semi_planar.u = nv21_view.u;
  semi_planar.v = nv21_view.v;
  semi_planar.u_stride = semi_planar.v_stride = nv21_view.u_stride;
  semi_planar.chroma_pixel_stride = 2;
  CHECK(convert(semi_planar, part) == convert(nv21_view, part));
}

TEST_CASE("crop views the region in place") {
  std::vector<std::uint8_t> pixels(10 * 6 * 4);
  const ImageView image{pixels.data(), 10, 6, 0, PixelFormat::rgba8};
  const ImageView part = crop(image, {3, 2, 4, 3});
  CHECK(part.pixels == pixels.data() + 2 * 40 + 3 * 4);
  CHECK(part.row_stride == 40);
  CHECK(part.width == 4);
  CHECK(part.height == 3);
  CHECK_THROWS_WITH(crop(image, {7, 0, 4, 1}), doctest::Contains("does not lie inside the 10x6 image"));
}

TEST_CASE("plane spans leave the last row unpadded and saturate instead of overflowing") {
  CHECK(plane_span(0, 100, 128) == 0);
  CHECK(plane_span(1, 100, 128) == 100);
  CHECK(plane_span(3, 100, 128) == 356);
  const std::size_t max = std::numeric_limits<std::size_t>::max();
  CHECK(plane_span(3, 100, max / 2) == max);
  CHECK(plane_span(2, max, 1) == max);
}
