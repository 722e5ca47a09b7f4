// Preprocessing against the shared PyTorch tensors (PIL resize + crop + normalize), the pixel formats and
// strides an app hands in, and broken images.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>

#include <mobileone/mobileone.hpp>

#include "image_file.hpp"
#include "support/camera_frames.hpp"
#include "test_support.hpp"

using namespace mobileone;

namespace {

std::vector<float> preprocess(const ImageView& image, const PreprocessTarget& target, TensorLayout layout = TensorLayout::nchw) {
  std::vector<float> out(std::size_t(3) * target.crop_height * target.crop_width);
  detail::PreprocessScratch scratch;
  preprocess_image(image, target, out.data(), layout, scratch);
  return out;
}

template <class Image>
std::vector<float> preprocess(const Image& image, const PreprocessTarget& target, const Orientation& orientation,
                              const std::optional<Region>& region = std::nullopt) {
  std::vector<float> out(std::size_t(3) * target.crop_height * target.crop_width);
  detail::PreprocessScratch scratch;
  preprocess_image(image, target, out.data(), TensorLayout::nchw, scratch, orientation, region);
  return out;
}

// Bitwise: -0 and +0 differ, NaN equals itself.
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

testing::Plane noise_plane(int width, int height, int sample_bytes, unsigned seed) {
  testing::Plane p(width, height, sample_bytes);
  for (std::size_t i = 0; i < p.bytes.size(); ++i) p.bytes[i] = std::uint8_t((i * 37 + i / 7 + seed * 101) % 251);
  return p;
}

// An RGB plane in a packed format, rows padded: the bytes, and a view of them.
struct Packed {
  std::vector<std::uint8_t> bytes;
  ImageView view;
};

Packed pack(const testing::Plane& rgb, PixelFormat format, std::size_t padding) {
  const int bpp = bytes_per_pixel(format);
  testing::Plane converted(rgb.width, rgb.height, bpp);
  for (int y = 0; y < rgb.height; ++y)
    for (int x = 0; x < rgb.width; ++x) {
      const std::uint8_t* s = rgb.at(x, y);
      std::uint8_t* d = converted.at(x, y);
      const bool bgr = format == PixelFormat::bgr8 || format == PixelFormat::bgra8;
      for (int c = 0; c < std::min(bpp, 3); ++c) d[c] = format == PixelFormat::gray8 ? s[1] : s[bgr ? 2 - c : c];
      if (bpp == 4) d[3] = 0x55;
    }
  Packed p{testing::padded_rows(converted, padding), {}};
  p.view = ImageView{p.bytes.data(), rgb.width, rgb.height, std::size_t(rgb.width) * std::size_t(bpp) + padding, format};
  return p;
}

std::string describe(const Orientation& o) { return std::to_string(o.rotation) + (o.mirror ? " mirrored" : ""); }

}  // namespace

TEST_CASE("the shared images preprocess to the reference PyTorch tensors") {
  for (const std::string name : {"apple", "chelsea"}) {
    CAPTURE(name);
    const auto image = examples::ImageFile::load(testing::shared_dir() + "/images/" + name + ".png");
    const std::vector<float> ours = preprocess(image.view(), PreprocessTarget{});
    const std::vector<float> reference = testing::read_floats(testing::shared_dir() + "/reference/" + name + "_input_nchw.f32");
    REQUIRE(ours.size() == reference.size());
    double sum = 0.0, worst = 0.0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
      const double d = std::fabs(double(ours[i]) - double(reference[i]));
      sum += d;
      worst = std::max(worst, d);
    }
    const double mean = sum / double(ours.size());
    MESSAGE(name << ": mean |d| = " << mean << ", max |d| = " << worst);
    CHECK(mean <= 0.01);
    CHECK(worst <= 0.1);
  }
}

