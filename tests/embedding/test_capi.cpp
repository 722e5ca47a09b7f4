// The C API end to end: every pixel format and stride, regions of interest, NV12/NV21 frames, every error
// with its status and message, output buffers, model lifetime, and contexts on one model from several
// threads. The C++ engine on the same pixels is the reference: a packed format or a region must give
// bit-identical logits. Those checks run on a tiny random-weight model (exact equality is as strong a test
// there, and it is cheap, also under an emulator); the real S0 checks that the paths apps use classify as
// PyTorch does.
//
// This translation unit also compiles the C API's implementation, the header-only way an app does.
#include <mobileone/mobileone_c_impl.hpp>

#include <doctest/doctest.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <mobileone/mobileone.h>

#include "image_file.hpp"
#include "support/blob_writer.hpp"
#include "support/camera_frames.hpp"
#include "support/golden_blob.hpp"
#include "support/int8_blob.hpp"
#include "test_support.hpp"

using namespace mobileone;

namespace {

const int kReferenceTop1Chelsea = 285;  // reference/s0_top5.json: Egyptian cat

std::string model_path() { return testing::fixture_dir() + "/s0_real.mone"; }

using ModelHandle = std::unique_ptr<mobileone_model, decltype(&mobileone_model_destroy)>;
using ContextHandle = std::unique_ptr<mobileone_context, decltype(&mobileone_context_destroy)>;

ModelHandle load_model() {
  mobileone_model* model = nullptr;
  const mobileone_status status = mobileone_model_create_from_file(model_path().c_str(), &model);
  REQUIRE_MESSAGE(status == MOBILEONE_OK, mobileone_last_error_message());
  return {model, &mobileone_model_destroy};
}

// A small MobileOne (four stages of one unit, 10 classes, 32x32 input) with random weights.
const std::vector<unsigned char>& tiny_blob() {
  static const std::vector<unsigned char> blob =
      random_model_blob(Architecture{"tiny", 8, {1, 1, 1, 1}, {8, 16, 16, 32}, {0, 0, 0, 1}, 10}, 7, 32);
  return blob;
}

// The tiny model in int8 (every layer that may be, calibrated on a random input of its size).
const std::vector<unsigned char>& tiny_int8_blob() {
  static const std::vector<unsigned char> blob = int8_blob_from(tiny_blob(), 11, 32);
  return blob;
}

ModelHandle load_tiny_model(const std::vector<unsigned char>& blob = tiny_blob()) {
  mobileone_model* model = nullptr;
  const mobileone_status status = mobileone_model_create_from_buffer(blob.data(), blob.size(), &model);
  REQUIRE_MESSAGE(status == MOBILEONE_OK, mobileone_last_error_message());
  return {model, &mobileone_model_destroy};
}

ContextHandle make_context(const mobileone_model* model, mobileone_context_options options = {}) {
  mobileone_context* context = nullptr;
  const mobileone_status status = mobileone_context_create(model, &options, &context);
  REQUIRE_MESSAGE(status == MOBILEONE_OK, mobileone_last_error_message());
  return {context, &mobileone_context_destroy};
}

const examples::ImageFile& chelsea() {
  static const examples::ImageFile image = examples::ImageFile::load(testing::shared_dir() + "/images/chelsea.png");
  return image;
}

// The pixels of an RGB image in another packed format, each row followed by `padding` bytes of garbage;
// the buffer ends right after the last row's pixels, so a read past the declared size is out of bounds.
struct PackedImage {
  std::vector<std::uint8_t> bytes;
  mobileone_image image{};
};

PackedImage pack(const ImageView& rgb, mobileone_pixel_format format, std::size_t padding) {
  PixelFormat engine_format = PixelFormat::rgb8;
  const int bpp = capi::pixel_format_bytes(format, engine_format);
  const std::size_t row = std::size_t(rgb.width) * std::size_t(bpp), stride = row + padding;
  PackedImage p;
  p.bytes.assign(stride * std::size_t(rgb.height - 1) + row, 0xAB);
  const std::size_t source_stride = row_stride_of(rgb);
  for (int y = 0; y < rgb.height; ++y)
    for (int x = 0; x < rgb.width; ++x) {
      const std::uint8_t* s = rgb.pixels + std::size_t(y) * source_stride + std::size_t(x) * 3;
      std::uint8_t* d = &p.bytes[std::size_t(y) * stride + std::size_t(x) * std::size_t(bpp)];
      if (engine_format == PixelFormat::gray8) {
        d[0] = s[1];  // green as the grey level
        continue;
      }
      const bool rgb_order = engine_format == PixelFormat::rgba8 || engine_format == PixelFormat::rgb8;
      for (int c = 0; c < 3; ++c) d[c] = s[rgb_order ? c : 2 - c];
      if (bpp == 4) d[3] = 255;
    }
  p.image.format = format;
  p.image.width = rgb.width;
  p.image.height = rgb.height;
  p.image.pixels = p.bytes.data();
  p.image.row_stride = padding ? stride : 0;
  p.image.pixels_size = p.bytes.size();
  return p;
}

// An NV21/NV12 frame encoded from RGB with the BT.601 formulas (chroma averaged over each 2x2 block).
struct YuvFrame {
  std::vector<std::uint8_t> luma, chroma;
  mobileone_image image{};
};

YuvFrame encode_yuv(const ImageView& rgb, mobileone_pixel_format format, mobileone_yuv_color_space space,
                    std::size_t luma_padding, std::size_t chroma_padding) {
  const bool video = space == MOBILEONE_YUV_BT601_VIDEO_RANGE;
  const int w = rgb.width, h = rgb.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  const std::size_t luma_stride = std::size_t(w) + luma_padding, chroma_stride = std::size_t(2 * cw) + chroma_padding;
  YuvFrame f;
  f.luma.assign(luma_stride * std::size_t(h - 1) + std::size_t(w), 0xAB);
  f.chroma.assign(chroma_stride * std::size_t(ch - 1) + std::size_t(2 * cw), 0xAB);
  auto pixel = [&](int x, int y, int c) { return double(rgb.pixels[std::size_t(y) * row_stride_of(rgb) + std::size_t(x) * 3 + std::size_t(c)]); };
  auto store = [](double v) { return std::uint8_t(std::lround(std::min(255.0, std::max(0.0, v)))); };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double luma = 0.299 * pixel(x, y, 0) + 0.587 * pixel(x, y, 1) + 0.114 * pixel(x, y, 2);
      f.luma[std::size_t(y) * luma_stride + std::size_t(x)] = store(video ? 16.0 + luma * 219.0 / 255.0 : luma);
    }
  for (int by = 0; by < ch; ++by)
    for (int bx = 0; bx < cw; ++bx) {
      double cb = 0, cr = 0;
      int n = 0;
      for (int y = 2 * by; y < std::min(h, 2 * by + 2); ++y)
        for (int x = 2 * bx; x < std::min(w, 2 * bx + 2); ++x, ++n) {
          cb += -0.168736 * pixel(x, y, 0) - 0.331264 * pixel(x, y, 1) + 0.5 * pixel(x, y, 2);
          cr += 0.5 * pixel(x, y, 0) - 0.418688 * pixel(x, y, 1) - 0.081312 * pixel(x, y, 2);
        }
      const double scale = video ? 224.0 / 255.0 : 1.0;
      std::uint8_t* pair = &f.chroma[std::size_t(by) * chroma_stride + 2 * std::size_t(bx)];
      const bool uv = format == MOBILEONE_PIXEL_FORMAT_NV12;
      pair[uv ? 0 : 1] = store(128.0 + scale * cb / n);
      pair[uv ? 1 : 0] = store(128.0 + scale * cr / n);
    }
  f.image.format = format;
  f.image.width = w;
  f.image.height = h;
  f.image.pixels = f.luma.data();
  f.image.row_stride = luma_stride;
  f.image.pixels_size = f.luma.size();
  f.image.chroma = f.chroma.data();
  f.image.chroma_row_stride = chroma_stride;
  f.image.chroma_size = f.chroma.size();
  f.image.color_space = space;
  return f;
}

