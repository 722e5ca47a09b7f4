// bench_preprocess: camera frames to the model's input tensor (preprocess_image: resize the shorter side to
// 256, centre-crop 224, normalize), for the frame sizes and pixel formats phones deliver, in every rotation:
//
//   preprocess/rgba8/1280x720/rot0        preprocess/nv21/1280x720/rot90        preprocess/i420/1920x1080/rot270_mirror
//
// Rotation and mirror happen in the resize's own pass (no copy of the frame), so rot0 is the path every
// unrotated image takes and the others show what turning costs. Frames hold deterministic noise; one
// thread (preprocessing runs on the caller's). Select with --benchmark_filter, e.g. '/1280x720/'.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <mobileone/preprocess.hpp>

#include "google_benchmark_main.hpp"

namespace {

using mobileone::Orientation;

struct FrameSize {
  int width, height;
};

constexpr FrameSize kSizes[] = {{640, 480}, {1280, 720}, {1920, 1080}};
constexpr const char* kFormats[] = {"rgba8", "bgra8", "rgb8", "nv21", "i420"};

// Room for any format of the largest frame, filled with noise.
const std::vector<std::uint8_t>& noise() {
  static const std::vector<std::uint8_t> bytes = [] {
    std::vector<std::uint8_t> b(std::size_t(1920) * 1080 * 4);
    std::uint32_t state = 12345;
    for (std::uint8_t& v : b) v = std::uint8_t((state = state * 1664525u + 1013904223u) >> 24);
    return b;
  }();
  return bytes;
}

template <class Image>
void run(benchmark::State& state, const Image& image, const Orientation& orientation) {
  const mobileone::PreprocessTarget target;
  std::vector<float> out(std::size_t(3) * std::size_t(target.crop_height) * std::size_t(target.crop_width));
  mobileone::detail::PreprocessScratch scratch;
  for (auto _ : state) {
    mobileone::preprocess_image(image, target, out.data(), mobileone::TensorLayout::nhwc, scratch, orientation);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
}

void bench_frame(benchmark::State& state, const std::string& format, FrameSize size, const Orientation& orientation) {
  const std::uint8_t* bytes = noise().data();
  const int w = size.width, h = size.height;
  const std::uint8_t* chroma = bytes + std::size_t(w) * std::size_t(h);
  if (format == "nv21") return run(state, mobileone::nv21(bytes, 0, chroma, 0, w, h), orientation);
  if (format == "i420")
    return run(state, mobileone::i420(bytes, 0, chroma, 0, chroma + std::size_t(w / 2) * std::size_t(h / 2), 0, w, h),
               orientation);
  const mobileone::PixelFormat packed = format == "rgba8"   ? mobileone::PixelFormat::rgba8
                                        : format == "bgra8" ? mobileone::PixelFormat::bgra8
                                                            : mobileone::PixelFormat::rgb8;
  run(state, mobileone::ImageView{bytes, w, h, 0, packed}, orientation);
}

struct Settings {};

std::vector<std::string> setup(int argc, char** argv, Settings&) {
  std::vector<std::string> rest(argv, argv + argc);
  for (const FrameSize& size : kSizes)
    for (const char* format : kFormats)
      for (const Orientation& o : {Orientation{0, false}, Orientation{90, false}, Orientation{180, false},
                                   Orientation{270, false}, Orientation{90, true}}) {
        const std::string name = std::string("preprocess/") + format + "/" + std::to_string(size.width) + "x" +
                                 std::to_string(size.height) + "/rot" + std::to_string(o.rotation) +
                                 (o.mirror ? "_mirror" : "");
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) { bench_frame(state, format, size, o); })
            ->Unit(benchmark::kMicrosecond);
      }
  return rest;
}

}  // namespace

int main(int argc, char** argv) {
  return mobileone::bench::benchmark_main<Settings>("bench_preprocess", argc, argv, setup);
}
