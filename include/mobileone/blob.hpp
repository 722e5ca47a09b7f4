// Reader and validator of the `.mone` weight blob (weights/FORMAT.md, versions 1 to 3).
// Nothing in a blob is trusted: every size, offset, index and shape is checked, with overflow-safe
// arithmetic, before anything is used, and a failure names the check and the place.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "detail/crc32.hpp"
#include "error.hpp"

namespace mobileone {

#if defined(__BYTE_ORDER__) && (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
#error "mobileone reads little-endian blobs in place and supports little-endian CPUs only"
#endif

enum class LayerKind : std::uint32_t {
  conv3x3 = 1,         // dense 3x3 convolution: the stem
  dwconv3x3 = 2,       // depthwise 3x3
  pwconv1x1 = 3,       // pointwise 1x1
  squeeze_excite = 4,  // in place on the preceding conv's output
  avgpool = 5,         // global average pool
  linear = 6,
};

inline const char* layer_kind_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv3x3: return "conv3x3";
    case LayerKind::dwconv3x3: return "dw3x3";
    case LayerKind::pwconv1x1: return "pw1x1";
    case LayerKind::squeeze_excite: return "se";
    case LayerKind::avgpool: return "avgpool";
    case LayerKind::linear: return "linear";
  }
  return "unknown";
}

// Element types of blob tensors (the dtype field; 2 and 3 from format version 2).
enum class DType : std::uint32_t { float32 = 1, int8 = 2, int32 = 3 };

inline std::size_t dtype_size(DType t) { return t == DType::int8 ? 1 : 4; }

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::float32: return "float32";
    case DType::int8: return "int8";
    case DType::int32: return "int32";
  }
  return "unknown";
}

// A layer's arithmetic (the precision word, format version 2).
enum class LayerPrecision : std::uint32_t { fp32 = 0, int8 = 1 };

// A tensor inside the blob: a view, valid as long as the blob's bytes are.
struct TensorView {
  std::string_view name;
  DType dtype = DType::float32;
  const void* bytes = nullptr;  // the elements; null for an absent tensor
  const float* data = nullptr;  // == bytes for float32 tensors, else null
  std::uint32_t rank = 0;
  std::array<std::uint32_t, 4> dims{};
  std::size_t element_count() const {
    std::size_t n = 1;
    for (std::uint32_t i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }
};

struct LayerDesc {
  LayerKind kind{};
  int in_channels = 0;
  int out_channels = 0;
  int stride = 1;
  bool relu = false;
  int stage = 0;
  int block = 0;
  int hidden = 0;  // squeeze-excite reduced width
  LayerPrecision precision = LayerPrecision::fp32;
  float input_scale = 0.f;  // int8 layers: x = input_scale * q
  std::string_view name;
  std::array<TensorView, 4> tensors{};
};

struct PreprocessSpec {
  int input_channels = 3;
  int input_height = 224;
  int input_width = 224;
  int resize_shorter = 256;
  float crop_fraction = 0.875f;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};

// The float64 forward's outputs on the golden input in one arithmetic: float32 NCHW with batch 1.
struct GoldenOutputs {
  std::vector<TensorView> stages;  // stage 0 (stem) .. num_stages: [1, C, h, w] as the graph gives them
  TensorView logits;               // [1, class_count]
};

// The golden self-check (format version 3), shapes validated against the graph. Absent (no input) in
// versions 1 and 2.
struct GoldenView {
  TensorView input;     // [1, 3, height, width]
  GoldenOutputs fp32;   // every layer in float arithmetic (int8 layers on their dequantized weights)
  GoldenOutputs int8;   // blobs with int8 layers: those on uint8 inputs, as version 2 defines (the stem,
                        // never int8, is fp32's stem); else empty
  bool available() const { return input.data != nullptr; }
  int height() const { return int(input.dims[2]); }
  int width() const { return int(input.dims[3]); }
};

// The parsed blob: all views into the caller's bytes.
struct BlobView {
  std::uint32_t format_version = 0;
  std::string_view name;
  PreprocessSpec preprocess;
  std::vector<LayerDesc> layers;
  std::vector<std::string_view> labels;
  int num_stages = 0;  // backbone stages, stem excluded
  GoldenView golden;
};

namespace blob_format {
inline constexpr unsigned char kMagic[8] = {0x89, 'M', 'O', 'N', 'E', '\r', '\n', 0x1A};
inline constexpr std::uint32_t kVersion = 3;  // the newest this reader knows; 1 and 2 are read too
inline constexpr std::uint32_t kGoldenVersion = 3;  // the first with golden self-check data
inline constexpr std::size_t kHeaderSize = 160;
inline constexpr std::size_t kLayerRecordSize = 64;
inline constexpr std::size_t kTensorRecordSize = 48;
inline constexpr std::size_t kTensorAlignment = 64;
inline constexpr std::uint32_t kNoTensor = 0xFFFFFFFFu;
inline constexpr std::uint32_t kMaxLayers = 4096;
inline constexpr std::uint32_t kMaxTensors = 16384;
inline constexpr std::uint32_t kMaxStrings = 1000000;
inline constexpr std::uint32_t kMaxChannels = 1u << 16;
inline constexpr std::uint32_t kMaxInputSide = 1u << 14;
}  // namespace blob_format

namespace detail {

class BlobReader {
 public:
  BlobReader(const unsigned char* bytes, std::size_t size) : bytes_(bytes), size_(size) {}