// A YUV frame's samples as planes: luma, U and V (the reference the camera layouts below are made from).
struct YuvPlanes {
  testing::Plane y, u, v;
};

YuvPlanes planes_of(const YuvFrame& nv21) {
  const mobileone_image& i = nv21.image;
  const int cw = (i.width + 1) / 2, ch = (i.height + 1) / 2;
  YuvPlanes p{testing::Plane(i.width, i.height, 1), testing::Plane(cw, ch, 1), testing::Plane(cw, ch, 1)};
  for (int y = 0; y < i.height; ++y)
    for (int x = 0; x < i.width; ++x) *p.y.at(x, y) = i.pixels[std::size_t(y) * i.row_stride + std::size_t(x)];
  for (int y = 0; y < ch; ++y)
    for (int x = 0; x < cw; ++x) {
      *p.v.at(x, y) = i.chroma[std::size_t(y) * i.chroma_row_stride + 2 * std::size_t(x)];
      *p.u.at(x, y) = i.chroma[std::size_t(y) * i.chroma_row_stride + 2 * std::size_t(x) + 1];
    }
  return p;
}

// The planes as a camera hands them to the C API: NV12, NV21, I420, or YUV_420_888 with a pixel stride of 1
// (three planes) or 2 (Android's views into one interleaved V,U plane, each ending at its last sample).
// Rows are padded, and each buffer ends right after its plane.
struct CameraFrame {
  std::vector<std::uint8_t> luma, chroma, chroma_v;
  mobileone_image image{};
};

CameraFrame camera_frame(const YuvPlanes& p, mobileone_pixel_format format, int32_t pixel_stride = 0) {
  CameraFrame f;
  const std::size_t cw = std::size_t(p.u.width);
  f.luma = testing::padded_rows(p.y, 6);
  f.image.format = format;
  f.image.width = p.y.width;
  f.image.height = p.y.height;
  f.image.row_stride = std::size_t(p.y.width) + 6;
  switch (format) {
    case MOBILEONE_PIXEL_FORMAT_NV12:
    case MOBILEONE_PIXEL_FORMAT_NV21:
      f.chroma = testing::padded_rows(format == MOBILEONE_PIXEL_FORMAT_NV12 ? testing::interleaved(p.u, p.v)
                                                                            : testing::interleaved(p.v, p.u), 4);
      f.image.chroma_row_stride = 2 * cw + 4;
      break;
    default:
      if (pixel_stride == 2) {
        f.chroma = testing::padded_rows(testing::interleaved(p.v, p.u), 8);
        f.image.chroma_row_stride = 2 * cw + 8;
        f.image.chroma_v_row_stride = f.image.chroma_row_stride;
      } else {
        f.chroma = testing::padded_rows(p.u, 3);
        f.chroma_v = testing::padded_rows(p.v, 5);
        f.image.chroma_row_stride = cw + 3;
        f.image.chroma_v_row_stride = cw + 5;
      }
      f.image.chroma_pixel_stride = pixel_stride;
  }
  f.image.pixels = f.luma.data();
  f.image.pixels_size = f.luma.size();
  f.image.chroma = f.chroma.data();
  f.image.chroma_size = f.chroma.size();
  if (format == MOBILEONE_PIXEL_FORMAT_I420 || format == MOBILEONE_PIXEL_FORMAT_YUV_420_888) {
    if (pixel_stride == 2) {  // U and V: views one byte apart, each one byte short of the interleaved plane
      f.image.chroma_v = f.chroma.data();
      f.image.chroma_v_size = f.chroma.size() - 1;
      f.image.chroma = f.chroma.data() + 1;
      f.image.chroma_size = f.chroma.size() - 1;
    } else {
      f.image.chroma_v = f.chroma_v.data();
      f.image.chroma_v_size = f.chroma_v.size();
    }
  }
  return f;
}

YuvPlanes frame_for(const YuvPlanes& upright, const Orientation& o) {
  return {testing::frame_for(upright.y, o), testing::frame_for(upright.u, o), testing::frame_for(upright.v, o)};
}

// An RGB ImageView's pixels as a plane.
testing::Plane rgb_plane(const ImageView& rgb) {
  testing::Plane p(rgb.width, rgb.height, 3);
  for (int y = 0; y < rgb.height; ++y)
    std::memcpy(p.at(0, y), rgb.pixels + std::size_t(y) * row_stride_of(rgb), std::size_t(rgb.width) * 3);
  return p;
}

std::string describe(const Orientation& o) { return std::to_string(o.rotation) + (o.mirror ? " mirrored" : ""); }

std::vector<float> logits_of(const mobileone_context* context) {
  const float* data = nullptr;
  int32_t count = 0;
  REQUIRE(mobileone_context_logits(context, &data, &count) == MOBILEONE_OK);
  return std::vector<float>(data, data + count);
}

std::vector<float> run_and_get_logits(mobileone_context* context, const mobileone_image& image, const mobileone_rect* region = nullptr) {
  const mobileone_status status = mobileone_context_run(context, &image, region);
  REQUIRE_MESSAGE(status == MOBILEONE_OK, mobileone_last_error_message());
  return logits_of(context);
}

int top1(const mobileone_context* context) {
  mobileone_prediction best{};
  int32_t count = 0;
  REQUIRE(mobileone_context_top_k(context, 1, &best, &count) == MOBILEONE_OK);
  REQUIRE(count == 1);
  return best.class_index;
}

// The C++ engine on the same pixels, with the tiny model: what every C API path must reproduce exactly.
std::vector<float> engine_logits(const ImageView& image) {
  static const Model model = Model::from_buffer(tiny_blob().data(), tiny_blob().size());
  Context context(model);
  return context.run(image);
}

// Expects `status` with a message containing `fragment`.
void expect_error(mobileone_status status, mobileone_status expected, const char* fragment) {
  CHECK_MESSAGE(status == expected, mobileone_status_name(status), " instead of ", mobileone_status_name(expected),
                ": ", mobileone_last_error_message());
  const std::string message = mobileone_last_error_message();
  CHECK_MESSAGE(message.find(fragment) != std::string::npos, "message '", message, "' lacks '", fragment, "'");
}

}  // namespace

TEST_CASE("version, status names and ISA queries") {
  CHECK(std::string(mobileone_version()) == std::to_string(MOBILEONE_VERSION_MAJOR) + "." +
                                                std::to_string(MOBILEONE_VERSION_MINOR) + "." +
                                                std::to_string(MOBILEONE_VERSION_PATCH));
  CHECK(std::string(mobileone_status_name(MOBILEONE_ERROR_BUFFER_TOO_SMALL)) == "MOBILEONE_ERROR_BUFFER_TOO_SMALL");
  CHECK(std::string(mobileone_status_name(mobileone_status(99))) == "unknown status");
  CHECK(mobileone_isa_supported(MOBILEONE_ISA_AUTO) == 1);
  CHECK(mobileone_isa_supported(MOBILEONE_ISA_SCALAR) == 1);
  CHECK(mobileone_isa_supported(MOBILEONE_ISA_NEON) == (isa_supported(Isa::neon) ? 1 : 0));
  CHECK(mobileone_isa_supported(mobileone_isa(42)) == 0);
}

