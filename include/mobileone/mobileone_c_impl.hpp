// The implementation of the C API (mobileone.h). Include this header in exactly one C++17 translation
// unit of the application, the way stb's implementations are compiled once; or link the prebuilt
// `mobileone_c` library, which is that translation unit.
//
// Every entry point runs its body inside `guarded`, which turns whatever the body throws into a status
// and the thread's last error message. Arguments are checked here, before the C++ engine sees them, so that
// each failure gets its own status; the engine's own errors (mobileone::Error) map to the status that fits
// the entry point.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "mobileone.h"
#include "mobileone.hpp"
#include "yuv.hpp"

namespace mobileone::capi {

// The C header cannot include the C++ one: the two limits are kept equal here.
static_assert(MOBILEONE_MAX_THREADS == kMaxThreads, "MOBILEONE_MAX_THREADS (mobileone.h) != mobileone::kMaxThreads");

inline constexpr std::size_t kMaxModelFileBytes = std::size_t(1) << 30;

// A model and what C callers need from it: NUL-terminated copies of its strings and, when it was read
// from a file, the bytes the Model views in place.
struct LoadedModel {
  LoadedModel(detail::AlignedBuffer<unsigned char> bytes, Model loaded)
      : file_bytes(std::move(bytes)), model(std::move(loaded)), name(model.name()) {
    labels.reserve(model.labels().size());
    for (std::string_view label : model.labels()) labels.emplace_back(label);
  }
  detail::AlignedBuffer<unsigned char> file_bytes;  // declared before `model`, which views it
  Model model;
  std::string name;
  std::vector<std::string> labels;
};

// A failure with its status, thrown inside an entry point and returned at its boundary.
class StatusError : public Error {
 public:
  StatusError(mobileone_status status, const std::string& message) : Error(message), status_(status) {}
  mobileone_status status() const { return status_; }