  BlobView parse() {
    BlobView view;
    read_header(view);
    read_strings();
    read_tensors();
    read_layers(view);
    read_labels_and_name(view);
    validate_graph(view);
    if (version_ >= blob_format::kGoldenVersion) read_golden(view);
    return view;
  }

 private:
  [[noreturn]] static void fail(const std::string& what) { throw Error("invalid model blob: " + what); }

  template <class T>
  T load(std::size_t offset) const {
    T value;
    std::memcpy(&value, bytes_ + offset, sizeof(T));
    return value;
  }
  std::uint32_t u32(std::size_t offset) const { return load<std::uint32_t>(offset); }
  std::uint64_t u64(std::size_t offset) const { return load<std::uint64_t>(offset); }
  float f32(std::size_t offset) const { return load<float>(offset); }

  // [offset, offset + count * record) inside the file, without overflow.
  void require_range(std::uint64_t offset, std::uint64_t count, std::uint64_t record, const char* what) const {
    if (record != 0 && count > (UINT64_MAX / record)) fail(std::string(what) + " size overflows");
    const std::uint64_t bytes = count * record;
    if (offset > size_ || bytes > size_ - offset)
      fail(std::string(what) + " at offset " + std::to_string(offset) + " with " + std::to_string(bytes) +
           " bytes runs past the end of the file (" + std::to_string(size_) + " bytes)");
  }

