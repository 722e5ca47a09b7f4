// An immutable, validated model: the blob's views plus weights packed for the kernels. Cheap to copy
// (shared ownership); any number of Contexts on any threads may use one Model at the same time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernels/pack.hpp"
#include "blob.hpp"
#include "detail/aligned_buffer.hpp"
#include "error.hpp"

namespace mobileone {

class Model;

namespace detail {

struct ModelAccess;

// A layer ready to run: the blob's description plus pointers to weights in the kernels' layouts.
struct PackedLayer {
  LayerDesc desc;
  const float* weights = nullptr;  // packed (conv3x3, dwconv3x3, pwconv1x1) or as stored (se reduce, linear)
  const float* bias = nullptr;     // padded to whole panels for pwconv1x1
  const float* weights2 = nullptr;  // se expand
  const float* bias2 = nullptr;     // se expand
  // Int8 execution (kernels/kernel_args.hpp): only in packings for Precision::int8, for the layers the blob
  // stores in int8. Depthwise int8 layers use `weights` and `bias` (input scale folded in).
  bool int8 = false;
  bool input_u8 = false;   // the previous layer writes uint8 for this one; else a quantize pass comes first
  bool output_u8 = false;  // writes uint8 for the next (int8) layer, at output_scale
  float inv_input_scale = 0.f;  // float32(1 / input_scale), for the quantize pass
  float output_scale = 0.f;
  const std::int8_t* qweights = nullptr;  // pointwise: packed panels (pack_quant_pointwise_weights)
  const float* qscale = nullptr;          // pointwise: per padded output channel
  const std::int32_t* column_sums = nullptr;
  const std::int32_t* diagonal = nullptr;  // pointwise, square layers that keep it apart; else null
};

// Weights in the layouts of one family of kernel sets (one StemLayout, one precision), packed once and
// shared by every Context that runs them.
struct PackedWeights {
  AlignedBuffer<unsigned char> bytes;
  std::vector<PackedLayer> layers;
};

// One packing per (StemLayout, precision): fp32 runs an int8 blob on its dequantized weights.
inline constexpr std::size_t kStemLayouts = 2;  // kernels::StemLayout::taps, panels
inline constexpr std::size_t kPackings = 2 * kStemLayouts;
inline std::size_t packing_index(kernels::StemLayout stem, bool int8) { return std::size_t(stem) * 2 + (int8 ? 1 : 0); }

struct ModelData {
  AlignedBuffer<unsigned char> owned_bytes;  // empty when the caller's buffer is used in place
  const unsigned char* bytes = nullptr;
  std::size_t size = 0;
  BlobView blob;
  bool has_int8 = false;  // some layer is stored in int8
  // Packed on first use by a Context (most processes run one kernel set), then immutable.
  mutable std::once_flag packed_once[kPackings];
  mutable std::unique_ptr<const PackedWeights> packed[kPackings];
};

// Hands out 64-byte aligned pieces of one buffer: a sizing pass (no buffer) then a filling pass.
class PackArena {
 public:
  explicit PackArena(unsigned char* base) : base_(base) {}
  template <class T>
  T* take(std::size_t count) {
    T* at = base_ ? reinterpret_cast<T*>(base_ + used_) : nullptr;
    used_ += (count * sizeof(T) + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
    return at;
  }
  std::size_t used() const { return used_; }

 private:
  unsigned char* base_;
  std::size_t used_ = 0;
};

// The effective float32 weights [out][in] of an int8 pointwise layer: scale[c] * (W[c][k] + diagonal).
inline void dequantize_pointwise(const LayerDesc& l, float* oi) {
  const auto* q = static_cast<const std::int8_t*>(l.tensors[0].bytes);
  const auto* d = static_cast<const std::int32_t*>(l.tensors[3].bytes);
  const std::size_t in = std::size_t(l.in_channels);
  for (std::size_t c = 0; c < std::size_t(l.out_channels); ++c) {
    const float s = l.tensors[2].data[c];
    for (std::size_t k = 0; k < in; ++k)
      oi[c * in + k] = s * float(std::int32_t(q[c * in + k]) + (d && k == c ? d[c] : 0));
  }
}

// Packs every layer into `arena` (sizes only when the arena has no buffer).
inline void pack_layers(const BlobView& blob, kernels::StemLayout stem, bool int8, PackArena& arena,
                        std::vector<PackedLayer>& out) {
  const std::size_t n = blob.layers.size();
  out.assign(n, PackedLayer{});
  auto runs_int8 = [&](std::size_t i) { return int8 && i < n && blob.layers[i].precision == LayerPrecision::int8; };
  for (std::size_t i = 0; i < n; ++i) {
    const LayerDesc& l = blob.layers[i];
    PackedLayer& p = out[i];
    p.desc = l;
    p.int8 = runs_int8(i);
    p.input_u8 = p.int8 && i > 0 && out[i - 1].output_u8;
    p.output_u8 = p.int8 && l.relu && runs_int8(i + 1);
    p.output_scale = p.output_u8 ? blob.layers[i + 1].input_scale : 0.f;
    p.inv_input_scale = p.int8 ? 1.f / l.input_scale : 0.f;
    const float out_div = p.output_u8 ? p.output_scale : 1.f;  // uint8 outputs are in units of the next scale
    const float* w = l.tensors[0].data;
    const float* b = l.tensors[1].data;
    switch (l.kind) {
      case LayerKind::conv3x3: {
        float* packed = arena.take<float>(kernels::conv3x3_packed_size(stem, l.out_channels, l.in_channels));
        p.weights = packed;
        if (stem == kernels::StemLayout::taps) {
          if (packed) kernels::pack_conv3x3_weights(w, l.out_channels, l.in_channels, packed);
          p.bias = b;
        } else {
          if (packed) kernels::pack_conv3x3_panels(w, b, l.out_channels, l.in_channels, packed);
          p.bias = packed ? packed + kernels::pointwise_packed_size(l.out_channels, 9 * l.in_channels) : nullptr;
        }
        break;
      }
      case LayerKind::dwconv3x3: {
        const std::size_t c = std::size_t(l.out_channels);
        float* packed = arena.take<float>(9 * c);
        p.weights = packed;
        p.bias = b;
        if (!p.int8) {
          if (packed) kernels::pack_dwconv3x3_weights(w, l.out_channels, packed);
          break;
        }
        float* bias = arena.take<float>(c);
        p.bias = bias;
        if (!packed) break;
        kernels::pack_dwconv3x3_weights(w, l.out_channels, packed);
        const float weight_mul = l.input_scale / out_div;
        for (std::size_t e = 0; e < 9 * c; ++e) packed[e] *= weight_mul;
        for (std::size_t e = 0; e < c; ++e) bias[e] = b[e] / out_div;
        break;
      }
      case LayerKind::pwconv1x1: {
        const std::size_t padded = kernels::pointwise_panel_count(l.out_channels) * kernels::kPanelWidth;
        if (p.int8) {
          auto* qweights = arena.take<std::int8_t>(kernels::quant_pointwise_packed_bytes(l.out_channels, l.in_channels));
          float* scale = arena.take<float>(padded);
          float* bias = arena.take<float>(padded);
          auto* sums = arena.take<std::int32_t>(padded);
          const bool has_diagonal = l.tensors[3].bytes != nullptr;
          auto* diagonal = has_diagonal ? arena.take<std::int32_t>(padded) : nullptr;
          p.qweights = qweights;
          p.qscale = scale;
          p.bias = bias;
          p.column_sums = sums;
          p.diagonal = diagonal;
          if (!qweights) break;
          kernels::pack_quant_pointwise_weights(static_cast<const std::int8_t*>(l.tensors[0].bytes), l.out_channels,
                                                l.in_channels, qweights, sums);
          const float* weight_scale = l.tensors[2].data;
          const auto* d = static_cast<const std::int32_t*>(l.tensors[3].bytes);
          for (std::size_t c = 0; c < padded; ++c) {
            const bool inside = c < std::size_t(l.out_channels);
            scale[c] = inside ? l.input_scale * weight_scale[c] / out_div : 0.f;
            bias[c] = inside ? b[c] / out_div : 0.f;
            if (diagonal) diagonal[c] = inside ? d[c] : 0;
          }
          break;
        }
        float* packed = arena.take<float>(kernels::pointwise_packed_size(l.out_channels, l.in_channels));
        float* padded_bias = arena.take<float>(padded);
        p.weights = packed;
        p.bias = padded_bias;
        if (!packed) break;
        if (l.precision == LayerPrecision::int8) {  // run in float32: the effective weights
          std::vector<float> oi(std::size_t(l.out_channels) * std::size_t(l.in_channels));
          dequantize_pointwise(l, oi.data());
          kernels::pack_pointwise_weights(oi.data(), l.out_channels, l.in_channels, packed);
        } else {
          kernels::pack_pointwise_weights(w, l.out_channels, l.in_channels, packed);
        }
        kernels::pack_pointwise_bias(b, l.out_channels, padded_bias);
        break;
      }
      case LayerKind::squeeze_excite:
        p.weights = w;
        p.bias = b;
        p.weights2 = l.tensors[2].data;
        p.bias2 = l.tensors[3].data;
        break;
      case LayerKind::avgpool: break;
      case LayerKind::linear:
        p.weights = w;
        p.bias = b;
        break;
    }
  }
}

inline std::unique_ptr<const PackedWeights> pack_model(const BlobView& blob, kernels::StemLayout stem, bool int8) {
  auto packed = std::make_unique<PackedWeights>();
  PackArena sizing(nullptr);
  pack_layers(blob, stem, int8, sizing, packed->layers);
  packed->bytes.resize_discard(sizing.used());
  PackArena filling(packed->bytes.data());
  pack_layers(blob, stem, int8, filling, packed->layers);
  return packed;
}

// The weights packed for `stem` and the precision, packing them on the first call (thread-safe).
inline const PackedWeights& packed_weights(const ModelData& m, kernels::StemLayout stem, bool int8 = false) {
  const std::size_t i = packing_index(stem, int8);
  std::call_once(m.packed_once[i], [&] { m.packed[i] = pack_model(m.blob, stem, int8); });
  return *m.packed[i];
}

inline std::shared_ptr<const ModelData> finish_load(std::shared_ptr<ModelData> m) {
  m->blob = parse_blob(m->bytes, m->size);
  for (const LayerDesc& l : m->blob.layers) m->has_int8 = m->has_int8 || l.precision == LayerPrecision::int8;
  return m;
}

}  // namespace detail

class Model {
 public:
  // Reads, validates and packs a .mone file. Throws mobileone::Error naming the file and the problem.
  static Model load(const std::string& path) {
    std::ifstream file(path, std::ios::binary | std::ios::ate);
    if (!file) throw Error(path + ": cannot open model file");
    const std::streamoff end = file.tellg();
    if (end < 0) throw Error(path + ": cannot determine the file size");
    auto m = std::make_shared<detail::ModelData>();
    m->owned_bytes.resize_discard(std::size_t(end));
    file.seekg(0);
    if (end > 0 && !file.read(reinterpret_cast<char*>(m->owned_bytes.data()), end))
      throw Error(path + ": read error");
    m->bytes = m->owned_bytes.data();
    m->size = std::size_t(end);
    try {
      return Model(detail::finish_load(std::move(m)));
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
  }

  // Copies the bytes: the caller's buffer may go away afterwards.
  static Model from_buffer(const void* data, std::size_t size) {
    auto m = std::make_shared<detail::ModelData>();
    m->owned_bytes.resize_discard(size);
    if (size) std::memcpy(m->owned_bytes.data(), data, size);
    m->bytes = m->owned_bytes.data();
    m->size = size;
    return Model(detail::finish_load(std::move(m)));
  }

  // Uses the caller's bytes in place (an app asset or an mmap), without copying; they must stay alive and
  // unchanged while any Model or Context made from them exists, and start 4-byte (ideally 64-byte) aligned.
  static Model from_external_buffer(const void* data, std::size_t size) {
    if (reinterpret_cast<std::uintptr_t>(data) % alignof(float) != 0)
      throw Error("model buffer is not 4-byte aligned; use Model::from_buffer, which copies");
    auto m = std::make_shared<detail::ModelData>();
    m->bytes = static_cast<const unsigned char*>(data);
    m->size = size;
    return Model(detail::finish_load(std::move(m)));
  }

  std::string_view name() const { return data_->blob.name; }
  const PreprocessSpec& preprocess() const { return data_->blob.preprocess; }
  const std::vector<LayerDesc>& layers() const { return data_->blob.layers; }
  const std::vector<std::string_view>& labels() const { return data_->blob.labels; }
  int num_classes() const { return int(data_->blob.labels.size()); }
  int num_stages() const { return data_->blob.num_stages; }
  // Whether some layer is stored in int8 (a blob from mobileone-quantize): Precision::automatic runs int8.
  bool has_int8_layers() const { return data_->has_int8; }
  // Weights packed so far: one copy per kernel-set layout some Context has used (usually one).
  std::size_t packed_weight_bytes() const {
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < detail::kPackings; ++i)
      if (data_->packed[i]) bytes += data_->packed[i]->bytes.size();
    return bytes;
  }
  std::size_t blob_bytes() const { return data_->size; }


 private:
  explicit Model(std::shared_ptr<const detail::ModelData> data) : data_(std::move(data)) {}
  std::shared_ptr<const detail::ModelData> data_;
  friend struct detail::ModelAccess;
};

namespace detail {

// The engine's (and the tests' and benchmarks') way to a Model's blob view and packed weights.
struct ModelAccess {
  static const ModelData& data(const Model& model) { return *model.data_; }
};

}  // namespace detail

}  // namespace mobileone