TEST_CASE("a model loads from a file, from a copied buffer and from the caller's buffer in place") {
  const ModelHandle from_file = load_model();
  CHECK(std::string(mobileone_model_name(from_file.get())) == "mobileone_s0");
  CHECK(mobileone_model_class_count(from_file.get()) == 1000);
  CHECK(mobileone_model_stage_count(from_file.get()) == 4);
  CHECK(std::string(mobileone_model_label(from_file.get(), kReferenceTop1Chelsea)) == "Egyptian cat");
  CHECK(mobileone_model_label(from_file.get(), -1) == nullptr);
  CHECK(mobileone_model_label(from_file.get(), 1000) == nullptr);
  CHECK(std::string(mobileone_model_name(nullptr)).empty());
  CHECK(mobileone_model_class_count(nullptr) == 0);
  CHECK(mobileone_model_stage_count(nullptr) == 0);
  CHECK(mobileone_model_label(nullptr, 0) == nullptr);

  const PackedImage rgba = pack(chelsea().view(), MOBILEONE_PIXEL_FORMAT_RGBA8888, 0);
  const std::vector<float> expected = run_and_get_logits(make_context(from_file.get()).get(), rgba.image);

  mobileone_model* copied = nullptr;
  {
    std::vector<unsigned char> bytes = testing::read_bytes(model_path());
    REQUIRE(mobileone_model_create_from_buffer(bytes.data(), bytes.size(), &copied) == MOBILEONE_OK);
    std::fill(bytes.begin(), bytes.end(), 0);  // the model must not depend on the caller's bytes any more
  }
  const ModelHandle copied_model(copied, &mobileone_model_destroy);
  CHECK(run_and_get_logits(make_context(copied_model.get()).get(), rgba.image) == expected);

  const std::vector<unsigned char> file = testing::read_bytes(model_path());
  detail::AlignedBuffer<unsigned char> aligned(file.size());
  std::memcpy(aligned.data(), file.data(), file.size());
  mobileone_model* in_place = nullptr;
  REQUIRE(mobileone_model_create_from_external_buffer(aligned.data(), aligned.size(), &in_place) == MOBILEONE_OK);
  const ModelHandle in_place_model(in_place, &mobileone_model_destroy);
  CHECK(run_and_get_logits(make_context(in_place_model.get()).get(), rgba.image) == expected);
}

TEST_CASE("every packed pixel format and row stride gives the C++ engine's logits") {
  const ModelHandle model = load_tiny_model();
  const ContextHandle context = make_context(model.get());
  const ImageView rgb = chelsea().view();
  const std::vector<float> expected = engine_logits(rgb);
  for (mobileone_pixel_format format : {MOBILEONE_PIXEL_FORMAT_RGBA8888, MOBILEONE_PIXEL_FORMAT_BGRA8888,
                                        MOBILEONE_PIXEL_FORMAT_RGB888, MOBILEONE_PIXEL_FORMAT_BGR888})
    for (std::size_t padding : {0, 1, 3, 64}) {
      CAPTURE(int(format));
      CAPTURE(padding);
      const PackedImage packed = pack(rgb, format, padding);
      CHECK(run_and_get_logits(context.get(), packed.image) == expected);
    }
  // Grey: the engine replicates the one channel, as it does for a gray8 ImageView.
  const PackedImage gray = pack(rgb, MOBILEONE_PIXEL_FORMAT_GRAY8, 7);
  CHECK(run_and_get_logits(context.get(), gray.image) ==
        engine_logits(ImageView{gray.bytes.data(), rgb.width, rgb.height, gray.image.row_stride, PixelFormat::gray8}));
}

TEST_CASE("the real S0 classifies an Android bitmap, an iOS pixel buffer and camera frames as PyTorch does") {
  const ModelHandle model = load_model();
  const ContextHandle context = make_context(model.get());
  const ImageView rgb = chelsea().view();
  const PackedImage bitmap = pack(rgb, MOBILEONE_PIXEL_FORMAT_RGBA8888, 0);
  const PackedImage pixel_buffer = pack(rgb, MOBILEONE_PIXEL_FORMAT_BGRA8888, 60);
  const YuvFrame android_camera = encode_yuv(rgb, MOBILEONE_PIXEL_FORMAT_NV21, MOBILEONE_YUV_BT601_FULL_RANGE, 0, 0);
  const YuvFrame ios_camera = encode_yuv(rgb, MOBILEONE_PIXEL_FORMAT_NV12, MOBILEONE_YUV_BT601_VIDEO_RANGE, 64, 64);
  for (const mobileone_image* image : {&bitmap.image, &pixel_buffer.image, &android_camera.image, &ios_camera.image}) {
    CAPTURE(int(image->format));
    run_and_get_logits(context.get(), *image);
    CHECK(top1(context.get()) == kReferenceTop1Chelsea);
  }
}

TEST_CASE("a region of interest is classified as the C++ engine classifies that crop") {
  const ModelHandle model = load_tiny_model();
  const ContextHandle context = make_context(model.get());
  const ImageView rgb = chelsea().view();
  const PackedImage bgra = pack(rgb, MOBILEONE_PIXEL_FORMAT_BGRA8888, 12);
  for (const mobileone_rect r : {mobileone_rect{0, 0, rgb.width, rgb.height}, mobileone_rect{101, 37, 213, 171},
                                 mobileone_rect{rgb.width - 1, rgb.height - 1, 1, 1}}) {
    CAPTURE(r.x);
    CAPTURE(r.y);
    CHECK(run_and_get_logits(context.get(), bgra.image, &r) == engine_logits(crop(rgb, {r.x, r.y, r.width, r.height})));
  }
}

TEST_CASE("NV21 and NV12 frames are converted, cropped and classified as their RGB conversion") {
  const ModelHandle model = load_tiny_model();
  const ContextHandle context = make_context(model.get());
  const ImageView rgb = chelsea().view();
  for (mobileone_yuv_color_space space : {MOBILEONE_YUV_BT601_FULL_RANGE, MOBILEONE_YUV_BT601_VIDEO_RANGE}) {
    CAPTURE(int(space));
    const YuvFrame nv21 = encode_yuv(rgb, MOBILEONE_PIXEL_FORMAT_NV21, space, 0, 0);
    const YuvFrame nv12 = encode_yuv(rgb, MOBILEONE_PIXEL_FORMAT_NV12, space, 16, 5);
    YuvImageView view = mobileone::nv21(nv21.luma.data(), 0, nv21.chroma.data(), 0, rgb.width, rgb.height);
    view.range = space == MOBILEONE_YUV_BT601_FULL_RANGE ? YuvRange::full : YuvRange::video;
    // Exactly the engine on yuv.hpp's conversion, for the whole frame and for a region at odd offsets
    // (whose chroma pairs are shared with pixels outside it); NV12 holds the same samples in other order.
    for (const mobileone_rect r : {mobileone_rect{0, 0, rgb.width, rgb.height}, mobileone_rect{33, 17, 251, 199}}) {
      CAPTURE(r.x);
      std::vector<std::uint8_t> converted(std::size_t(r.width) * std::size_t(r.height) * 3);
      yuv_to_rgb(view, {r.x, r.y, r.width, r.height}, converted.data());
      const std::vector<float> expected = engine_logits(ImageView{converted.data(), r.width, r.height, 0, PixelFormat::rgb8});
      CHECK(run_and_get_logits(context.get(), nv21.image, &r) == expected);
      CHECK(run_and_get_logits(context.get(), nv12.image, &r) == expected);
    }
  }
  // An odd-sized frame: ceil(width / 2) x ceil(height / 2) chroma pairs.
  const ImageView odd = crop(rgb, {0, 0, rgb.width - 1, rgb.height - 1});
  const YuvFrame frame = encode_yuv(odd, MOBILEONE_PIXEL_FORMAT_NV21, MOBILEONE_YUV_BT601_FULL_RANGE, 3, 0);
  CHECK(mobileone_context_run(context.get(), &frame.image, nullptr) == MOBILEONE_OK);
}