  void read_header(BlobView& view) {
    using namespace blob_format;
    if (size_ < kHeaderSize)
      fail("file is " + std::to_string(size_) + " bytes, smaller than the " + std::to_string(kHeaderSize) +
           "-byte header (truncated?)");
    if (std::memcmp(bytes_, kMagic, sizeof(kMagic)) != 0) fail("bad magic at offset 0: not a .mone file");
    view.format_version = u32(8);
    if (view.format_version < 1 || view.format_version > kVersion)
      fail("format version " + std::to_string(view.format_version) + " is not supported (this reader knows 1.." +
           std::to_string(kVersion) + ")");
    version_ = view.format_version;
    if (u32(12) != kHeaderSize) fail("header_size is " + std::to_string(u32(12)) + ", expected 160");
    const std::uint64_t file_size = u64(16);
    if (file_size != size_)
      fail("header says the file is " + std::to_string(file_size) + " bytes but it is " + std::to_string(size_) +
           " (truncated or padded)");
    const std::uint32_t stored_crc = u32(24);
    const std::uint32_t actual_crc = crc32(bytes_ + 32, size_ - 32);
    if (stored_crc != actual_crc)
      fail("checksum mismatch (stored " + hex(stored_crc) + ", computed " + hex(actual_crc) + "): the file is corrupted");
    if (u32(28) != 0) fail("unknown flags " + hex(u32(28)));

    layer_count_ = u32(32);
    tensor_count_ = u32(36);
    class_count_ = u32(40);
    string_count_ = u32(44);
    if (layer_count_ == 0 || layer_count_ > kMaxLayers) fail("layer_count " + std::to_string(layer_count_) + " out of range");
    if (tensor_count_ > kMaxTensors) fail("tensor_count " + std::to_string(tensor_count_) + " out of range");
    if (string_count_ > kMaxStrings) fail("string_count " + std::to_string(string_count_) + " out of range");

    layer_table_ = u64(48);
    tensor_table_ = u64(56);
    string_table_ = u64(64);
    string_table_size_ = u64(72);
    data_offset_ = u64(80);
    data_size_ = u64(88);
    require_range(layer_table_, layer_count_, kLayerRecordSize, "layer table");
    require_range(tensor_table_, tensor_count_, kTensorRecordSize, "tensor table");
    require_range(string_table_, string_table_size_, 1, "string table");
    require_range(data_offset_, data_size_, 1, "data section");
    if (layer_table_ < kHeaderSize || tensor_table_ < layer_table_ + std::uint64_t(layer_count_) * kLayerRecordSize ||
        string_table_ < tensor_table_ + std::uint64_t(tensor_count_) * kTensorRecordSize ||
        data_offset_ < string_table_ + string_table_size_)
      fail("sections overlap or are out of order");
    if (data_offset_ % kTensorAlignment != 0) fail("data_offset " + std::to_string(data_offset_) + " is not 64-byte aligned");

    PreprocessSpec& p = view.preprocess;
    const std::uint32_t channels = u32(96), height = u32(100), width = u32(104), resize = u32(108);
    if (channels != 3) fail("input_channels is " + std::to_string(channels) + ", expected 3");
    if (height == 0 || width == 0 || height > kMaxInputSide || width > kMaxInputSide)
      fail("input size " + std::to_string(height) + "x" + std::to_string(width) + " out of range");
    if (resize == 0 || resize > kMaxInputSide) fail("resize_shorter " + std::to_string(resize) + " out of range");
    p.input_channels = int(channels);
    p.input_height = int(height);
    p.input_width = int(width);
    p.resize_shorter = int(resize);
    p.crop_fraction = f32(112);
    if (!(p.crop_fraction > 0.f && p.crop_fraction <= 1.f)) fail("crop_fraction out of (0, 1]");
    if (u32(116) != 0) fail("color_order " + std::to_string(u32(116)) + " unknown (only 0 = RGB)");
    if (u32(120) != 1) fail("interpolation " + std::to_string(u32(120)) + " unknown (only 1 = antialiased bilinear)");
    for (int c = 0; c < 3; ++c) {
      p.mean[c] = f32(124 + 4 * c);
      p.std[c] = f32(136 + 4 * c);
      if (!std::isfinite(p.mean[c]) || !std::isfinite(p.std[c]) || !(p.std[c] > 0.f))
        fail("preprocessing mean/std of channel " + std::to_string(c) + " is not finite or std <= 0");
    }
    name_string_ = u32(148);
    labels_first_ = u32(152);
    golden_first_ = u32(156);  // version 3; reserved (and ignored) before
  }

  void read_strings() {
    const std::uint64_t table_bytes = std::uint64_t(string_count_) * 8;
    if (table_bytes > string_table_size_) fail("string table too small for its " + std::to_string(string_count_) + " entries");
    strings_.resize(string_count_);
    for (std::uint32_t i = 0; i < string_count_; ++i) {
      const std::uint64_t offset = u32(string_table_ + 8 * i), length = u32(string_table_ + 8 * i + 4);
      if (offset < table_bytes || offset > string_table_size_ || length > string_table_size_ - offset)
        fail("string " + std::to_string(i) + " lies outside the string table");
      strings_[i] = std::string_view(reinterpret_cast<const char*>(bytes_ + string_table_ + offset), length);
    }
  }

  std::string_view string_at(std::uint32_t index, const std::string& where) const {
    if (index >= strings_.size()) fail(where + " refers to string " + std::to_string(index) + " of " + std::to_string(strings_.size()));
    return strings_[index];
  }

