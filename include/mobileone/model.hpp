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
#include <type_traits>
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
  // 16-bit packings (bf16, fp16 kernel sets): pointwise panels and classifier weights of that type, and a
  // square pointwise layer's diagonal in float32 (kernel_args.hpp, PointwiseArgsOf).
  const void* half_weights = nullptr;
  const float* half_diagonal = nullptr;
};

// Weights in the layouts of one family of kernel sets (one StemLayout, one precision), packed once and
// shared by every Context that runs them.
struct PackedWeights {
  AlignedBuffer<unsigned char> bytes;
  std::vector<PackedLayer> layers;
};

// What a kernel set needs its weights packed as: the stem's layout, the activation type (float, bf16, fp16)
// with the pointwise weights' group (kernel_args.hpp), and whether the blob's int8 layers run in int8 (else
// on their dequantized weights). One packing per distinct need, shared by every Context that has it.
struct PackingKey {
  kernels::StemLayout stem = kernels::StemLayout::taps;
  int element = 0;  // 0 float, 1 bf16, 2 fp16
  int group = 1;    // 1 or 2
  bool int8 = false;
};
template <class T>
constexpr int element_index() {
  return std::is_same_v<T, kernels::bf16> ? 1 : std::is_same_v<T, kernels::fp16> ? 2 : 0;
}
// The packing kernel set K runs on (int8: whether it runs the blob's int8 layers in int8).
template <class K>
constexpr PackingKey packing_key(bool int8) {
  return {K::stem_layout, element_index<typename K::Element>(), K::kPointwiseGroup, int8};
}
inline constexpr std::size_t kStemLayouts = 2;  // kernels::StemLayout::taps, panels
inline constexpr std::size_t kPackings = kStemLayouts * 3 * 2 * 2;
inline std::size_t packing_index(const PackingKey& k) {
  return ((std::size_t(k.stem) * 3 + std::size_t(k.element)) * 2 + std::size_t(k.group == 2)) * 2 + std::size_t(k.int8);
}

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

// A pointwise layer's float32 weights [out][in] as the engine runs them in a floating-point precision:
// as stored, or an int8 layer's dequantized ones (into `scratch`).
inline const float* effective_pointwise_weights(const LayerDesc& l, std::vector<float>& scratch) {
  if (l.precision != LayerPrecision::int8) return l.tensors[0].data;
  scratch.resize(std::size_t(l.out_channels) * std::size_t(l.in_channels));
  dequantize_pointwise(l, scratch.data());
  return scratch.data();
}

// Packs every layer into `arena` (sizes only when the arena has no buffer), activations of type T: the
// pointwise and classifier weights in T (pointwise in groups of `group` input channels), the rest float32.
template <class T>
void pack_layers(const BlobView& blob, kernels::StemLayout stem, bool int8, int group, PackArena& arena,
                 std::vector<PackedLayer>& out) {
  constexpr bool kFloat = std::is_same_v<T, float>;
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
        T* packed = arena.take<T>(kernels::pointwise_packed_size(l.out_channels, l.in_channels, group));
        float* padded_bias = arena.take<float>(padded);
        float* diagonal = !kFloat && l.in_channels == l.out_channels ? arena.take<float>(padded) : nullptr;
        if constexpr (kFloat)
          p.weights = packed;
        else
          p.half_weights = packed;
        p.half_diagonal = diagonal;
        p.bias = padded_bias;
        if (!packed) break;
        std::vector<float> scratch;
        kernels::pack_pointwise_panels(effective_pointwise_weights(l, scratch), l.out_channels, l.in_channels, group,
                                       packed, diagonal);
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
        if constexpr (!kFloat) {
          const std::size_t count = std::size_t(l.out_channels) * std::size_t(l.in_channels);
          T* converted = arena.take<T>(count);
          p.half_weights = converted;
          if (converted)
            for (std::size_t e = 0; e < count; ++e) converted[e] = kernels::from_float<T>(w[e]);
        }
        break;
    }
  }
}

template <class T>
std::unique_ptr<const PackedWeights> pack_model(const BlobView& blob, const PackingKey& key) {
  auto packed = std::make_unique<PackedWeights>();
  PackArena sizing(nullptr);
  pack_layers<T>(blob, key.stem, key.int8, key.group, sizing, packed->layers);
  packed->bytes.resize_discard(sizing.used());
  PackArena filling(packed->bytes.data());
  pack_layers<T>(blob, key.stem, key.int8, key.group, filling, packed->layers);
  return packed;
}

// The weights packed as `key` says, packing them on the first call (thread-safe).
inline const PackedWeights& packed_weights(const ModelData& m, const PackingKey& key) {
  const std::size_t i = packing_index(key);
  std::call_once(m.packed_once[i], [&] {
    switch (key.element) {
      case 1: m.packed[i] = pack_model<kernels::bf16>(m.blob, key); break;
      case 2: m.packed[i] = pack_model<kernels::fp16>(m.blob, key); break;
      default: m.packed[i] = pack_model<float>(m.blob, key); break;
    }
  });
  return *m.packed[i];
}

// The float32 weights packed for `stem` (int8: the blob's int8 layers in int8).
inline const PackedWeights& packed_weights(const ModelData& m, kernels::StemLayout stem, bool int8 = false) {
  return packed_weights(m, PackingKey{stem, 0, 1, int8});
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