TEST_CASE("a rotated or mirrored frame, packed or YUV, with rotation and mirror set, classifies as the upright image bit for bit") {
  const ModelHandle model = load_tiny_model();
  const ContextHandle context = make_context(model.get());
  const testing::Plane upright = rgb_plane(chelsea().view());
  const ImageView upright_view{upright.bytes.data(), upright.width, upright.height, 0, PixelFormat::rgb8};
  const mobileone_rect region{101, 37, 213, 171};  // in upright coordinates
  const std::vector<float> expected = engine_logits(upright_view);
  const std::vector<float> expected_region = engine_logits(crop(upright_view, {101, 37, 213, 171}));
  for (const Orientation& o : testing::kAllOrientations) {
    CAPTURE(describe(o));
    const testing::Plane frame = testing::frame_for(upright, o);
    for (mobileone_pixel_format format : {MOBILEONE_PIXEL_FORMAT_RGBA8888, MOBILEONE_PIXEL_FORMAT_BGR888}) {
      CAPTURE(int(format));
      PackedImage packed = pack(ImageView{frame.bytes.data(), frame.width, frame.height, 0, PixelFormat::rgb8}, format, 8);
      packed.image.rotation = o.rotation;
      packed.image.mirror = o.mirror;
      CHECK(run_and_get_logits(context.get(), packed.image) == expected);
      CHECK(run_and_get_logits(context.get(), packed.image, &region) == expected_region);
    }
  }

  // YUV: an even-sized frame, whose 2x2 chroma blocks a quarter turn maps onto 2x2 blocks. Every layout
  // and orientation equals the upright NV21 frame, and I420 / YUV_420_888 equal NV12 / NV21 bit for bit.
  const ImageView even = crop(chelsea().view(), {0, 0, 450, 300});
  const YuvPlanes planes = planes_of(encode_yuv(even, MOBILEONE_PIXEL_FORMAT_NV21, MOBILEONE_YUV_BT601_FULL_RANGE, 0, 0));
  const CameraFrame reference = camera_frame(planes, MOBILEONE_PIXEL_FORMAT_NV21);
  const std::vector<float> yuv_expected = run_and_get_logits(context.get(), reference.image);
  const std::vector<float> yuv_expected_region = run_and_get_logits(context.get(), reference.image, &region);
  const struct {
    mobileone_pixel_format format;
    int32_t pixel_stride;
  } layouts[] = {{MOBILEONE_PIXEL_FORMAT_NV12, 0},        {MOBILEONE_PIXEL_FORMAT_NV21, 0},
                 {MOBILEONE_PIXEL_FORMAT_I420, 0},        {MOBILEONE_PIXEL_FORMAT_YUV_420_888, 1},
                 {MOBILEONE_PIXEL_FORMAT_YUV_420_888, 2}};
  for (const Orientation& o : testing::kAllOrientations) {
    const YuvPlanes turned = frame_for(planes, o);
    for (const auto& layout : layouts) {
      CAPTURE(describe(o));
      CAPTURE(int(layout.format));
      CAPTURE(layout.pixel_stride);
      CameraFrame frame = camera_frame(turned, layout.format, layout.pixel_stride);
      frame.image.rotation = o.rotation;
      frame.image.mirror = o.mirror;
      CHECK(run_and_get_logits(context.get(), frame.image) == yuv_expected);
      CHECK(run_and_get_logits(context.get(), frame.image, &region) == yuv_expected_region);
    }
  }
}

TEST_CASE("the real S0 gives a 90-degree camera frame, rotated back, the upright image's logits exactly") {
  const ModelHandle model = load_model();
  const ContextHandle context = make_context(model.get());
  const ImageView even = crop(chelsea().view(), {0, 0, 450, 300});
  const YuvPlanes planes = planes_of(encode_yuv(even, MOBILEONE_PIXEL_FORMAT_NV21, MOBILEONE_YUV_BT601_FULL_RANGE, 0, 0));
  const std::vector<float> upright = run_and_get_logits(context.get(), camera_frame(planes, MOBILEONE_PIXEL_FORMAT_NV21).image);
  CHECK(top1(context.get()) == kReferenceTop1Chelsea);
  CameraFrame sensor = camera_frame(frame_for(planes, {90, false}), MOBILEONE_PIXEL_FORMAT_YUV_420_888, 2);
  sensor.image.rotation = 90;
  const std::vector<float> turned = run_and_get_logits(context.get(), sensor.image);
  CHECK(std::memcmp(turned.data(), upright.data(), upright.size() * sizeof(float)) == 0);
}

TEST_CASE("top-k, logits and feature maps of the last run") {
  const ModelHandle model = load_model();
  const ContextHandle context = make_context(model.get());
  const PackedImage rgb = pack(chelsea().view(), MOBILEONE_PIXEL_FORMAT_RGB888, 0);

  mobileone_prediction top[5];
  int32_t count = 0;
  REQUIRE(mobileone_context_classify(context.get(), &rgb.image, nullptr, 5, top, &count) == MOBILEONE_OK);
  CHECK(std::string(mobileone_last_error_message()).empty());
  REQUIRE(count == 5);
  CHECK(top[0].class_index == kReferenceTop1Chelsea);
  CHECK(std::string(top[0].label) == "Egyptian cat");
  for (int i = 1; i < 5; ++i) CHECK(top[i].probability <= top[i - 1].probability);
  std::vector<mobileone_prediction> all(2000);
  REQUIRE(mobileone_context_top_k(context.get(), 2000, all.data(), &count) == MOBILEONE_OK);
  CHECK(count == 1000);

  // Logits: in place, copied, and the size query.
  const std::vector<float> logits = logits_of(context.get());
  size_t size = 0;
  CHECK(mobileone_context_copy_logits(context.get(), nullptr, 0, &size) == MOBILEONE_ERROR_BUFFER_TOO_SMALL);
  CHECK(size == 1000);
  std::vector<float> copy(999, -7.f);
  expect_error(mobileone_context_copy_logits(context.get(), copy.data(), copy.size(), &size), MOBILEONE_ERROR_BUFFER_TOO_SMALL,
               "the logits are 1000 floats, the buffer holds 999");
  CHECK(copy == std::vector<float>(999, -7.f));  // untouched
  copy.resize(1000);
  REQUIRE(mobileone_context_copy_logits(context.get(), copy.data(), copy.size(), &size) == MOBILEONE_OK);
  CHECK(copy == logits);

  // Feature maps: the engine's, in place and copied.
  static const Model engine_model = Model::load(model_path());
  Context engine(engine_model);
  engine.run(chelsea().view());
  for (int stage = 0; stage <= 4; ++stage) {
    CAPTURE(stage);
    const FeatureMap expected = engine.feature_map(stage);
    const std::size_t floats = std::size_t(expected.height) * std::size_t(expected.width) * std::size_t(expected.channels);
    mobileone_feature_map map{};
    REQUIRE(mobileone_context_feature_map(context.get(), stage, &map) == MOBILEONE_OK);
    CHECK(map.height == expected.height);
    CHECK(map.width == expected.width);
    CHECK(map.channels == expected.channels);
    CHECK(std::memcmp(map.data, expected.data, floats * sizeof(float)) == 0);

    std::vector<float> buffer(floats - 1);
    expect_error(mobileone_context_copy_feature_map(context.get(), stage, buffer.data(), buffer.size(), &map),
                 MOBILEONE_ERROR_BUFFER_TOO_SMALL, "the buffer holds");
    CHECK(map.channels == expected.channels);  // the shape is reported anyway
    buffer.resize(floats);
    REQUIRE(mobileone_context_copy_feature_map(context.get(), stage, buffer.data(), buffer.size(), &map) == MOBILEONE_OK);
    CHECK(map.data == buffer.data());
    CHECK(std::memcmp(buffer.data(), expected.data, floats * sizeof(float)) == 0);
  }
  mobileone_feature_map map{};
  expect_error(mobileone_context_feature_map(context.get(), 5, &map), MOBILEONE_ERROR_INVALID_ARGUMENT,
               "stage 5 does not exist (the model has stages 0..4)");
  expect_error(mobileone_context_feature_map(context.get(), -1, &map), MOBILEONE_ERROR_INVALID_ARGUMENT, "stage -1");
}