  void read_tensors() {
    using namespace blob_format;
    tensors_.resize(tensor_count_);
    for (std::uint32_t i = 0; i < tensor_count_; ++i) {
      const std::size_t rec = tensor_table_ + std::size_t(i) * kTensorRecordSize;
      const std::string where = "tensor " + std::to_string(i);
      TensorView& t = tensors_[i];
      t.name = string_at(u32(rec), where);
      const std::string named = where + " '" + std::string(t.name) + "'";
      const std::uint32_t dtype = u32(rec + 4);
      if (dtype != 1 && (version_ < 2 || dtype > 3))
        fail(named + ": dtype " + std::to_string(dtype) +
             (version_ < 2 ? " is not float32 (1)" : " is not float32 (1), int8 (2) or int32 (3)"));
      t.dtype = DType(dtype);
      t.rank = u32(rec + 8);
      if (t.rank < 1 || t.rank > 4) fail(named + ": rank " + std::to_string(t.rank) + " not in 1..4");
      std::uint64_t elements = 1;
      for (std::uint32_t d = 0; d < 4; ++d) {
        t.dims[d] = u32(rec + 16 + 4 * d);
        if (d < t.rank) {
          if (t.dims[d] == 0 || t.dims[d] > kMaxChannels) fail(named + ": dimension " + std::to_string(d) + " out of range");
          elements *= t.dims[d];  // <= 2^40 * 2^16 after the check below: no overflow
          if (elements > (std::uint64_t(1) << 40)) fail(named + ": too many elements");
        }
      }
      const std::uint64_t offset = u64(rec + 32), byte_size = u64(rec + 40);
      const std::uint64_t expected = elements * dtype_size(t.dtype);
      if (byte_size != expected)
        fail(named + ": byte_size " + std::to_string(byte_size) + " does not match its shape and dtype (" +
             std::to_string(expected) + ")");
      if (offset % kTensorAlignment != 0) fail(named + ": offset " + std::to_string(offset) + " is not 64-byte aligned");
      if (offset < data_offset_ || offset > data_offset_ + data_size_ || byte_size > data_offset_ + data_size_ - offset)
        fail(named + ": data at offset " + std::to_string(offset) + " (+" + std::to_string(byte_size) +
             " bytes) lies outside the data section");
      t.bytes = bytes_ + offset;
      if (t.dtype == DType::int8) {
        // -128 has no positive counterpart: symmetric weights stay in [-127, 127] (the kernels rely on it).
        const auto* q = static_cast<const std::int8_t*>(t.bytes);
        for (std::uint64_t e = 0; e < elements; ++e)
          if (q[e] == -128) fail(named + ": element " + std::to_string(e) + " is -128 (int8 weights are in [-127, 127])");
        continue;
      }
      if (t.dtype == DType::int32) continue;
      t.data = reinterpret_cast<const float*>(bytes_ + offset);
      // A NaN or infinite weight would only surface as NaN logits: refuse it here, with its place. (The
      // exponent bits, so that the check holds under -ffast-math too.)
      const auto non_finite = [&](std::uint64_t e) {
        std::uint32_t bits;
        std::memcpy(&bits, bytes_ + offset + 4 * e, 4);
        return (bits & 0x7f800000u) == 0x7f800000u;
      };
      bool any = false;  // a branch-free pass first (it vectorizes), the position only on failure
      for (std::uint64_t e = 0; e < elements; ++e) any |= non_finite(e);
      for (std::uint64_t e = 0; any && e < elements; ++e)
        if (non_finite(e))
          fail(named + ": element " + std::to_string(e) + " is " + (std::isnan(t.data[e]) ? "NaN" : "infinite"));
    }
  }