TEST_CASE("pixel formats, row strides and layouts give the same tensor") {
  const int w = 37, h = 23;
  std::vector<std::uint8_t> rgb(std::size_t(w) * h * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = std::uint8_t((i * 37 + i / 7) % 251);
  const PreprocessTarget target{16, 16, 19, {0.5f, 0.4f, 0.3f}, {0.2f, 0.25f, 0.3f}};
  const std::vector<float> expected = preprocess(ImageView{rgb.data(), w, h, 0, PixelFormat::rgb8}, target);

  const std::size_t stride4 = std::size_t(w) * 4 + 12;  // padded rows, as bitmaps have
  std::vector<std::uint8_t> rgba(stride4 * h, 0xEE), bgra(stride4 * h, 0xEE), bgr(std::size_t(w) * 3 * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) {
        const std::uint8_t v = rgb[(std::size_t(y) * w + x) * 3 + c];
        rgba[y * stride4 + x * 4 + c] = v;
        bgra[y * stride4 + x * 4 + 2 - c] = v;
        bgr[(std::size_t(y) * w + x) * 3 + 2 - c] = v;
      }
  CHECK(preprocess(ImageView{rgba.data(), w, h, stride4, PixelFormat::rgba8}, target) == expected);
  CHECK(preprocess(ImageView{bgra.data(), w, h, stride4, PixelFormat::bgra8}, target) == expected);
  CHECK(preprocess(ImageView{bgr.data(), w, h, 0, PixelFormat::bgr8}, target) == expected);

  const std::vector<float> nhwc = preprocess(ImageView{rgb.data(), w, h, 0, PixelFormat::rgb8}, target, TensorLayout::nhwc);
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 16 * 16; ++p) CHECK(nhwc[std::size_t(p) * 3 + c] == expected[std::size_t(c) * 256 + p]);

  std::vector<std::uint8_t> gray(std::size_t(w) * h, 100);
  const std::vector<float> g = preprocess(ImageView{gray.data(), w, h, 0, PixelFormat::gray8}, target);
  CHECK(g[0] == doctest::Approx((100.f / 255.f - 0.5f) / 0.2f));
}

TEST_CASE("resize matches Pillow's fixed-point arithmetic on known cases") {
  // Identity resize and crop: the pixels come back unchanged.
  std::vector<std::uint8_t> rgb(8 * 8 * 3);
  for (std::size_t i = 0; i < rgb.size(); ++i) rgb[i] = std::uint8_t(i * 5);
  const std::vector<float> same = preprocess(ImageView{rgb.data(), 8, 8, 0, PixelFormat::rgb8}, {8, 8, 8, {0, 0, 0}, {1, 1, 1}});
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 64; ++p) CHECK(same[std::size_t(c) * 64 + p] == float(rgb[std::size_t(p) * 3 + c]) / 255.f);
  // A 2x downscale of a constant image stays constant; a crop larger than the image is zero-padded.
  std::vector<std::uint8_t> flat(10 * 6 * 3, 77);
  const std::vector<float> padded = preprocess(ImageView{flat.data(), 10, 6, 0, PixelFormat::rgb8}, {8, 8, 3, {0, 0, 0}, {1, 1, 1}});
  // Resized to 5x3, centred in 8x8: rows 2..4 and columns 1..5 hold the image.
  CHECK(padded[0] == 0.f);
  CHECK(padded[2 * 8 + 1] == 77.f / 255.f);
  CHECK(padded[4 * 8 + 5] == 77.f / 255.f);
  CHECK(padded[5 * 8 + 5] == 0.f);
  CHECK(padded[2 * 8 + 6] == 0.f);
}