TEST_CASE("bad images and regions are refused with their status and a message that names the problem") {
  const ModelHandle model = load_tiny_model();
  const ContextHandle context = make_context(model.get());
  const PackedImage good = pack(chelsea().view(), MOBILEONE_PIXEL_FORMAT_RGBA8888, 4);
  const YuvFrame frame = encode_yuv(chelsea().view(), MOBILEONE_PIXEL_FORMAT_NV21, MOBILEONE_YUV_BT601_FULL_RANGE, 0, 0);

  struct Case {
    const char* name;
    mobileone_image image;
    const mobileone_rect* region;
    const char* message;
  };
  auto with = [](mobileone_image image, auto change) {
    change(image);
    return image;
  };
  const mobileone_rect outside{good.image.width - 10, 0, 20, 20}, negative{-1, 0, 10, 10}, empty{0, 0, 0, 10},
      overflowing{10, 10, INT_MAX, 10}, landscape{0, 0, 400, 100};
  const YuvPlanes planes = planes_of(frame);
  const CameraFrame planar = camera_frame(planes, MOBILEONE_PIXEL_FORMAT_YUV_420_888, 1);
  const CameraFrame interleaved = camera_frame(planes, MOBILEONE_PIXEL_FORMAT_YUV_420_888, 2);
  const Case cases[] = {
      {"no pixels", with(good.image, [](mobileone_image& i) { i.pixels = nullptr; }), nullptr, "no pixel data"},
      {"zero width", with(good.image, [](mobileone_image& i) { i.width = 0; }), nullptr, "image size 0x"},
      {"negative height", with(good.image, [](mobileone_image& i) { i.height = -5; }), nullptr, "x-5 is out of range"},
      {"huge width", with(good.image, [](mobileone_image& i) { i.width = 40000; }), nullptr, "out of range"},
      {"format 0", with(good.image, [](mobileone_image& i) { i.format = mobileone_pixel_format(0); }), nullptr,
       "pixel format 0 is not a mobileone_pixel_format"},
      {"format 99", with(good.image, [](mobileone_image& i) { i.format = mobileone_pixel_format(99); }), nullptr,
       "pixel format 99"},
      {"stride too small", with(good.image, [](mobileone_image& i) { i.row_stride = std::size_t(i.width) * 4 - 1; }), nullptr,
       "shorter than a row"},
      {"buffer one byte short", with(good.image, [](mobileone_image& i) { i.pixels_size -= 1; }), nullptr,
       "image (pixels_size) is"},
      {"size wraps around", with(good.image, [](mobileone_image& i) { i.row_stride = std::numeric_limits<std::size_t>::max() / 2; }),
       nullptr, "with a row stride of"},
      {"region outside", good.image, &outside, "does not lie inside the 451x300 image"},
      {"region at negative x", good.image, &negative, "does not lie inside"},
      {"empty region", good.image, &empty, "is empty"},
      {"region wider than INT_MAX allows", good.image, &overflowing, "does not lie inside"},
      {"no chroma", with(frame.image, [](mobileone_image& i) { i.chroma = nullptr; }), nullptr, "no chroma plane"},
      {"chroma stride too small", with(frame.image, [](mobileone_image& i) { i.chroma_row_stride = 100; }), nullptr,
       "chroma row stride 100 is shorter than a row of 452 bytes"},
      {"chroma plane short", with(frame.image, [](mobileone_image& i) { i.chroma_size -= 1; }), nullptr,
       "chroma plane (chroma_size) is"},
      {"luma plane short", with(frame.image, [](mobileone_image& i) { i.pixels_size = 1000; }), nullptr,
       "Y plane (pixels_size) is 1000 bytes"},
      {"color space 7", with(frame.image, [](mobileone_image& i) { i.color_space = mobileone_yuv_color_space(7); }), nullptr,
       "color space 7 is not a mobileone_yuv_color_space"},
      {"rotation 45", with(good.image, [](mobileone_image& i) { i.rotation = 45; }), nullptr,
       "rotation 45 is not 0, 90, 180 or 270 (degrees clockwise)"},
      {"rotation -90", with(frame.image, [](mobileone_image& i) { i.rotation = -90; }), nullptr, "rotation -90 is not"},
      {"mirror 2", with(good.image, [](mobileone_image& i) { i.mirror = 2; }), nullptr, "mirror 2 is not 0 or 1"},
      {"region inside the frame, not the upright image", with(good.image, [](mobileone_image& i) { i.rotation = 270; }),
       &landscape, "does not lie inside the 300x451 upright image (the 451x300 frame rotated 270 degrees clockwise)"},
      {"YUV_420_888 pixel stride 0", with(planar.image, [](mobileone_image& i) { i.chroma_pixel_stride = 0; }), nullptr,
       "chroma_pixel_stride 0 is not 1 or 2"},
      {"YUV_420_888 pixel stride 3", with(planar.image, [](mobileone_image& i) { i.chroma_pixel_stride = 3; }), nullptr,
       "chroma_pixel_stride 3 is not 1 or 2"},
      {"no V plane", with(planar.image, [](mobileone_image& i) { i.chroma_v = nullptr; }), nullptr, "no chroma plane (V)"},
      {"V plane short", with(planar.image, [](mobileone_image& i) { i.chroma_v_size -= 1; }), nullptr,
       "V plane (chroma_v_size) is"},
      {"U plane short", with(interleaved.image, [](mobileone_image& i) { i.chroma_size -= 1; }), nullptr,
       "U plane (chroma_size) is"},
      {"pixel stride 2 on planar planes", with(planar.image, [](mobileone_image& i) { i.chroma_pixel_stride = 2; }), nullptr,
       "U plane: chroma row stride 229 is shorter than a row of 452 bytes"},
      {"I420 V row stride too small", with(planar.image, [](mobileone_image& i) {
         i.format = MOBILEONE_PIXEL_FORMAT_I420;
         i.chroma_v_row_stride = 225;
       }),
       nullptr, "V plane: chroma row stride 225 is shorter than a row of 226 bytes"},
      {"NV21 region outside", frame.image, &outside, "does not lie inside"},
  };
  REQUIRE(mobileone_context_run(context.get(), &good.image, nullptr) == MOBILEONE_OK);
  for (const Case& c : cases) {
    CAPTURE(c.name);
    expect_error(mobileone_context_run(context.get(), &c.image, c.region), MOBILEONE_ERROR_INVALID_ARGUMENT, c.message);
    // A failed run leaves no results behind.
    const float* logits = nullptr;
    int32_t count = 0;
    expect_error(mobileone_context_logits(context.get(), &logits, &count), MOBILEONE_ERROR_NO_RESULTS, "no results");
    REQUIRE(mobileone_context_run(context.get(), &good.image, nullptr) == MOBILEONE_OK);
  }
}