  void read_layers(BlobView& view) {
    using namespace blob_format;
    view.layers.resize(layer_count_);
    // Each tensor belongs to one layer slot (as both writers emit them): a tensor shared by many layers
    // would let a small file demand a packed copy per layer (4096 layers x one large tensor).
    std::vector<bool>& used = used_;
    used.assign(tensor_count_, false);
    for (std::uint32_t i = 0; i < layer_count_; ++i) {
      const std::size_t rec = layer_table_ + std::size_t(i) * kLayerRecordSize;
      LayerDesc& l = view.layers[i];
      const std::uint32_t kind = u32(rec);
      if (kind < 1 || kind > 6) fail("layer " + std::to_string(i) + ": unknown kind " + std::to_string(kind));
      l.kind = LayerKind(kind);
      const std::uint32_t in = u32(rec + 4), out = u32(rec + 8), stride = u32(rec + 12), act = u32(rec + 16);
      const std::uint32_t stage = u32(rec + 20), block = u32(rec + 24), hidden = u32(rec + 48);
      const std::uint32_t precision = u32(rec + 52), scale_bits = u32(rec + 56), reserved = u32(rec + 60);
      l.name = string_at(u32(rec + 28), "layer " + std::to_string(i));
      const std::string where = "layer " + std::to_string(i) + " '" + std::string(l.name) + "'";
      if (in == 0 || out == 0 || in > kMaxChannels || out > kMaxChannels) fail(where + ": channel count out of range");
      if (stride != 1 && stride != 2) fail(where + ": stride " + std::to_string(stride) + " (only 1 and 2 exist)");
      if (act > 1) fail(where + ": unknown activation " + std::to_string(act));
      if (stage > kMaxLayers || block > kMaxLayers || hidden > kMaxChannels) fail(where + ": stage/block/hidden out of range");
      l.in_channels = int(in);
      l.out_channels = int(out);
      l.stride = int(stride);
      l.relu = act == 1;
      l.stage = int(stage);
      l.block = int(block);
      l.hidden = int(hidden);
      if (reserved != 0 || (version_ < 2 && (precision != 0 || scale_bits != 0)))
        fail(where + ": reserved words 13..15 are not zero");
      if (precision > 1) fail(where + ": unknown precision " + std::to_string(precision) + " (0 float32, 1 int8)");
      l.precision = LayerPrecision(precision);
      std::memcpy(&l.input_scale, &scale_bits, sizeof l.input_scale);
      if (l.precision == LayerPrecision::fp32 && scale_bits != 0) fail(where + ": a float32 layer with an input_scale");
      if (l.precision == LayerPrecision::int8 && !(std::isfinite(l.input_scale) && l.input_scale > 0.f))
        fail(where + ": input_scale " + std::to_string(l.input_scale) + " is not finite and positive");
      for (int t = 0; t < 4; ++t) {
        const std::uint32_t index = u32(rec + 32 + 4 * t);
        if (index == kNoTensor) continue;
        if (index >= tensor_count_) fail(where + ": tensor " + std::to_string(index) + " does not exist");
        if (used[index]) fail(where + ": tensor " + std::to_string(index) + " is already used by another layer slot");
        used[index] = true;
        l.tensors[t] = tensors_[index];
      }
      check_layer_shapes(l, where);
    }
  }

  static std::string shape_string(const TensorView& t) {
    if (!t.bytes) return "absent";
    std::string s = "[";
    for (std::uint32_t d = 0; d < t.rank; ++d) s += (d ? ", " : "") + std::to_string(t.dims[d]);
    return s + "]";
  }

  static void expect_tensor(const LayerDesc& l, int slot, std::initializer_list<int> shape, const std::string& where,
                            DType dtype = DType::float32) {
    const TensorView& t = l.tensors[slot];
    if (t.bytes && t.dtype != dtype)
      fail(where + ": tensor " + std::to_string(slot) + " '" + std::string(t.name) + "' is " + dtype_name(t.dtype) +
           ", expected " + dtype_name(dtype));
    bool ok = t.bytes && t.rank == shape.size();
    std::uint32_t d = 0;
    for (int extent : shape) ok = ok && t.dims[d++] == std::uint32_t(extent);
    if (!ok) {
      std::string expected = "[";
      d = 0;
      for (int extent : shape) expected += (d++ ? ", " : "") + std::to_string(extent);
      fail(where + ": tensor " + std::to_string(slot) + " '" + std::string(t.name) + "' has shape " + shape_string(t) +
           ", expected " + expected + "]");
    }
  }

  static void expect_no_tensor(const LayerDesc& l, int slot, const std::string& where) {
    if (l.tensors[slot].bytes) fail(where + ": unexpected tensor in slot " + std::to_string(slot));
  }

