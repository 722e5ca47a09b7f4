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
};

// Weights in the layouts of one family of kernel sets (one StemLayout), packed once and shared by every
// Context that runs them.
struct PackedWeights {
  AlignedBuffer<float> floats;
  std::vector<PackedLayer> layers;
};

inline constexpr std::size_t kStemLayouts = 2;  // kernels::StemLayout::taps, panels

struct ModelData {
  AlignedBuffer<unsigned char> owned_bytes;  // empty when the caller's buffer is used in place
  const unsigned char* bytes = nullptr;
  std::size_t size = 0;
  BlobView blob;
  // Packed on first use by a Context (most processes run one kernel set), then immutable.
  mutable std::once_flag packed_once[kStemLayouts];
  mutable std::unique_ptr<const PackedWeights> packed[kStemLayouts];
};

inline std::size_t packed_floats(const LayerDesc& l, kernels::StemLayout stem) {
  switch (l.kind) {
    case LayerKind::conv3x3: return kernels::conv3x3_packed_size(stem, l.out_channels, l.in_channels);
    case LayerKind::dwconv3x3: return std::size_t(9) * std::size_t(l.out_channels);
    case LayerKind::pwconv1x1:
      return kernels::pointwise_packed_size(l.out_channels, l.in_channels) +
             kernels::pointwise_panel_count(l.out_channels) * kernels::kPanelWidth;
    default: return 0;
  }
}

// Each packed tensor starts on a 64-byte boundary.
inline std::size_t round_to_alignment(std::size_t floats) {
  constexpr std::size_t per_line = kBufferAlignment / sizeof(float);
  return (floats + per_line - 1) / per_line * per_line;
}

inline std::unique_ptr<const PackedWeights> pack_model(const BlobView& blob, kernels::StemLayout stem) {
  auto packed = std::make_unique<PackedWeights>();
  std::size_t total = 0;
  for (const LayerDesc& l : blob.layers) total += round_to_alignment(packed_floats(l, stem));
  packed->floats.resize_discard(total);
  float* cursor = packed->floats.data();
  packed->layers.reserve(blob.layers.size());
  for (const LayerDesc& l : blob.layers) {
    PackedLayer p;
    p.desc = l;
    const float* w = l.tensors[0].data;
    const float* b = l.tensors[1].data;
    switch (l.kind) {
      case LayerKind::conv3x3:
        p.weights = cursor;
        if (stem == kernels::StemLayout::taps) {
          kernels::pack_conv3x3_weights(w, l.out_channels, l.in_channels, cursor);
          p.bias = b;
        } else {
          kernels::pack_conv3x3_panels(w, b, l.out_channels, l.in_channels, cursor);
          p.bias = cursor + kernels::pointwise_packed_size(l.out_channels, 9 * l.in_channels);
        }
        break;
      case LayerKind::dwconv3x3:
        kernels::pack_dwconv3x3_weights(w, l.out_channels, cursor);
        p.weights = cursor;
        p.bias = b;
        break;
      case LayerKind::pwconv1x1: {
        kernels::pack_pointwise_weights(w, l.out_channels, l.in_channels, cursor);
        float* padded_bias = cursor + kernels::pointwise_packed_size(l.out_channels, l.in_channels);
        kernels::pack_pointwise_bias(b, l.out_channels, padded_bias);
        p.weights = cursor;
        p.bias = padded_bias;
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
    cursor += round_to_alignment(packed_floats(l, stem));
    packed->layers.push_back(p);
  }
  return packed;
}

// The weights packed for `stem`, packing them on the first call (thread-safe).
inline const PackedWeights& packed_weights(const ModelData& m, kernels::StemLayout stem) {
  const std::size_t i = std::size_t(stem);
  std::call_once(m.packed_once[i], [&] { m.packed[i] = pack_model(m.blob, stem); });
  return *m.packed[i];
}

inline std::shared_ptr<const ModelData> finish_load(std::shared_ptr<ModelData> m) {
  m->blob = parse_blob(m->bytes, m->size);
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
  // Weights packed so far: one copy per kernel-set layout some Context has used (usually one).
  std::size_t packed_weight_bytes() const {
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < detail::kStemLayouts; ++i)
      if (data_->packed[i]) bytes += data_->packed[i]->floats.size() * sizeof(float);
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