TEST_CASE("NULL pointers, bad counts and options are refused") {
  const ModelHandle model = load_tiny_model();
  const ContextHandle context = make_context(model.get());
  const PackedImage image = pack(chelsea().view(), MOBILEONE_PIXEL_FORMAT_RGB888, 0);
  mobileone_prediction top[3];
  int32_t count = 0;
  const float* logits = nullptr;
  size_t size = 0;
  mobileone_feature_map map{};
  mobileone_context* no_context = nullptr;
  mobileone_model* no_model = nullptr;

  expect_error(mobileone_context_run(nullptr, &image.image, nullptr), MOBILEONE_ERROR_INVALID_ARGUMENT, "context is NULL");
  expect_error(mobileone_context_run(context.get(), nullptr, nullptr), MOBILEONE_ERROR_INVALID_ARGUMENT, "image is NULL");
  expect_error(mobileone_context_top_k(context.get(), 3, top, &count), MOBILEONE_ERROR_NO_RESULTS, "no results");
  expect_error(mobileone_context_feature_map(context.get(), 0, &map), MOBILEONE_ERROR_NO_RESULTS, "no results");
  REQUIRE(mobileone_context_run(context.get(), &image.image, nullptr) == MOBILEONE_OK);
  expect_error(mobileone_context_top_k(context.get(), 0, top, &count), MOBILEONE_ERROR_INVALID_ARGUMENT, "k is 0, expected at least 1");
  expect_error(mobileone_context_top_k(context.get(), 3, nullptr, &count), MOBILEONE_ERROR_INVALID_ARGUMENT, "predictions is NULL");
  expect_error(mobileone_context_top_k(context.get(), 3, top, nullptr), MOBILEONE_ERROR_INVALID_ARGUMENT, "count is NULL");
  expect_error(mobileone_context_top_k(nullptr, 3, top, &count), MOBILEONE_ERROR_INVALID_ARGUMENT, "context is NULL");
  expect_error(mobileone_context_logits(context.get(), nullptr, &count), MOBILEONE_ERROR_INVALID_ARGUMENT, "logits is NULL");
  expect_error(mobileone_context_logits(context.get(), &logits, nullptr), MOBILEONE_ERROR_INVALID_ARGUMENT, "count is NULL");
  expect_error(mobileone_context_copy_logits(context.get(), nullptr, 1000, &size), MOBILEONE_ERROR_INVALID_ARGUMENT, "buffer is NULL");
  expect_error(mobileone_context_copy_logits(context.get(), nullptr, 0, nullptr), MOBILEONE_ERROR_INVALID_ARGUMENT, "count is NULL");
  expect_error(mobileone_context_feature_map(context.get(), 0, nullptr), MOBILEONE_ERROR_INVALID_ARGUMENT, "map is NULL");
  expect_error(mobileone_context_copy_feature_map(context.get(), 1, nullptr, 1 << 20, &map), MOBILEONE_ERROR_INVALID_ARGUMENT,
               "buffer is NULL");

  expect_error(mobileone_context_create(nullptr, nullptr, &no_context), MOBILEONE_ERROR_INVALID_ARGUMENT, "model is NULL");
  expect_error(mobileone_context_create(model.get(), nullptr, nullptr), MOBILEONE_ERROR_INVALID_ARGUMENT, "context is NULL");
  for (int32_t threads : {-1, MOBILEONE_MAX_THREADS + 1, INT_MIN}) {
    const mobileone_context_options options{threads, MOBILEONE_ISA_AUTO, MOBILEONE_PRECISION_AUTO, MOBILEONE_CORES_BIG};
    expect_error(mobileone_context_create(model.get(), &options, &no_context), MOBILEONE_ERROR_INVALID_ARGUMENT, "threads is");
    CHECK(no_context == nullptr);
  }
  const mobileone_context_options unknown_isa{1, mobileone_isa(42), MOBILEONE_PRECISION_AUTO, MOBILEONE_CORES_BIG};
  expect_error(mobileone_context_create(model.get(), &unknown_isa, &no_context), MOBILEONE_ERROR_INVALID_ARGUMENT,
               "ISA 42 is not a mobileone_isa");
  for (mobileone_isa isa : {MOBILEONE_ISA_NEON, MOBILEONE_ISA_AVX512, MOBILEONE_ISA_AVX2}) {
    if (mobileone_isa_supported(isa)) continue;
    const mobileone_context_options unsupported{1, isa, MOBILEONE_PRECISION_AUTO, MOBILEONE_CORES_BIG};
    expect_error(mobileone_context_create(model.get(), &unsupported, &no_context), MOBILEONE_ERROR_UNSUPPORTED,
                 "is not available on this CPU or in this build");
  }

  expect_error(mobileone_model_create_from_file(nullptr, &no_model), MOBILEONE_ERROR_INVALID_ARGUMENT, "path is NULL");
  expect_error(mobileone_model_create_from_file("model.mone", nullptr), MOBILEONE_ERROR_INVALID_ARGUMENT, "model is NULL");
  expect_error(mobileone_model_create_from_buffer(nullptr, 10, &no_model), MOBILEONE_ERROR_INVALID_ARGUMENT, "data is NULL");
  expect_error(mobileone_model_create_from_external_buffer(nullptr, 10, &no_model), MOBILEONE_ERROR_INVALID_ARGUMENT, "data is NULL");
  mobileone_model_destroy(nullptr);
  mobileone_context_destroy(nullptr);
}

TEST_CASE("the C API takes as many threads as the C++ engine") {
  const ModelHandle model = load_tiny_model();
  const PackedImage rgb = pack(chelsea().view(), MOBILEONE_PIXEL_FORMAT_RGB888, 0);
  std::vector<float> logits[2];
  // 65 is beyond the C header's former limit of 64; results do not depend on the thread count.
  for (int32_t threads : {1, 65}) {
    const ContextHandle context = make_context(model.get(), {threads, MOBILEONE_ISA_AUTO, MOBILEONE_PRECISION_AUTO, MOBILEONE_CORES_BIG});
    const mobileone_status status = mobileone_context_run(context.get(), &rgb.image, nullptr);
    REQUIRE_MESSAGE(status == MOBILEONE_OK, mobileone_last_error_message());
    logits[threads == 1 ? 0 : 1] = logits_of(context.get());
  }
  CHECK(std::memcmp(logits[0].data(), logits[1].data(), logits[0].size() * sizeof(float)) == 0);
}