  static void check_layer_shapes(const LayerDesc& l, const std::string& where) {
    const int in = l.in_channels, out = l.out_channels;
    switch (l.kind) {
      case LayerKind::conv3x3:
        expect_tensor(l, 0, {out, in, 3, 3}, where);
        expect_tensor(l, 1, {out}, where);
        break;
      case LayerKind::dwconv3x3:
        if (in != out) fail(where + ": depthwise layer with " + std::to_string(in) + " in and " + std::to_string(out) + " out channels");
        expect_tensor(l, 0, {out, 1, 3, 3}, where);
        expect_tensor(l, 1, {out}, where);
        break;
      case LayerKind::pwconv1x1:
        if (l.stride != 1) fail(where + ": pointwise layer with stride " + std::to_string(l.stride));
        if (l.precision == LayerPrecision::int8) {
          check_int8_pointwise(l, where);
          break;
        }
        expect_tensor(l, 0, {out, in, 1, 1}, where);
        expect_tensor(l, 1, {out}, where);
        expect_no_tensor(l, 2, where);
        expect_no_tensor(l, 3, where);
        break;
      case LayerKind::squeeze_excite:
        if (in != out || l.hidden < 1) fail(where + ": squeeze-excite needs in == out and hidden >= 1");
        expect_tensor(l, 0, {l.hidden, in, 1, 1}, where);
        expect_tensor(l, 1, {l.hidden}, where);
        expect_tensor(l, 2, {in, l.hidden, 1, 1}, where);
        expect_tensor(l, 3, {in}, where);
        break;
      case LayerKind::avgpool:
        if (in != out) fail(where + ": average pool changes the channel count");
        for (int t = 0; t < 4; ++t) expect_no_tensor(l, t, where);
        break;
      case LayerKind::linear:
        expect_tensor(l, 0, {out, in}, where);
        expect_tensor(l, 1, {out}, where);
        break;
    }
    if (l.kind != LayerKind::conv3x3 && l.kind != LayerKind::dwconv3x3 && l.stride != 1)
      fail(where + ": stride " + std::to_string(l.stride) + " on a layer without a spatial kernel");
    if (l.precision == LayerPrecision::int8 && l.kind != LayerKind::dwconv3x3 && l.kind != LayerKind::pwconv1x1)
      fail(where + ": " + layer_kind_name(l.kind) + " layers have no int8 form");
  }

  // Weight [out, in, 1, 1] int8, bias and weight scale [out] float32, optional diagonal [out] int32 (square
  // layers); scales positive; no accumulator can overflow int32 on uint8 inputs.
  static void check_int8_pointwise(const LayerDesc& l, const std::string& where) {
    const int in = l.in_channels, out = l.out_channels;
    expect_tensor(l, 0, {out, in, 1, 1}, where, DType::int8);
    expect_tensor(l, 1, {out}, where);
    expect_tensor(l, 2, {out}, where);
    const bool diagonal = l.tensors[3].bytes != nullptr;
    if (diagonal) {
      if (in != out) fail(where + ": a diagonal (tensor 3) on a layer with " + std::to_string(in) + " in and " +
                          std::to_string(out) + " out channels");
      expect_tensor(l, 3, {out}, where, DType::int32);
    }
    const auto* w = static_cast<const std::int8_t*>(l.tensors[0].bytes);
    const auto* d = static_cast<const std::int32_t*>(l.tensors[3].bytes);
    for (int c = 0; c < out; ++c) {
      const float s = l.tensors[2].data[c];
      if (!(s > 0.f)) fail(where + ": weight scale of output channel " + std::to_string(c) + " is not positive");
      std::int64_t magnitude = 0;
      for (int k = 0; k < in; ++k) magnitude += std::abs(int(w[std::size_t(c) * std::size_t(in) + std::size_t(k)]));
      if (diagonal) magnitude += std::abs(std::int64_t(d[c]));
      if (255 * magnitude > std::int64_t(INT32_MAX))
        fail(where + ": output channel " + std::to_string(c) + " can overflow its int32 accumulator (255 x " +
             std::to_string(magnitude) + ")");
    }
  }