 private:
  mobileone_status status_;
};

[[noreturn]] inline void fail(mobileone_status status, const std::string& message) { throw StatusError(status, message); }

inline void require(const void* pointer, const char* name) {
  if (pointer == nullptr) fail(MOBILEONE_ERROR_INVALID_ARGUMENT, std::string(name) + " is NULL");
}

// *pointer, once it is known not to be NULL.
template <class T>
T& required(T* pointer, const char* name) {
  require(pointer, name);
  return *pointer;
}

// The calling thread's last error message: a fixed buffer (longer messages are cut), so that reporting
// never allocates.
inline constexpr std::size_t kMessageCapacity = 1024;

inline char* last_error_buffer() {
  static thread_local char message[kMessageCapacity];
  return message;
}

inline mobileone_status report(mobileone_status status, const char* message) noexcept {
  std::snprintf(last_error_buffer(), kMessageCapacity, "%s", message);
  return status;
}

template <class Body>
mobileone_status guarded(mobileone_status engine_error_status, Body&& body) noexcept {
  try {
    body();
    return report(MOBILEONE_OK, "");
  } catch (const StatusError& e) {
    return report(e.status(), e.what());
  } catch (const Error& e) {
    return report(engine_error_status, e.what());
  } catch (const std::bad_alloc&) {
    return report(MOBILEONE_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return report(MOBILEONE_ERROR_INTERNAL, e.what());
  } catch (...) {
    return report(MOBILEONE_ERROR_INTERNAL, "unknown internal error");
  }
}

[[noreturn]] inline void fail_io(const char* path, const char* what) {
  const std::string reason = errno ? std::generic_category().message(errno) : "unexpected end of file";
  fail(MOBILEONE_ERROR_IO, std::string(path) + ": " + what + " (" + reason + ")");
}

struct CloseFile {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

// C stdio rather than iostreams: an app linking the C++ runtime statically would otherwise carry its whole
// locale machinery (about 400 KB) for this one read.
inline detail::AlignedBuffer<unsigned char> read_model_file(const char* path) {
  errno = 0;
  const std::unique_ptr<std::FILE, CloseFile> file(std::fopen(path, "rb"));
  if (!file) fail_io(path, "cannot open model file");
  long size = -1;
  if (std::fseek(file.get(), 0, SEEK_END) == 0) size = std::ftell(file.get());
  if (size < 0 || std::fseek(file.get(), 0, SEEK_SET) != 0) fail_io(path, "cannot determine the file size");
  if (static_cast<unsigned long>(size) > kMaxModelFileBytes) {
    unsigned char first = 0;  // a directory opens and claims any size, but cannot be read
    if (std::fread(&first, 1, 1, file.get()) != 1) fail_io(path, "read error");
    fail(MOBILEONE_ERROR_INVALID_MODEL, std::string(path) + ": " + std::to_string(size) + " bytes, more than a model can be (1 GiB)");
  }
  detail::AlignedBuffer<unsigned char> bytes(static_cast<std::size_t>(size));
  if (std::fread(bytes.data(), 1, bytes.size(), file.get()) != bytes.size()) fail_io(path, "read error");
  return bytes;
}

inline int pixel_format_bytes(mobileone_pixel_format format, PixelFormat& packed) {
  switch (format) {
    case MOBILEONE_PIXEL_FORMAT_RGBA8888: packed = PixelFormat::rgba8; break;
    case MOBILEONE_PIXEL_FORMAT_BGRA8888: packed = PixelFormat::bgra8; break;
    case MOBILEONE_PIXEL_FORMAT_RGB888: packed = PixelFormat::rgb8; break;
    case MOBILEONE_PIXEL_FORMAT_BGR888: packed = PixelFormat::bgr8; break;
    case MOBILEONE_PIXEL_FORMAT_GRAY8: packed = PixelFormat::gray8; break;
    default: return 0;  // not a packed format
  }
  return bytes_per_pixel(packed);
}

inline void require_span(const char* plane, std::size_t available, std::size_t rows, std::size_t row_bytes, std::size_t stride) {
  const std::size_t needed = plane_span(rows, row_bytes, stride);
  if (available < needed)
    fail(MOBILEONE_ERROR_INVALID_ARGUMENT, std::string(plane) + " is " + std::to_string(available) + " bytes, but " +
                                               std::to_string(rows) + " rows of " + std::to_string(row_bytes) +
                                               " bytes with a row stride of " + std::to_string(stride) + " span " +
                                               std::to_string(needed));
}

inline bool is_yuv(mobileone_pixel_format format) {
  return format == MOBILEONE_PIXEL_FORMAT_NV12 || format == MOBILEONE_PIXEL_FORMAT_NV21 ||
         format == MOBILEONE_PIXEL_FORMAT_I420 || format == MOBILEONE_PIXEL_FORMAT_YUV_420_888;
}

// The frame's planes, checked against the sizes the caller says are readable.
inline YuvImageView yuv_view(const mobileone_image& image) {
  const int w = image.width, h = image.height;
  YuvImageView yuv;
  switch (image.format) {
    case MOBILEONE_PIXEL_FORMAT_NV12: yuv = nv12(image.pixels, image.row_stride, image.chroma, image.chroma_row_stride, w, h); break;
    case MOBILEONE_PIXEL_FORMAT_NV21: yuv = nv21(image.pixels, image.row_stride, image.chroma, image.chroma_row_stride, w, h); break;
    default:  // I420, YUV_420_888 (a V row stride of 0 is the U plane's, in the C API as in YuvImageView)
      yuv = i420(image.pixels, image.row_stride, image.chroma, image.chroma_row_stride, image.chroma_v,
                 image.chroma_v_row_stride, w, h);
      if (image.format == MOBILEONE_PIXEL_FORMAT_YUV_420_888) {
        if (image.chroma_pixel_stride != 1 && image.chroma_pixel_stride != 2)
          fail(MOBILEONE_ERROR_INVALID_ARGUMENT, "chroma_pixel_stride " + std::to_string(image.chroma_pixel_stride) +
                                                     " is not 1 or 2 (YUV_420_888 needs its U and V planes' pixel stride)");
        yuv.chroma_pixel_stride = image.chroma_pixel_stride;
      }
  }
  switch (image.color_space) {
    case MOBILEONE_YUV_BT601_FULL_RANGE: yuv.matrix = YuvMatrix::bt601; yuv.range = YuvRange::full; break;
    case MOBILEONE_YUV_BT601_VIDEO_RANGE: yuv.matrix = YuvMatrix::bt601; yuv.range = YuvRange::video; break;
    case MOBILEONE_YUV_BT709_FULL_RANGE: yuv.matrix = YuvMatrix::bt709; yuv.range = YuvRange::full; break;
    case MOBILEONE_YUV_BT709_VIDEO_RANGE: yuv.matrix = YuvMatrix::bt709; yuv.range = YuvRange::video; break;
    default:
      fail(MOBILEONE_ERROR_INVALID_ARGUMENT,
           "color space " + std::to_string(std::int32_t(image.color_space)) + " is not a mobileone_yuv_color_space");
  }
  validate_yuv_image(yuv);
  require_span("Y plane (pixels_size)", image.pixels_size, std::size_t(yuv.height), std::size_t(yuv.width), luma_stride_of(yuv));
  const std::size_t rows = std::size_t(chroma_rows(yuv));
  if (image.format == MOBILEONE_PIXEL_FORMAT_NV12 || image.format == MOBILEONE_PIXEL_FORMAT_NV21) {
    require_span("chroma plane (chroma_size)", image.chroma_size, rows, chroma_row_bytes(yuv), u_stride_of(yuv));
  } else {
    require_span("U plane (chroma_size)", image.chroma_size, rows, chroma_row_span(yuv), u_stride_of(yuv));
    require_span("V plane (chroma_v_size)", image.chroma_v_size, rows, chroma_row_span(yuv), v_stride_of(yuv));
  }
  return yuv;
}

inline Orientation orientation_of(const mobileone_image& image) {
  const std::int32_t r = image.rotation;
  if (r != 0 && r != 90 && r != 180 && r != 270)
    fail(MOBILEONE_ERROR_INVALID_ARGUMENT, "rotation " + std::to_string(r) + " is not 0, 90, 180 or 270 (degrees clockwise)");
  if (image.mirror != 0 && image.mirror != 1)
    fail(MOBILEONE_ERROR_INVALID_ARGUMENT, "mirror " + std::to_string(image.mirror) + " is not 0 or 1");
  return {r, image.mirror == 1};
}

inline Region to_region(const mobileone_rect& rect) { return {rect.x, rect.y, rect.width, rect.height}; }

}  // namespace mobileone::capi

struct mobileone_model {
  std::shared_ptr<const mobileone::capi::LoadedModel> loaded;
};

struct mobileone_context {
  std::shared_ptr<const mobileone::capi::LoadedModel> loaded;  // keeps the model alive
  mobileone::Context context;
  bool has_results = false;
  // Per stage (0..num_stages), the floats mobileone_context_feature_map hands out for a stage held in uint8.
  // Filled by that const getter: a context is used by one thread at a time, so this is no data race.
  mutable std::vector<std::vector<float>> dequantized_stages;
};

namespace mobileone::capi {

inline mobileone_model* new_model_handle(detail::AlignedBuffer<unsigned char> bytes, Model model) {
  return new mobileone_model{std::make_shared<const LoadedModel>(std::move(bytes), std::move(model))};
}

// Loads the caller's image (packed or YUV, read in place) into the context's input, turned upright and cut
// to the region. Everything is checked before a pixel is read.
inline void load_input(mobileone_context& context, const mobileone_image& image, const mobileone_rect* rect) {
  const Orientation orientation = orientation_of(image);
  const std::optional<Region> region = rect ? std::optional<Region>(to_region(*rect)) : std::nullopt;
  PixelFormat packed = PixelFormat::rgb8;
  if (const int bpp = pixel_format_bytes(image.format, packed)) {
    const ImageView view{image.pixels, image.width, image.height, image.row_stride, packed};
    validate_image(view);
    require_span("image (pixels_size)", image.pixels_size, std::size_t(view.height), std::size_t(view.width) * std::size_t(bpp),
                 row_stride_of(view));
    context.context.set_input(view, orientation, region);
    return;
  }
  if (!is_yuv(image.format))
    fail(MOBILEONE_ERROR_INVALID_ARGUMENT,
         "pixel format " + std::to_string(std::int32_t(image.format)) + " is not a mobileone_pixel_format");
  context.context.set_input(yuv_view(image), orientation, region);
}

inline const mobileone_context& with_results(const mobileone_context* context) {
  const mobileone_context& c = required(context, "context");
  if (!c.has_results) fail(MOBILEONE_ERROR_NO_RESULTS, "no results: run the context first (a failed run clears them)");
  return c;
}

// The C enumerators are the registry's (isa.hpp), value for value.
static_assert(int(MOBILEONE_ISA_AUTO) == int(Isa::automatic));
#define MOBILEONE_CAPI_ISA_VALUE(id, c_id, test) static_assert(int(MOBILEONE_ISA_##c_id) == int(Isa::id));
MOBILEONE_FOR_EACH_ISA(MOBILEONE_CAPI_ISA_VALUE)
#undef MOBILEONE_CAPI_ISA_VALUE
static_assert(int(MOBILEONE_PRECISION_AUTO) == int(Precision::automatic));
#define MOBILEONE_CAPI_PRECISION_VALUE(id, c_id) static_assert(int(MOBILEONE_PRECISION_##c_id) == int(Precision::id));
MOBILEONE_FOR_EACH_PRECISION(MOBILEONE_CAPI_PRECISION_VALUE)
#undef MOBILEONE_CAPI_PRECISION_VALUE
static_assert(int(MOBILEONE_CORES_BIG) == int(CorePolicy::big) && int(MOBILEONE_CORES_ALL) == int(CorePolicy::all) &&
              int(MOBILEONE_CORES_LITTLE) == int(CorePolicy::little) && std::size(kAllCorePolicies) == 3);

// A C enumerator as the registry's enum, whose values are automatic (0) and then `entries` (1..Count):
// false for a value that is none of them.
template <class Engine, std::size_t Count>
bool to_engine(std::int32_t value, const Engine (&entries)[Count], Engine& engine) {
  if (value < 0 || std::size_t(value) > std::size(entries)) return false;
  engine = Engine(value);
  return true;
}

// The precision a context on `model` would run in; int8 on a float32 model is the caller's mistake.
inline Precision resolved_precision(std::int32_t requested, const Model& model) {
  Precision precision = Precision::automatic;
  if (!to_engine(requested, kAllPrecisions, precision))
    fail(MOBILEONE_ERROR_INVALID_ARGUMENT, "precision " + std::to_string(requested) + " is not a mobileone_precision");
  try {
    return detail::resolve_precision(precision, model);
  } catch (const Error& e) {
    fail(MOBILEONE_ERROR_INVALID_ARGUMENT, e.what());
  }
}

inline FeatureMap stage_output(const mobileone_context& context, std::int32_t stage) {
  const int stages = context.loaded->model.num_stages();
  if (stage < 0 || stage > stages)
    fail(MOBILEONE_ERROR_INVALID_ARGUMENT,
         "stage " + std::to_string(stage) + " does not exist (the model has stages 0.." + std::to_string(stages) + ")");
  return context.context.feature_map(stage);
}

inline std::size_t value_count(const FeatureMap& f) {
  return std::size_t(f.height) * std::size_t(f.width) * std::size_t(f.channels);
}

// The stage's values as floats into `out`: a uint8 stage dequantized, to exactly what the next layer reads.
inline void copy_values(const FeatureMap& f, float* out) {
  const std::size_t count = value_count(f);
  if (f.data != nullptr) {
    std::memcpy(out, f.data, count * sizeof(float));
    return;
  }
  for (std::size_t i = 0; i < count; ++i) out[i] = f.at(i);
}

// The stage's floats in place: the engine's own, or a uint8 stage's dequantized into the context.
inline const float* stage_values(const mobileone_context& context, std::int32_t stage, const FeatureMap& f) {
  if (f.data != nullptr) return f.data;
  std::vector<float>& values = context.dequantized_stages[std::size_t(stage)];
  values.resize(value_count(f));
  copy_values(f, values.data());
  return values.data();
}

}  // namespace mobileone::capi

extern "C" {

MOBILEONE_API const char* mobileone_version(void) {
#define MOBILEONE_STRINGIFY_(x) #x
#define MOBILEONE_STRINGIFY(x) MOBILEONE_STRINGIFY_(x)
  return MOBILEONE_STRINGIFY(MOBILEONE_VERSION_MAJOR) "." MOBILEONE_STRINGIFY(MOBILEONE_VERSION_MINOR) "." MOBILEONE_STRINGIFY(
      MOBILEONE_VERSION_PATCH);
#undef MOBILEONE_STRINGIFY
#undef MOBILEONE_STRINGIFY_
}

MOBILEONE_API const char* mobileone_status_name(mobileone_status status) {
  switch (status) {
    case MOBILEONE_OK: return "MOBILEONE_OK";
    case MOBILEONE_ERROR_INVALID_ARGUMENT: return "MOBILEONE_ERROR_INVALID_ARGUMENT";
    case MOBILEONE_ERROR_BUFFER_TOO_SMALL: return "MOBILEONE_ERROR_BUFFER_TOO_SMALL";
    case MOBILEONE_ERROR_IO: return "MOBILEONE_ERROR_IO";
    case MOBILEONE_ERROR_INVALID_MODEL: return "MOBILEONE_ERROR_INVALID_MODEL";
    case MOBILEONE_ERROR_UNSUPPORTED: return "MOBILEONE_ERROR_UNSUPPORTED";
    case MOBILEONE_ERROR_NO_RESULTS: return "MOBILEONE_ERROR_NO_RESULTS";
    case MOBILEONE_ERROR_OUT_OF_MEMORY: return "MOBILEONE_ERROR_OUT_OF_MEMORY";
    case MOBILEONE_ERROR_INTERNAL: return "MOBILEONE_ERROR_INTERNAL";
  }
  return "unknown status";
}

MOBILEONE_API const char* mobileone_last_error_message(void) { return mobileone::capi::last_error_buffer(); }

MOBILEONE_API int mobileone_isa_supported(mobileone_isa isa) {
  mobileone::Isa engine = mobileone::Isa::automatic;
  return mobileone::capi::to_engine(isa, mobileone::kAllIsas, engine) && mobileone::isa_supported(engine) ? 1 : 0;
}

MOBILEONE_API mobileone_status mobileone_model_create_from_file(const char* path, mobileone_model** model) {
  using namespace mobileone::capi;
  return guarded(MOBILEONE_ERROR_INVALID_MODEL, [&] {
    require(path, "path");
    mobileone_model*& out = required(model, "model");
    out = nullptr;
    mobileone::detail::AlignedBuffer<unsigned char> bytes = read_model_file(path);
    try {
      mobileone::Model parsed = mobileone::Model::from_external_buffer(bytes.data(), bytes.size());
      out = new_model_handle(std::move(bytes), std::move(parsed));
    } catch (const mobileone::Error& e) {  // name the file
      fail(MOBILEONE_ERROR_INVALID_MODEL, std::string(path) + ": " + e.what());
    }
  });
}

MOBILEONE_API mobileone_status mobileone_model_create_from_buffer(const void* data, size_t size, mobileone_model** model) {
  using namespace mobileone::capi;
  return guarded(MOBILEONE_ERROR_INVALID_MODEL, [&] {
    require(data, "data");
    mobileone_model*& out = required(model, "model");
    out = nullptr;
    out = new_model_handle({}, mobileone::Model::from_buffer(data, size));
  });
}

MOBILEONE_API mobileone_status mobileone_model_create_from_external_buffer(const void* data, size_t size,
                                                                           mobileone_model** model) {
  using namespace mobileone::capi;
  return guarded(MOBILEONE_ERROR_INVALID_MODEL, [&] {
    require(data, "data");
    mobileone_model*& out = required(model, "model");
    out = nullptr;
    if (reinterpret_cast<std::uintptr_t>(data) % alignof(float) != 0)
      fail(MOBILEONE_ERROR_INVALID_ARGUMENT,
           "model buffer is not 4-byte aligned: use mobileone_model_create_from_buffer, which copies");
    out = new_model_handle({}, mobileone::Model::from_external_buffer(data, size));
  });
}

MOBILEONE_API void mobileone_model_destroy(mobileone_model* model) { delete model; }

MOBILEONE_API const char* mobileone_model_name(const mobileone_model* model) {
  return model ? model->loaded->name.c_str() : "";
}

MOBILEONE_API int32_t mobileone_model_class_count(const mobileone_model* model) {
  return model ? int32_t(model->loaded->labels.size()) : 0;
}

MOBILEONE_API const char* mobileone_model_label(const mobileone_model* model, int32_t class_index) {
  if (model == nullptr || class_index < 0 || std::size_t(class_index) >= model->loaded->labels.size()) return nullptr;
  return model->loaded->labels[std::size_t(class_index)].c_str();
}

MOBILEONE_API int32_t mobileone_model_stage_count(const mobileone_model* model) {
  return model ? int32_t(model->loaded->model.num_stages()) : 0;
}

MOBILEONE_API mobileone_status mobileone_context_create(const mobileone_model* model,
                                                        const mobileone_context_options* options,
                                                        mobileone_context** context) {
  using namespace mobileone::capi;
  return guarded(MOBILEONE_ERROR_UNSUPPORTED, [&] {
    const mobileone_model& m = required(model, "model");
    mobileone_context*& out = required(context, "context");
    out = nullptr;
    const mobileone_context_options chosen = options ? *options : mobileone_context_options{};
    if (chosen.threads < 0 || chosen.threads > MOBILEONE_MAX_THREADS)
      fail(MOBILEONE_ERROR_INVALID_ARGUMENT, "threads is " + std::to_string(chosen.threads) + ", expected 0 (default) .. " +
                                                 std::to_string(MOBILEONE_MAX_THREADS));
    mobileone::Isa isa = mobileone::Isa::automatic;
    if (!to_engine(chosen.isa, mobileone::kAllIsas, isa))
      fail(MOBILEONE_ERROR_INVALID_ARGUMENT, "ISA " + std::to_string(std::int32_t(chosen.isa)) + " is not a mobileone_isa");
    if (!mobileone::isa_supported(isa))
      fail(MOBILEONE_ERROR_UNSUPPORTED,
           std::string("ISA '") + mobileone::isa_name(isa) + "' is not available on this CPU or in this build");
    const mobileone::Precision precision = resolved_precision(chosen.precision, m.loaded->model);
    try {
      mobileone::detail::require_kernel_set(mobileone::resolve_isa(isa), precision);
    } catch (const mobileone::Error& e) {
      fail(MOBILEONE_ERROR_UNSUPPORTED, e.what());
    }
    const std::int32_t cores = std::int32_t(chosen.cores);
    if (cores < MOBILEONE_CORES_BIG || cores > MOBILEONE_CORES_LITTLE)
      fail(MOBILEONE_ERROR_INVALID_ARGUMENT, "cores " + std::to_string(cores) + " is not a mobileone_core_policy");
    mobileone::Options engine_options{chosen.threads, isa, precision};
    engine_options.cores = mobileone::CorePolicy(cores);
    const std::size_t stages = std::size_t(m.loaded->model.num_stages()) + 1;
    out = new mobileone_context{m.loaded, mobileone::Context(m.loaded->model, engine_options),
                                false, std::vector<std::vector<float>>(stages)};
  });
}

MOBILEONE_API void mobileone_context_destroy(mobileone_context* context) { delete context; }

MOBILEONE_API mobileone_precision mobileone_context_precision(const mobileone_context* context) {
  return context ? mobileone_precision(context->context.precision()) : MOBILEONE_PRECISION_AUTO;
}

MOBILEONE_API mobileone_status mobileone_context_run(mobileone_context* context, const mobileone_image* image,
                                                     const mobileone_rect* region) {
  using namespace mobileone::capi;
  return guarded(MOBILEONE_ERROR_INVALID_ARGUMENT, [&] {
    mobileone_context& c = required(context, "context");
    c.has_results = false;
    load_input(c, required(image, "image"), region);
    c.context.run();
    c.has_results = true;
  });
}

MOBILEONE_API mobileone_status mobileone_context_top_k(const mobileone_context* context, int32_t k,
                                                       mobileone_prediction* predictions, int32_t* count) {
  using namespace mobileone::capi;
  return guarded(MOBILEONE_ERROR_INTERNAL, [&] {
    const mobileone_context& c = with_results(context);
    require(predictions, "predictions");
    int32_t& written = required(count, "count");
    if (k < 1) fail(MOBILEONE_ERROR_INVALID_ARGUMENT, "k is " + std::to_string(k) + ", expected at least 1");
    const std::vector<mobileone::Prediction> top = c.context.top_k(k);
    for (std::size_t i = 0; i < top.size(); ++i)
      predictions[i] = {top[i].index, top[i].probability, c.loaded->labels[std::size_t(top[i].index)].c_str()};
    written = int32_t(top.size());
  });
}

MOBILEONE_API mobileone_status mobileone_context_classify(mobileone_context* context, const mobileone_image* image,
                                                          const mobileone_rect* region, int32_t k,
                                                          mobileone_prediction* predictions, int32_t* count) {
  const mobileone_status status = mobileone_context_run(context, image, region);
  return status == MOBILEONE_OK ? mobileone_context_top_k(context, k, predictions, count) : status;
}

MOBILEONE_API mobileone_status mobileone_context_logits(const mobileone_context* context, const float** logits,
                                                        int32_t* count) {
  using namespace mobileone::capi;
  return guarded(MOBILEONE_ERROR_INTERNAL, [&] {
    const mobileone_context& c = with_results(context);
    const float*& data = required(logits, "logits");
    int32_t& size = required(count, "count");
    data = c.context.logits().data();
    size = int32_t(c.context.logits().size());
  });
}

MOBILEONE_API mobileone_status mobileone_context_copy_logits(const mobileone_context* context, float* buffer,
                                                             size_t capacity, size_t* count) {
  using namespace mobileone::capi;
  return guarded(MOBILEONE_ERROR_INTERNAL, [&] {
    const mobileone_context& c = with_results(context);
    size_t& size = required(count, "count");
    const std::vector<float>& logits = c.context.logits();
    size = logits.size();
    if (capacity < logits.size())
      fail(MOBILEONE_ERROR_BUFFER_TOO_SMALL, "the logits are " + std::to_string(logits.size()) +
                                                 " floats, the buffer holds " + std::to_string(capacity));
    require(buffer, "buffer");
    std::memcpy(buffer, logits.data(), logits.size() * sizeof(float));
  });
}

MOBILEONE_API mobileone_status mobileone_context_feature_map(const mobileone_context* context, int32_t stage,
                                                             mobileone_feature_map* map) {
  using namespace mobileone::capi;
  return guarded(MOBILEONE_ERROR_INTERNAL, [&] {
    const mobileone_context& c = with_results(context);
    mobileone_feature_map& out = required(map, "map");
    const mobileone::FeatureMap f = stage_output(c, stage);
    out = {stage_values(c, stage, f), f.height, f.width, f.channels};
  });
}

MOBILEONE_API mobileone_status mobileone_context_copy_feature_map(const mobileone_context* context, int32_t stage,
                                                                  float* buffer, size_t capacity,
                                                                  mobileone_feature_map* map) {
  using namespace mobileone::capi;
  return guarded(MOBILEONE_ERROR_INTERNAL, [&] {
    const mobileone_context& c = with_results(context);
    mobileone_feature_map& out = required(map, "map");
    const mobileone::FeatureMap f = stage_output(c, stage);
    out = {buffer, f.height, f.width, f.channels};
    const std::size_t floats = value_count(f);
    if (capacity < floats)
      fail(MOBILEONE_ERROR_BUFFER_TOO_SMALL, "stage " + std::to_string(stage) + " is " + std::to_string(f.height) + "x" +
                                                 std::to_string(f.width) + "x" + std::to_string(f.channels) + " = " +
                                                 std::to_string(floats) + " floats, the buffer holds " +
                                                 std::to_string(capacity));
    if (floats == 0) return;  // a stage without layers
    require(buffer, "buffer");
    copy_values(f, buffer);
  });
}

MOBILEONE_API mobileone_status mobileone_context_verify(const mobileone_context* context, mobileone_verify_stage* stages,
                                                        size_t capacity, size_t* count, int32_t* passed) {
  using namespace mobileone::capi;
  return guarded(MOBILEONE_ERROR_INTERNAL, [&] {
    const mobileone_context& c = required(context, "context");
    size_t& rows = required(count, "count");
    int32_t& all_passed = required(passed, "passed");
    const mobileone::Model& model = c.loaded->model;
    if (!mobileone::has_golden_data(model))
      fail(MOBILEONE_ERROR_UNSUPPORTED, "model '" + c.loaded->name + "' has no golden data (format version " +
                                            std::to_string(mobileone::detail::ModelAccess::data(model).blob.format_version) +
                                            "): verification is unavailable; convert it again with weights/convert.py");
    rows = std::size_t(model.num_stages()) + 2;
    if (capacity < rows)
      fail(MOBILEONE_ERROR_BUFFER_TOO_SMALL, "the report has " + std::to_string(rows) + " rows, the buffer holds " +
                                                 std::to_string(capacity));
    require(stages, "stages");
    const mobileone::Verification v = mobileone::verify(c.context);
    for (std::size_t i = 0; i < v.stages.size(); ++i)
      stages[i] = {v.stages[i].stage, float(v.stages[i].relative_error), float(v.stages[i].tolerance),
                   v.stages[i].passed() ? 1 : 0};
    all_passed = v.passed() ? 1 : 0;
  });
}

}  // extern "C"