TEST_CASE("every core policy gives the same logits; an unknown one is refused") {
  const ModelHandle model = load_tiny_model();
  const PackedImage rgb = pack(chelsea().view(), MOBILEONE_PIXEL_FORMAT_RGB888, 0);
  std::vector<float> first;
  for (mobileone_core_policy cores : {MOBILEONE_CORES_BIG, MOBILEONE_CORES_ALL, MOBILEONE_CORES_LITTLE}) {
    const ContextHandle context = make_context(model.get(), {0, MOBILEONE_ISA_AUTO, MOBILEONE_PRECISION_AUTO, cores});
    REQUIRE_MESSAGE(mobileone_context_run(context.get(), &rgb.image, nullptr) == MOBILEONE_OK, mobileone_last_error_message());
    const std::vector<float> logits = logits_of(context.get());
    if (first.empty()) first = logits;
    REQUIRE(logits.size() == first.size());
    CHECK(std::memcmp(logits.data(), first.data(), first.size() * sizeof(float)) == 0);
  }
  mobileone_context* no_context = nullptr;
  for (int32_t value : {-1, 3}) {
    const mobileone_context_options unknown{0, MOBILEONE_ISA_AUTO, MOBILEONE_PRECISION_AUTO, mobileone_core_policy(value)};
    expect_error(mobileone_context_create(model.get(), &unknown, &no_context), MOBILEONE_ERROR_INVALID_ARGUMENT,
                 ("cores " + std::to_string(value) + " is not a mobileone_core_policy").c_str());
    CHECK(no_context == nullptr);
  }
}

TEST_CASE("precision: auto is fp32 for a float32 model and int8 for an int8 one; int8 on a float32 model is refused") {
  CHECK(mobileone_context_precision(nullptr) == MOBILEONE_PRECISION_AUTO);
  const ModelHandle float_model = load_tiny_model();
  for (mobileone_precision precision : {MOBILEONE_PRECISION_AUTO, MOBILEONE_PRECISION_FP32}) {
    const ContextHandle context = make_context(float_model.get(), {1, MOBILEONE_ISA_AUTO, precision, MOBILEONE_CORES_BIG});
    CHECK(mobileone_context_precision(context.get()) == MOBILEONE_PRECISION_FP32);
  }
  mobileone_context* no_context = nullptr;
  const mobileone_context_options int8{1, MOBILEONE_ISA_AUTO, MOBILEONE_PRECISION_INT8, MOBILEONE_CORES_BIG};
  expect_error(mobileone_context_create(float_model.get(), &int8, &no_context), MOBILEONE_ERROR_INVALID_ARGUMENT,
               "model 'tiny' has no int8 layers (a float32 blob)");
  CHECK(no_context == nullptr);
  // 16-bit floats run any model where the CPU has them (the reference kernels always), else UNSUPPORTED.
  for (mobileone_precision precision : {MOBILEONE_PRECISION_BF16, MOBILEONE_PRECISION_FP16}) {
    const ContextHandle scalar = make_context(float_model.get(), {1, MOBILEONE_ISA_SCALAR, precision, MOBILEONE_CORES_BIG});
    CHECK(mobileone_context_precision(scalar.get()) == precision);
    const mobileone::Precision engine = mobileone::Precision(int(precision));
    for (mobileone::Isa isa : mobileone::runnable_isas()) {
      if (mobileone::detail::kernel_set_runs(isa, engine)) continue;
      const mobileone_context_options lacking{1, mobileone_isa(int(isa)), precision, MOBILEONE_CORES_BIG};
      expect_error(mobileone_context_create(float_model.get(), &lacking, &no_context), MOBILEONE_ERROR_UNSUPPORTED,
                   (std::string("precision ") + mobileone::precision_name(engine) + " is not available").c_str());
      CHECK(no_context == nullptr);
    }
  }
  for (int32_t value : {-1, 5, 42}) {
    const mobileone_context_options unknown{1, MOBILEONE_ISA_AUTO, mobileone_precision(value), MOBILEONE_CORES_BIG};
    expect_error(mobileone_context_create(float_model.get(), &unknown, &no_context), MOBILEONE_ERROR_INVALID_ARGUMENT,
                 ("precision " + std::to_string(value) + " is not a mobileone_precision").c_str());
    CHECK(no_context == nullptr);
  }

  // An int8 model runs int8 unless fp32 is asked for, either way exactly as the C++ engine does.
  const ModelHandle int8_model = load_tiny_model(tiny_int8_blob());
  const Model engine_model = Model::from_buffer(tiny_int8_blob().data(), tiny_int8_blob().size());
  const PackedImage rgb = pack(chelsea().view(), MOBILEONE_PIXEL_FORMAT_RGB888, 0);
  const struct {
    mobileone_precision requested, runs;
    Precision engine;
  } cases[] = {{MOBILEONE_PRECISION_AUTO, MOBILEONE_PRECISION_INT8, Precision::int8},
               {MOBILEONE_PRECISION_INT8, MOBILEONE_PRECISION_INT8, Precision::int8},
               {MOBILEONE_PRECISION_FP32, MOBILEONE_PRECISION_FP32, Precision::fp32}};
  for (const auto& c : cases) {
    CAPTURE(int(c.requested));
    const ContextHandle context = make_context(int8_model.get(), {0, MOBILEONE_ISA_AUTO, c.requested, MOBILEONE_CORES_BIG});
    CHECK(mobileone_context_precision(context.get()) == c.runs);
    Context engine(engine_model, Options{0, Isa::automatic, c.engine});
    CHECK(run_and_get_logits(context.get(), rgb.image) == engine.run(chelsea().view()));
  }
}

TEST_CASE("an int8 context's feature maps, held in uint8, come out as the floats the engine's stages hold") {
  const ModelHandle model = load_tiny_model(tiny_int8_blob());
  const ContextHandle context = make_context(model.get());
  run_and_get_logits(context.get(), pack(chelsea().view(), MOBILEONE_PIXEL_FORMAT_RGB888, 0).image);
  const Model engine_model = Model::from_buffer(tiny_int8_blob().data(), tiny_int8_blob().size());
  Context engine(engine_model);
  engine.run(chelsea().view());

  // Every stage in place first: each stays valid while the others are asked for.
  const int stages = mobileone_model_stage_count(model.get());
  std::vector<mobileone_feature_map> in_place(std::size_t(stages) + 1);
  for (int stage = 0; stage <= stages; ++stage)
    REQUIRE(mobileone_context_feature_map(context.get(), stage, &in_place[std::size_t(stage)]) == MOBILEONE_OK);
  int uint8_stages = 0;
  for (int stage = 0; stage <= stages; ++stage) {
    CAPTURE(stage);
    const FeatureMap expected = engine.feature_map(stage);
    uint8_stages += expected.data == nullptr;
    std::vector<float> values(std::size_t(expected.height) * std::size_t(expected.width) * std::size_t(expected.channels));
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = expected.at(i);
    const mobileone_feature_map& map = in_place[std::size_t(stage)];
    CHECK(map.height == expected.height);
    CHECK(map.width == expected.width);
    CHECK(map.channels == expected.channels);
    CHECK(std::vector<float>(map.data, map.data + values.size()) == values);

    std::vector<float> copy(values.size());
    mobileone_feature_map copied{};
    REQUIRE(mobileone_context_copy_feature_map(context.get(), stage, copy.data(), copy.size(), &copied) == MOBILEONE_OK);
    CHECK(copy == values);
  }
  CHECK(uint8_stages > 0);  // what this test is about: the dequantization
}