  void read_labels_and_name(BlobView& view) {
    view.name = string_at(name_string_, "model name");
    if (std::uint64_t(labels_first_) + class_count_ > strings_.size())
      fail("labels " + std::to_string(labels_first_) + ".." + std::to_string(std::uint64_t(labels_first_) + class_count_) +
           " lie outside the string table (" + std::to_string(strings_.size()) + " strings)");
    view.labels.assign(strings_.begin() + labels_first_, strings_.begin() + labels_first_ + class_count_);
  }

  void validate_graph(BlobView& view) {
    const auto& layers = view.layers;
    const std::size_t n = layers.size();
    auto where = [&](std::size_t i) { return "layer " + std::to_string(i) + " '" + std::string(layers[i].name) + "'"; };
    if (n < 3 || layers[0].kind != LayerKind::conv3x3)
      fail("the graph must start with the 3x3 stem conv and end with avgpool + linear");
    if (layers[0].in_channels != view.preprocess.input_channels)
      fail(where(0) + ": stem takes " + std::to_string(layers[0].in_channels) + " channels, the input has 3");
    if (layers[n - 2].kind != LayerKind::avgpool || layers[n - 1].kind != LayerKind::linear)
      fail("the graph must end with avgpool followed by linear");
    if (std::uint32_t(layers[n - 1].out_channels) != class_count_)
      fail(where(n - 1) + ": " + std::to_string(layers[n - 1].out_channels) + " outputs but class_count is " +
           std::to_string(class_count_));
    for (std::size_t i = 1; i < n; ++i) {
      const LayerDesc& l = layers[i];
      if (l.in_channels != layers[i - 1].out_channels)
        fail(where(i) + ": takes " + std::to_string(l.in_channels) + " channels but the previous layer gives " +
             std::to_string(layers[i - 1].out_channels));
      if (l.stage < layers[i - 1].stage) fail(where(i) + ": stage index goes backwards");
      const bool body = l.kind == LayerKind::dwconv3x3 || l.kind == LayerKind::pwconv1x1 || l.kind == LayerKind::squeeze_excite;
      if (i < n - 2 && !body) fail(where(i) + ": " + layer_kind_name(l.kind) + " is not allowed inside the backbone");
      if (l.kind == LayerKind::squeeze_excite &&
          (layers[i - 1].kind == LayerKind::squeeze_excite || layers[i - 1].relu))
        fail(where(i) + ": squeeze-excite must follow a conv stored without its ReLU");
      if (l.precision == LayerPrecision::int8 && !layers[i - 1].relu)
        fail(where(i) + ": an int8 layer's input must follow a ReLU (uint8 activations have zero point 0)");
    }
    if (layers[0].stage != 0) fail(where(0) + ": the stem must be stage 0");
    view.num_stages = layers[n - 3].stage;
    if (layers[n - 2].stage <= view.num_stages)
      fail(where(n - 2) + ": the head must have a stage after the last backbone stage");
  }

