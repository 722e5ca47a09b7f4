// fuzz_blob: arbitrary bytes as a .mone model. Loading must either succeed or throw mobileone::Error;
// a model that loads must run: one inference on a tiny input with one thread, on the scalar kernels and on
// the best kernels of this CPU (an int8 blob also in fp32, on its dequantized weights), then every result
// accessor and the golden self-check of a version-3 blob. Anything else (a sanitizer report, another
// exception type, an abort, a huge allocation, a hang) is a bug.
//
// The blob's CRC-32 would stop almost every mutation at the checksum check, so the harness first rewrites
// file_size and the checksum to match the bytes (except for inputs whose size is 1 mod 16, which keep
// exercising the size and checksum checks themselves). The tiny input's size comes from the header's
// bytes 156..158: versions 1 and 2 ignore them (reserved), so the fuzzer can vary it freely; in version 3
// they are the golden data's first tensor, and the size follows it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <mobileone/detail/crc32.hpp>
#include <mobileone/mobileone.hpp>

#include "support/blob_writer.hpp"  // WeightRandom

using namespace mobileone;

namespace {

volatile float g_sink;  // keeps the reads of every result

void touch(const float* data, std::size_t count) {
  float sum = 0.f;
  for (std::size_t i = 0; i < count; ++i) sum += data[i];
  g_sink = sum;
}

void touch(const FeatureMap& map) {  // floats, or uint8 in an int8 context
  float sum = 0.f;
  const std::size_t count = std::size_t(map.height) * std::size_t(map.width) * std::size_t(map.channels);
  for (std::size_t i = 0; i < count; ++i) sum += map.at(i);
  g_sink = sum;
}

void exercise(const Model& model, Isa isa, int height, int width, const std::vector<float>& input,
              Precision precision = Precision::automatic) {
  Context context(model, Options{1, isa, precision});
  const std::vector<float>& logits = context.run(input.data(), 3, height, width);
  touch(logits.data(), logits.size());
  touch(context.probabilities().data(), context.probabilities().size());
  for (const Prediction& p : context.top_k(5)) g_sink = p.probability + float(p.label.size());
  for (int stage = 0; stage <= model.num_stages(); ++stage) touch(context.feature_map(stage));
  // Golden data the reader accepted runs at its own input size (bounded by the file's bytes).
  const Verification v = verify(context);
  if (v.available) {
    if (v.stages.size() != std::size_t(model.num_stages()) + 2) __builtin_trap();
    for (const StageVerification& s : v.stages) g_sink = float(s.relative_error) + float(s.passed());
  }
  // The same context again at another size (re-plans the workspace), then with the built-in
  // preprocessing when the model's own input size is small enough to stay cheap.
  context.run(input.data(), 3, width, height);
  const PreprocessSpec& spec = model.preprocess();
  if (std::int64_t(spec.input_height) * spec.input_width <= 32 * 32 && spec.resize_shorter <= 64) {
    std::vector<std::uint8_t> pixels(std::size_t(5) * 7 * 4);
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = std::uint8_t(i * 37);
    for (const Prediction& p : context.classify(ImageView{pixels.data(), 5, 7, 0, PixelFormat::rgba8}, 3))
      g_sink = p.probability;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The documented minimum alignment of an in-place buffer is 4 bytes: give exactly that (4 mod 16), so
  // a kernel that assumes more reads out of line and trips the sanitizers.
  std::vector<unsigned char> storage(size + 4);
  unsigned char* const bytes = storage.data() + 4;
  if (size) std::memcpy(bytes, data, size);
  if (size >= 32 && size % 16 != 1) {
    const std::uint64_t file_size = size;
    std::memcpy(bytes + 16, &file_size, sizeof file_size);
    const std::uint32_t crc = detail::crc32(bytes + 32, size - 32);
    std::memcpy(bytes + 24, &crc, sizeof crc);
  }
  const int height = 1 + (size > 156 ? bytes[156] % 12 : 3);
  const int width = 1 + (size > 157 ? bytes[157] % 12 : 5);
  std::vector<float> input(std::size_t(3) * std::size_t(height) * std::size_t(width));
  WeightRandom random(size > 158 ? bytes[158] : 0);
  for (float& v : input) v = random.uniform(-2.f, 2.f);

  try {
    // Both entry points: a copy (64-byte aligned), and the caller's bytes in place.
    const Model copied = Model::from_buffer(bytes, size);
    const Model in_place = Model::from_external_buffer(bytes, size);
    exercise(in_place, Isa::scalar, height, width, input);
    if (best_isa() != Isa::scalar) exercise(copied, best_isa(), height, width, input);
    if (copied.has_int8_layers()) exercise(copied, best_isa(), height, width, input, Precision::fp32);
  } catch (const Error&) {
    // A clean refusal.
  }
  return 0;
}