TEST_CASE("missing, corrupt, truncated and misaligned models are refused") {
  mobileone_model* model = nullptr;
  expect_error(mobileone_model_create_from_file("/nonexistent/s0.mone", &model), MOBILEONE_ERROR_IO,
               "/nonexistent/s0.mone: cannot open model file (No such file or directory)");
  CHECK(model == nullptr);
  expect_error(mobileone_model_create_from_file(testing::shared_dir().c_str(), &model), MOBILEONE_ERROR_IO,
               "read error (Is a directory)");

  const std::vector<unsigned char> good = testing::read_bytes(model_path());
  std::vector<unsigned char> corrupt = good;
  corrupt[corrupt.size() / 2] ^= 0x40;
  expect_error(mobileone_model_create_from_buffer(corrupt.data(), corrupt.size(), &model), MOBILEONE_ERROR_INVALID_MODEL,
               "checksum mismatch");
  expect_error(mobileone_model_create_from_buffer(good.data(), good.size() - 100, &model), MOBILEONE_ERROR_INVALID_MODEL,
               "truncated");
  expect_error(mobileone_model_create_from_buffer(good.data(), 0, &model), MOBILEONE_ERROR_INVALID_MODEL, "smaller than the");
  const char text[] = "not a model, just some text that is long enough to hold a header of one hundred and sixty bytes......"
                      "..........................................................................";
  expect_error(mobileone_model_create_from_buffer(text, sizeof text, &model), MOBILEONE_ERROR_INVALID_MODEL, "bad magic");
  // In place: 4-byte alignment is the minimum the engine reads floats from, 1 is refused.
  detail::AlignedBuffer<unsigned char> shifted(good.size() + 4);
  std::copy(good.begin(), good.end(), shifted.data() + 1);
  expect_error(mobileone_model_create_from_external_buffer(shifted.data() + 1, good.size(), &model),
               MOBILEONE_ERROR_INVALID_ARGUMENT, "not 4-byte aligned");
  std::copy(good.begin(), good.end(), shifted.data() + 4);
  REQUIRE(mobileone_model_create_from_external_buffer(shifted.data() + 4, good.size(), &model) == MOBILEONE_OK);
  mobileone_model_destroy(model);
}

TEST_CASE("the golden self-check: the real S0 passes, int8 too, and a model without golden data is unsupported") {
  const ModelHandle model = load_model();
  const ContextHandle context = make_context(model.get());
  size_t count = 0;
  int32_t passed = -1;
  CHECK(mobileone_context_verify(context.get(), nullptr, 0, &count, &passed) == MOBILEONE_ERROR_BUFFER_TOO_SMALL);
  CHECK(count == 6);  // the stem, stages 1..4, the logits
  CHECK(std::string(mobileone_last_error_message()) == "the report has 6 rows, the buffer holds 0");
  std::vector<mobileone_verify_stage> rows(count);
  REQUIRE_MESSAGE(mobileone_context_verify(context.get(), rows.data(), rows.size(), &count, &passed) == MOBILEONE_OK,
                  mobileone_last_error_message());
  CHECK(passed == 1);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    CHECK(rows[i].stage == int32_t(i));
    CHECK(rows[i].passed == 1);
    CHECK(rows[i].tolerance == float(verification_tolerance(Precision::fp32)));
    CHECK(rows[i].relative_error < 1e-5f);
  }
  // It ran in memory of its own: the context still has no results.
  const float* logits = nullptr;
  int32_t logit_count = 0;
  CHECK(mobileone_context_logits(context.get(), &logits, &logit_count) == MOBILEONE_ERROR_NO_RESULTS);

  // An int8 model in int8 (its golden data holds the int8 arithmetic's outputs too).
  const auto int8_blob = with_golden(tiny_int8_blob(), 24, 20);
  const ModelHandle int8_model = load_tiny_model(int8_blob);
  const ContextHandle int8_context = make_context(int8_model.get());
  REQUIRE(mobileone_context_precision(int8_context.get()) == MOBILEONE_PRECISION_INT8);
  REQUIRE(mobileone_context_verify(int8_context.get(), rows.data(), rows.size(), &count, &passed) == MOBILEONE_OK);
  CHECK(passed == 1);
  CHECK(rows[0].tolerance == float(verification_tolerance(Precision::int8)));

  const ModelHandle old = load_tiny_model();
  const ContextHandle old_context = make_context(old.get());
  CHECK(mobileone_context_verify(old_context.get(), rows.data(), rows.size(), &count, &passed) == MOBILEONE_ERROR_UNSUPPORTED);
  CHECK(std::string(mobileone_last_error_message()) ==
        "model 'tiny' has no golden data (format version 1): verification is unavailable; convert it again with "
        "weights/convert.py");
  CHECK(mobileone_context_verify(nullptr, rows.data(), rows.size(), &count, &passed) == MOBILEONE_ERROR_INVALID_ARGUMENT);
  CHECK(mobileone_context_verify(context.get(), rows.data(), rows.size(), nullptr, &passed) == MOBILEONE_ERROR_INVALID_ARGUMENT);
  CHECK(mobileone_context_verify(context.get(), rows.data(), rows.size(), &count, nullptr) == MOBILEONE_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("a context keeps its model alive after the model handle is destroyed") {
  ModelHandle model = load_tiny_model();
  const ContextHandle context = make_context(model.get());
  const PackedImage image = pack(chelsea().view(), MOBILEONE_PIXEL_FORMAT_RGBA8888, 0);
  const std::vector<float> expected = engine_logits(chelsea().view());
  mobileone_prediction top{};
  int32_t count = 0;
  model.reset();
  REQUIRE(mobileone_context_classify(context.get(), &image.image, nullptr, 1, &top, &count) == MOBILEONE_OK);
  CHECK(logits_of(context.get()) == expected);
  CHECK(std::string(top.label) == "class_" + std::to_string(top.class_index));
}

TEST_CASE("contexts on one model in several threads give identical results, and errors stay per thread") {
  const ModelHandle model = load_tiny_model();
  const PackedImage rgba = pack(chelsea().view(), MOBILEONE_PIXEL_FORMAT_RGBA8888, 8);
  const YuvFrame nv21 = encode_yuv(chelsea().view(), MOBILEONE_PIXEL_FORMAT_NV21, MOBILEONE_YUV_BT601_FULL_RANGE, 0, 0);
  const mobileone_image* images[] = {&rgba.image, &nv21.image};
  std::vector<float> expected[2];
  {
    const ContextHandle context = make_context(model.get(), {1, MOBILEONE_ISA_AUTO, MOBILEONE_PRECISION_AUTO, MOBILEONE_CORES_BIG});
    for (int i = 0; i < 2; ++i) expected[i] = run_and_get_logits(context.get(), *images[i]);
  }
  constexpr int kThreads = 4, kRuns = 20;
  int mismatches[kThreads] = {}, failures[kThreads] = {};
  bool own_messages[kThreads] = {};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      mobileone_context* context = nullptr;
      const mobileone_context_options options{1, MOBILEONE_ISA_AUTO, MOBILEONE_PRECISION_AUTO, MOBILEONE_CORES_BIG};
      if (mobileone_context_create(model.get(), &options, &context) != MOBILEONE_OK) {
        failures[t] = kRuns;
        return;
      }
      // Each thread's failure leaves its own message, whatever the others do meanwhile.
      mobileone_context_top_k(context, t + 1, nullptr, nullptr);
      own_messages[t] = std::string(mobileone_last_error_message()).find("no results") != std::string::npos;
      for (int run = 0; run < kRuns; ++run) {
        const int which = (run + t) % 2;
        const float* logits = nullptr;
        int32_t count = 0;
        if (mobileone_context_run(context, images[which], nullptr) != MOBILEONE_OK ||
            mobileone_context_logits(context, &logits, &count) != MOBILEONE_OK) {
          ++failures[t];
          continue;
        }
        if (std::vector<float>(logits, logits + count) != expected[which]) ++mismatches[t];
      }
      mobileone_context_destroy(context);
    });
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    CAPTURE(t);
    CHECK(failures[t] == 0);
    CHECK(mismatches[t] == 0);
    CHECK(own_messages[t]);
  }
}