  // Check 8 (version 3): consecutive float32 tensors from golden_first_tensor, used by no layer: the input
  // [1, 3, H, W]; in float arithmetic each stage's output [1, C, h, w] at that input and the logits
  // [1, classes]; if some layer is int8, in int8 arithmetic the same from stage 1 on.
  void read_golden(BlobView& view) {
    GoldenView& g = view.golden;
    bool has_int8 = false;
    for (const LayerDesc& l : view.layers) has_int8 = has_int8 || l.precision == LayerPrecision::int8;
    const std::uint64_t outputs = std::uint64_t(view.num_stages) + 2;
    const std::uint64_t count = 1 + outputs + (has_int8 ? outputs - 1 : 0);
    if (golden_first_ > tensor_count_ || count > tensor_count_ - golden_first_)
      fail("golden data: tensors " + std::to_string(golden_first_) + ".." + std::to_string(golden_first_ + count - 1) +
           " lie outside the tensor table (" + std::to_string(tensor_count_) + " tensors)");
    auto golden_tensor = [&](std::uint64_t k, std::initializer_list<std::uint32_t> shape) {
      const std::uint32_t index = golden_first_ + std::uint32_t(k);
      const TensorView& t = tensors_[index];
      const std::string where = "golden data: tensor " + std::to_string(index) + " '" + std::string(t.name) + "'";
      if (used_[index]) fail(where + " is also used by a layer");
      if (t.dtype != DType::float32) fail(where + " is " + dtype_name(t.dtype) + ", expected float32");
      bool ok = t.rank == shape.size();
      std::uint32_t d = 0;
      for (std::uint32_t extent : shape) ok = ok && t.dims[d++] == extent;
      if (!ok) {
        std::string expected;
        for (std::uint32_t extent : shape) expected += (expected.empty() ? "[" : ", ") + std::to_string(extent);
        fail(where + " has shape " + shape_string(t) + ", expected " + expected + "]");
      }
      return t;
    };
    const TensorView& input = tensors_[golden_first_];
    const std::uint32_t channels = std::uint32_t(view.preprocess.input_channels);
    if (input.rank != 4 || input.dims[0] != 1 || input.dims[1] != channels || input.dims[2] > blob_format::kMaxInputSide ||
        input.dims[3] > blob_format::kMaxInputSide)
      fail("golden data: input tensor " + std::to_string(golden_first_) + " '" + std::string(input.name) + "' has shape " +
           shape_string(input) + ", expected [1, 3, H, W] with H, W <= " + std::to_string(blob_format::kMaxInputSide));
    const std::uint32_t height = input.dims[2], width = input.dims[3];
    g.input = golden_tensor(0, {1, channels, height, width});
    // Each stage's output shape at that input: its last layer's channels at the size its strides leave.
    const std::size_t n = view.layers.size();
    std::uint32_t h = height, w = width;
    std::vector<std::array<std::uint32_t, 3>> stage_shapes(std::size_t(view.num_stages) + 1);
    for (std::size_t i = 0; i + 2 < n; ++i) {
      const LayerDesc& l = view.layers[i];
      if (l.kind == LayerKind::conv3x3 || l.kind == LayerKind::dwconv3x3) {
        h = (h - 1) / std::uint32_t(l.stride) + 1;
        w = (w - 1) / std::uint32_t(l.stride) + 1;
      }
      stage_shapes[std::size_t(l.stage)] = {std::uint32_t(l.out_channels), h, w};
    }
    for (int s = 0; s <= view.num_stages; ++s)
      if (stage_shapes[std::size_t(s)][0] == 0)
        fail("golden data: stage " + std::to_string(s) + " has no layers, so no output to check");
    auto read_outputs = [&](std::uint64_t next, int first_stage, GoldenOutputs& out) {
      for (int s = first_stage; s <= view.num_stages; ++s) {
        const auto& shape = stage_shapes[std::size_t(s)];
        out.stages.push_back(golden_tensor(next++, {1, shape[0], shape[1], shape[2]}));
      }
      out.logits = golden_tensor(next, {1, class_count_});
    };
    read_outputs(1, 0, g.fp32);
    if (has_int8) {
      g.int8.stages.push_back(g.fp32.stages[0]);
      read_outputs(1 + outputs, 1, g.int8);
    }
  }

  static std::string hex(std::uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    std::string s = "0x";
    for (int shift = 28; shift >= 0; shift -= 4) s += digits[(v >> shift) & 0xF];
    return s;
  }

  const unsigned char* bytes_;
  std::size_t size_;
  std::uint32_t version_ = 0;
  std::uint32_t layer_count_ = 0, tensor_count_ = 0, class_count_ = 0, string_count_ = 0;
  std::uint64_t layer_table_ = 0, tensor_table_ = 0, string_table_ = 0, string_table_size_ = 0;
  std::uint64_t data_offset_ = 0, data_size_ = 0;
  std::uint32_t name_string_ = 0, labels_first_ = 0, golden_first_ = 0;
  std::vector<std::string_view> strings_;
  std::vector<TensorView> tensors_;
  std::vector<bool> used_;  // tensors some layer slot uses
};

}  // namespace detail

// Parses and validates a blob held in memory. `bytes` must be 4-byte aligned (64 for best use) and
// outlive the returned view. Throws mobileone::Error naming what is wrong and where.
inline BlobView parse_blob(const void* bytes, std::size_t size) {
  return detail::BlobReader(static_cast<const unsigned char*>(bytes), size).parse();
}

}  // namespace mobileone