TEST_CASE("bad images are refused cleanly") {
  std::vector<std::uint8_t> pixels(64 * 3, 0);
  const PreprocessTarget target;
  detail::PreprocessScratch scratch;
  std::vector<float> out(3 * 224 * 224);
  auto error = [&](const ImageView& image) {
    try {
      preprocess_image(image, target, out.data(), TensorLayout::nchw, scratch);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(error(ImageView{nullptr, 8, 8, 0, PixelFormat::rgb8}).find("no pixel data") != std::string::npos);
  CHECK(error(ImageView{pixels.data(), 0, 8, 0, PixelFormat::rgb8}).find("out of range") != std::string::npos);
  CHECK(error(ImageView{pixels.data(), 8, -3, 0, PixelFormat::rgb8}).find("out of range") != std::string::npos);
  CHECK(error(ImageView{pixels.data(), 1 << 20, 8, 0, PixelFormat::rgb8}).find("out of range") != std::string::npos);
  CHECK(error(ImageView{pixels.data(), 8, 8, 5, PixelFormat::rgb8}).find("row stride 5 is shorter") != std::string::npos);

  // Files: missing, not an image, truncated PNG.
  CHECK_THROWS_WITH_AS(examples::ImageFile::load("/nonexistent.png"), doctest::Contains("/nonexistent.png: cannot decode"), Error);
  const std::vector<unsigned char> png = testing::read_bytes(testing::shared_dir() + "/images/chelsea.png");
  const std::string truncated = "test_preprocess_truncated.png", text = "test_preprocess_text.png";
  std::ofstream(truncated, std::ios::binary).write(reinterpret_cast<const char*>(png.data()), 2000);
  std::ofstream(text) << "this is not an image\n";
  CHECK_THROWS_WITH_AS(examples::ImageFile::load(truncated), doctest::Contains("cannot decode image"), Error);
  CHECK_THROWS_WITH_AS(examples::ImageFile::load(text), doctest::Contains("cannot decode image"), Error);
  std::remove(truncated.c_str());
  std::remove(text.c_str());
}

TEST_CASE("rotation turns the frame clockwise, then the mirror flips the upright image left to right") {
  // A 3x2 grey frame, identity resize (mean 0, std 1): the output is the upright image's pixels / 255.
  const std::uint8_t frame[6] = {1, 2, 3,
                                 4, 5, 6};
  struct Expected {
    Orientation orientation;
    int width, height;
    std::uint8_t pixels[6];
  };
  const Expected cases[] = {
      {{0, false}, 3, 2, {1, 2, 3, 4, 5, 6}},   {{90, false}, 2, 3, {4, 1, 5, 2, 6, 3}},
      {{180, false}, 3, 2, {6, 5, 4, 3, 2, 1}}, {{270, false}, 2, 3, {3, 6, 2, 5, 1, 4}},
      {{0, true}, 3, 2, {3, 2, 1, 6, 5, 4}},    {{90, true}, 2, 3, {1, 4, 2, 5, 3, 6}},  // a transpose: EXIF 5
      {{180, true}, 3, 2, {4, 5, 6, 1, 2, 3}},  {{270, true}, 2, 3, {6, 3, 5, 2, 4, 1}},
  };
  for (const Expected& e : cases) {
    CAPTURE(describe(e.orientation));
    const PreprocessTarget identity{e.height, e.width, 2, {0, 0, 0}, {1, 1, 1}};
    const std::vector<float> out = preprocess(ImageView{frame, 3, 2, 0, PixelFormat::gray8}, identity, e.orientation);
    for (int i = 0; i < 6; ++i) CHECK(out[std::size_t(i)] == float(e.pixels[i]) / 255.f);
  }
}

TEST_CASE("a rotated or mirrored frame in every packed format gives its upright image's tensor bit for bit") {
  const testing::Plane upright = noise_plane(37, 23, 3, 1);  // odd sides, wider than tall
  const PreprocessTarget target{16, 16, 19, {0.5f, 0.4f, 0.3f}, {0.2f, 0.25f, 0.3f}};
  const PreprocessTarget padded{30, 12, 11, {0.5f, 0.4f, 0.3f}, {0.2f, 0.25f, 0.3f}};  // crop taller than the image
  const Packed reference = pack(upright, PixelFormat::rgb8, 0);
  const Region regions[] = {{0, 0, 37, 23}, {5, 3, 17, 19}, {36, 22, 1, 1}, {1, 0, 36, 9}};
  for (const Orientation& o : testing::kAllOrientations) {
    const testing::Plane frame = testing::frame_for(upright, o);
    REQUIRE(testing::upright_of(frame, o).bytes == upright.bytes);
    for (PixelFormat format : {PixelFormat::rgb8, PixelFormat::rgba8, PixelFormat::bgr8, PixelFormat::bgra8}) {
      CAPTURE(describe(o));
      CAPTURE(int(format));
      const Packed packed = pack(frame, format, 5);
      CHECK(same_bits(preprocess(packed.view, target, o), preprocess(reference.view, target)));
      CHECK(same_bits(preprocess(packed.view, padded, o), preprocess(reference.view, padded)));
      // Regions are in upright coordinates.
      for (const Region& r : regions) {
        CAPTURE(describe_region(r));
        CHECK(same_bits(preprocess(packed.view, target, o, r), preprocess(crop(reference.view, r), target)));
      }
    }
    // Grey replicates one channel, turned like the others.
    const Packed gray = pack(frame, PixelFormat::gray8, 3), gray_upright = pack(upright, PixelFormat::gray8, 0);
    CHECK(same_bits(preprocess(gray.view, target, o), preprocess(gray_upright.view, target)));
  }
}

TEST_CASE("a quarter turn reads frame rows in blocks: frames of many rows and columns, upscaled and downscaled") {
  for (const auto& [width, height] : {std::pair{200, 41}, std::pair{33, 170}}) {
    const testing::Plane upright = noise_plane(width, height, 3, 2);
    const Packed reference = pack(upright, PixelFormat::rgb8, 0);
    for (const PreprocessTarget& target : {PreprocessTarget{24, 24, 28, {0, 0, 0}, {1, 1, 1}},
                                           PreprocessTarget{96, 64, 80, {0, 0, 0}, {1, 1, 1}}})
      for (const Orientation& o : {Orientation{90, false}, Orientation{270, true}}) {
        CAPTURE(width);
        CAPTURE(describe(o));
        const Packed frame = pack(testing::frame_for(upright, o), PixelFormat::bgra8, 0);
        CHECK(same_bits(preprocess(frame.view, target, o), preprocess(reference.view, target)));
      }
  }
}

namespace {

// A 4:2:0 frame as planes: luma, and U and V of ceil(w/2) x ceil(h/2) samples.
struct YuvPlanes {
  testing::Plane y, u, v;
};

YuvPlanes frame_for(const YuvPlanes& upright, const Orientation& o) {
  return {testing::frame_for(upright.y, o), testing::frame_for(upright.u, o), testing::frame_for(upright.v, o)};
}

// The same frame in each layout the engine reads: NV12, NV21, I420, and YUV_420_888 with a pixel stride of 2
// in two separate buffers (garbage between the samples), every plane with padded rows.
struct YuvLayouts {
  std::vector<std::uint8_t> luma, nv12, nv21, u, v, u2, v2;
  std::vector<std::pair<const char*, YuvImageView>> views;
};

YuvLayouts layouts_of(const YuvPlanes& p, YuvRange range) {
  YuvLayouts l;
  const int w = p.y.width, h = p.y.height;
  l.luma = testing::padded_rows(p.y, 7);
  l.nv12 = testing::padded_rows(testing::interleaved(p.u, p.v), 3);
  l.nv21 = testing::padded_rows(testing::interleaved(p.v, p.u), 0);
  l.u = testing::padded_rows(p.u, 1);
  l.v = testing::padded_rows(p.v, 9);
  l.u2 = testing::padded_rows(testing::interleaved(p.u, p.u), 4, 0x11);  // every second byte is garbage
  l.v2 = testing::padded_rows(testing::interleaved(p.v, p.u), 2, 0x22);
  const std::size_t ls = std::size_t(w) + 7, cw = std::size_t(p.u.width);
  YuvImageView generic{l.luma.data(), ls, l.u2.data(), 2 * cw + 4, l.v2.data(), 2 * cw + 2, 2, w, h};
  generic.u = l.u2.data() + 1;  // the second copy of each U sample, to prove the pixel stride is used
  l.views = {{"nv12", nv12(l.luma.data(), ls, l.nv12.data(), 2 * cw + 3, w, h)},
             {"nv21", nv21(l.luma.data(), ls, l.nv21.data(), 0, w, h)},
             {"i420", i420(l.luma.data(), ls, l.u.data(), cw + 1, l.v.data(), cw + 9, w, h)},
             {"yuv_420_888 pixel stride 2", generic}};
  for (auto& view : l.views) view.second.range = range;
  return l;
}

}  // namespace

TEST_CASE("NV12, NV21, I420 and YUV_420_888 frames, rotated and mirrored, give their upright frame's tensor bit for bit") {
  const int w = 38, h = 24;  // even: a quarter turn then maps 2x2 chroma blocks onto 2x2 blocks
  const YuvPlanes upright{noise_plane(w, h, 1, 3), noise_plane(w / 2, h / 2, 1, 4), noise_plane(w / 2, h / 2, 1, 5)};
  const PreprocessTarget target{16, 16, 19, {0.5f, 0.4f, 0.3f}, {0.2f, 0.25f, 0.3f}};
  for (YuvRange range : {YuvRange::full, YuvRange::video}) {
    // The reference: yuv_to_rgb's image of the upright frame, preprocessed as packed RGB.
    const YuvLayouts upright_layouts = layouts_of(upright, range);
    std::vector<std::uint8_t> rgb(std::size_t(w) * h * 3);
    yuv_to_rgb(upright_layouts.views[0].second, {0, 0, w, h}, rgb.data());
    const ImageView reference{rgb.data(), w, h, 0, PixelFormat::rgb8};
    const Region region{3, 5, 19, 13};  // odd offsets share chroma samples with pixels outside
    for (const Orientation& o : testing::kAllOrientations) {
      const YuvLayouts frame = layouts_of(frame_for(upright, o), range);
      for (const auto& [name, view] : frame.views) {
        CAPTURE(name);
        CAPTURE(describe(o));
        CHECK(same_bits(preprocess(view, target, o), preprocess(reference, target)));
        CHECK(same_bits(preprocess(view, target, o, region), preprocess(crop(reference, region), target)));
      }
    }
  }
}

TEST_CASE("bad orientations, regions outside the upright image and bad chroma planes are refused") {
  std::vector<std::uint8_t> pixels(40 * 20 * 3);
  const ImageView frame{pixels.data(), 40, 20, 0, PixelFormat::rgb8};
  const PreprocessTarget target{8, 8, 8};
  for (int rotation : {45, -90, 360, 1}) {
    CAPTURE(rotation);
    CHECK_THROWS_WITH_AS(preprocess(frame, target, Orientation{rotation, false}),
                         doctest::Contains("is not 0, 90, 180 or 270 degrees clockwise"), Error);
  }
  // 30x10 fits the 40x20 frame, not its 20x40 upright image.
  CHECK_THROWS_WITH_AS(preprocess(frame, target, Orientation{90, true}, Region{0, 0, 30, 10}),
                       doctest::Contains("does not lie inside the 20x40 upright image (the 40x20 frame rotated 90 degrees "
                                         "clockwise, then mirrored)"),
                       Error);
  CHECK_NOTHROW(preprocess(frame, target, Orientation{90, true}, Region{0, 0, 10, 30}));
  CHECK_THROWS_WITH_AS(preprocess(frame, target, Orientation{}, Region{0, 0, 41, 1}),
                       doctest::Contains("does not lie inside the 40x20 image"), Error);

  std::vector<std::uint8_t> luma(40 * 20), chroma(40 * 10);
  const YuvImageView good = i420(luma.data(), 0, chroma.data(), 0, chroma.data() + 200, 0, 40, 20);
  CHECK_NOTHROW(preprocess(good, target, Orientation{270, false}));
  auto with = [&](auto change) {
    YuvImageView bad = good;
    change(bad);
    return bad;
  };
  CHECK_THROWS_WITH_AS(preprocess(with([](YuvImageView& v) { v.chroma_pixel_stride = 3; }), target, Orientation{}),
                       doctest::Contains("chroma pixel stride 3 is not 1 or 2"), Error);
  CHECK_THROWS_WITH_AS(preprocess(with([](YuvImageView& v) { v.v = nullptr; }), target, Orientation{}),
                       doctest::Contains("no chroma plane (V)"), Error);
  CHECK_THROWS_WITH_AS(preprocess(with([](YuvImageView& v) { v.u_stride = 19; }), target, Orientation{}),
                       doctest::Contains("U plane: chroma row stride 19 is shorter than a row of 20 bytes"), Error);
  CHECK_THROWS_WITH_AS(preprocess(with([](YuvImageView& v) {
                                    v.chroma_pixel_stride = 2;
                                    v.v_stride = 39;
                                  }),
                                  target, Orientation{}),
                       doctest::Contains("V plane: chroma row stride 39 is shorter than a row of 40 bytes (20 samples 2 "
                                         "bytes apart)"),
                       Error);
}
