// fuzz_capi: the C API (include/mobileone/mobileone.h) driven the way an app's JNI or Swift glue could
// drive it with untrusted values: a model from fuzzed bytes, then contexts, images, regions, result
// queries and buffer sizes all taken from the input, valid or not. Every call must return a status (never
// crash, throw or read outside the buffers it was given), every failure must leave a non-empty,
// NUL-terminated last-error message, and results must stay inside the caller's buffers.
//
// Input: 32 control bytes, then the model blob. As in fuzz_blob, the blob's file_size and CRC-32 are
// rewritten to match (except for blobs whose size is 1 mod 16), and its stored input size (header bytes
// 100..111) is replaced by a tiny one taken from the control bytes, so that every run stays cheap.
// Every buffer handed to the API is allocated at exactly the size the harness declares, so a read or write
// past a declared size is an AddressSanitizer report.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <mobileone/detail/crc32.hpp>
#include <mobileone/mobileone.h>
#include <mobileone/mobileone_c_impl.hpp>

namespace {

volatile float g_sink;

// Reads control bytes in order; zeros after the end.
class Control {
 public:
  Control(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint8_t byte() { return position_ < size_ ? data_[position_++] : 0; }
  std::int32_t pick(std::initializer_list<std::int32_t> values) { return values.begin()[byte() % values.size()]; }

 private:
  const std::uint8_t* data_;
  std::size_t size_, position_ = 0;
};

// MOBILEONE_FUZZ_VERBOSE=1 prints every status (to see what an input reaches).
const bool g_verbose = std::getenv("MOBILEONE_FUZZ_VERBOSE") != nullptr;

void check(mobileone_status status) {
  const char* message = mobileone_last_error_message();
  if (g_verbose) std::fprintf(stderr, "%s: %s\n", mobileone_status_name(status), message ? message : "(null)");
  if (message == nullptr) __builtin_trap();
  const std::size_t length = std::strlen(message);
  if ((status == MOBILEONE_OK) != (length == 0)) __builtin_trap();  // "" exactly when the call succeeded
  if (mobileone_status_name(status) == nullptr) __builtin_trap();
}

// The golden self-check: a size query, then a table of exactly that many rows (unsupported without golden
// data).
void verify(const mobileone_context* context) {
  size_t count = 0;
  int32_t passed = -1;
  mobileone_status status = mobileone_context_verify(context, nullptr, 0, &count, &passed);
  check(status);
  if (status == MOBILEONE_ERROR_UNSUPPORTED) return;
  if (status != MOBILEONE_ERROR_BUFFER_TOO_SMALL || count < 3) __builtin_trap();
  std::vector<mobileone_verify_stage> rows(count);
  status = mobileone_context_verify(context, rows.data(), rows.size(), &count, &passed);
  check(status);
  if (status != MOBILEONE_OK) return;
  if (count != rows.size() || (passed != 0 && passed != 1)) __builtin_trap();
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows[i].stage != int32_t(i) || (rows[i].passed != 0 && rows[i].passed != 1)) __builtin_trap();
}

void query_results(mobileone_context* context, const mobileone_model* model, Control& control) {
  const int32_t k = control.pick({3, 1, 1000, 0, -1});
  std::vector<mobileone_prediction> top(std::size_t(k > 0 ? k : 0));
  int32_t count = -1;
  mobileone_status status = mobileone_context_top_k(context, k, top.empty() ? nullptr : top.data(), &count);
  check(status);
  if (status == MOBILEONE_OK) {
    if (count < 0 || count > k || count > mobileone_model_class_count(model)) __builtin_trap();
    for (int32_t i = 0; i < count; ++i) g_sink = top[std::size_t(i)].probability + float(std::strlen(top[std::size_t(i)].label));
  }

  const float* logits = nullptr;
  status = mobileone_context_logits(context, &logits, &count);
  check(status);
  if (status == MOBILEONE_OK)
    for (int32_t i = 0; i < count; ++i) g_sink = logits[i];

  const std::size_t capacity = std::size_t(control.pick({0, 1, 2, 7, 64}));
  std::vector<float> buffer(capacity);
  std::size_t written = 0;
  check(mobileone_context_copy_logits(context, capacity ? buffer.data() : nullptr, capacity, &written));

  const int32_t stages = mobileone_model_stage_count(model);
  for (int32_t stage = -1; stage <= stages + 1; ++stage) {
    mobileone_feature_map map{};
    status = mobileone_context_feature_map(context, stage, &map);
    check(status);
    if (status == MOBILEONE_OK) {
      float sum = 0.f;
      for (std::size_t i = 0, n = std::size_t(map.height) * std::size_t(map.width) * std::size_t(map.channels); i < n; ++i)
        sum += map.data[i];
      g_sink = sum;
    }
    const std::size_t floats = std::size_t(control.pick({0, 1, 16, 4096}));
    std::vector<float> copy(floats);
    check(mobileone_context_copy_feature_map(context, stage, floats ? copy.data() : nullptr, floats, &map));
  }
}

// An image whose every field comes from the control bytes; its planes are allocated at exactly the sizes
// it declares.
void run_image(mobileone_context* context, const mobileone_model* model, Control& control) {
  mobileone_image image{};
  image.format = mobileone_pixel_format(control.pick({3, 1, 2, 4, 5, 6, 7, 0, 8, -1}));
  image.width = control.pick({5, 8, 13, 17, 1, 2, 3, 0, -1, 40000});
  image.height = control.pick({5, 8, 13, 17, 1, 2, 3, 0, -1, 40000});
  const bool yuv = image.format == MOBILEONE_PIXEL_FORMAT_NV12 || image.format == MOBILEONE_PIXEL_FORMAT_NV21;
  const int bpp = image.format >= 1 && image.format <= 5 ? (image.format <= 2 ? 4 : image.format == 5 ? 1 : 3) : 1;
  const std::size_t w = std::size_t(image.width > 0 && image.width < 100 ? image.width : 1);
  const std::size_t h = std::size_t(image.height > 0 && image.height < 100 ? image.height : 1);
  const std::size_t row = w * std::size_t(bpp);
  image.row_stride = std::size_t(control.pick({0, 0, 1, 3, 64})) ? row + std::size_t(control.byte() % 9) : 0;
  if (control.byte() % 4 == 3) image.row_stride = row > 1 ? row - 1 : 0;  // too short on purpose
  const std::size_t stride = image.row_stride ? image.row_stride : row;
  const std::size_t span = stride * (h - 1) + row;
  // Usually the exact span; sometimes one byte short (must be refused) or nothing.
  const std::size_t declared = std::size_t(control.pick({int32_t(span), int32_t(span), int32_t(span) - 1, 0}));
  std::vector<std::uint8_t> pixels(declared ? declared : 1);
  const std::uint8_t fill = control.byte();
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = std::uint8_t(i * 29 + fill);
  image.pixels = control.byte() % 16 == 15 ? nullptr : pixels.data();
  image.pixels_size = declared;

  std::vector<std::uint8_t> chroma;
  if (yuv) {
    const std::size_t chroma_row = 2 * ((w + 1) / 2), chroma_rows = (h + 1) / 2;
    image.chroma_row_stride = control.byte() % 2 ? chroma_row + std::size_t(control.byte() % 5) : 0;
    const std::size_t chroma_stride = image.chroma_row_stride ? image.chroma_row_stride : chroma_row;
    const std::size_t chroma_span = chroma_stride * (chroma_rows - 1) + chroma_row;
    image.chroma_size = control.byte() % 8 == 7 ? chroma_span - 1 : chroma_span;
    chroma.assign(image.chroma_size ? image.chroma_size : 1, std::uint8_t(control.byte()));
    image.chroma = control.byte() % 16 == 15 ? nullptr : chroma.data();
    image.color_space = mobileone_yuv_color_space(control.pick({0, 1, 2, 3, 4, -1}));
  }

  mobileone_rect rect{control.pick({0, 1, 2, -1}), control.pick({0, 1, 3, -1}), control.pick({2, 1, 5, 0, -1, 100}),
                      control.pick({2, 1, 4, 9, 0, 2147483647})};
  const mobileone_rect* region = control.byte() % 2 ? &rect : nullptr;

  const int32_t k = control.pick({1, 2, 5});
  std::vector<mobileone_prediction> top(static_cast<std::size_t>(k));
  int32_t count = 0;
  check(mobileone_context_classify(context, &image, region, k, top.data(), &count));
  query_results(context, model, control);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kControlBytes = 32;
  Control control(data, std::min(size, kControlBytes));
  const std::size_t blob_size = size > kControlBytes ? size - kControlBytes : 0;
  // 4 bytes past a 16-byte boundary: exactly the minimum alignment an external buffer may have.
  std::vector<unsigned char> storage(blob_size + 4);
  unsigned char* const blob = storage.data() + 4;
  if (blob_size) std::memcpy(blob, data + kControlBytes, blob_size);
  if (blob_size >= 160) {
    const std::uint32_t tiny[3] = {1u + control.byte() % 16u, 1u + control.byte() % 16u, 1u + control.byte() % 24u};
    std::memcpy(blob + 100, tiny, sizeof tiny);
  }
  if (blob_size >= 32 && blob_size % 16 != 1) {
    const std::uint64_t file_size = blob_size;
    std::memcpy(blob + 16, &file_size, sizeof file_size);
    const std::uint32_t crc = mobileone::detail::crc32(blob + 32, blob_size - 32);
    std::memcpy(blob + 24, &crc, sizeof crc);
  }

  // Argument checks that need no model.
  check(mobileone_model_create_from_buffer(nullptr, blob_size, nullptr));
  check(mobileone_context_create(nullptr, nullptr, nullptr));
  check(mobileone_context_run(nullptr, nullptr, nullptr));
  g_sink = float(std::strlen(mobileone_status_name(mobileone_status(control.pick({-1, 0, 3, 8, 9, 1000})))));

  mobileone_model* model = nullptr;
  const int how = control.byte() % 3;
  mobileone_status status = how == 0   ? mobileone_model_create_from_buffer(blob_size ? blob : nullptr, blob_size, &model)
                            : how == 1 ? mobileone_model_create_from_external_buffer(blob, blob_size, &model)
                                       : mobileone_model_create_from_external_buffer(blob + 1, blob_size ? blob_size - 1 : 0, &model);
  check(status);
  if (status != MOBILEONE_OK) {
    if (model != nullptr) __builtin_trap();
    return 0;
  }
  g_sink = float(std::strlen(mobileone_model_name(model)));
  const int32_t classes = mobileone_model_class_count(model);
  for (int32_t index : {-1, 0, classes - 1, classes, 1 << 30})
    if (const char* label = mobileone_model_label(model, index)) g_sink = float(std::strlen(label));

  mobileone_context_options options{};
  options.threads = control.pick({1, 1, 1, 2, -1, 65});
  options.isa = mobileone_isa(control.pick({0, 1, 1, 2, 3, 4, 5, -7}));
  mobileone_context* context = nullptr;
  status = mobileone_context_create(model, control.byte() % 8 == 7 ? nullptr : &options, &context);
  check(status);
  if (status == MOBILEONE_OK) {
    query_results(context, model, control);  // before any run: must be refused
    if (control.byte() % 2) {                // the context keeps the model alive
      mobileone_model_destroy(model);
      model = nullptr;
      mobileone_model* again = nullptr;
      check(mobileone_model_create_from_buffer(blob, blob_size, &again));
      model = again;
    }
    if (model) {
      run_image(context, model, control);
      run_image(context, model, control);  // a second frame: reuse, or a re-plan for another region
    }
    verify(context);
    mobileone_context_destroy(context);
  }
  mobileone_model_destroy(model);
  return 0;
}
