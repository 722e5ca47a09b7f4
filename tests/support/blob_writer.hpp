// Writes `.mone` blobs (weights/FORMAT.md) from layers and float tensors. The converter (Python) writes the
// blobs users ship; this writer makes synthetic models in C++ (tests, benchmarks without a weight file).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <mobileone/blob.hpp>
#include <mobileone/detail/crc32.hpp>

#include "architecture.hpp"

namespace mobileone {

struct TensorData {
  std::string name;
  std::vector<std::uint32_t> shape;
  std::vector<float> values;
};

struct LayerData {
  LayerDesc desc;  // name and tensor views are ignored; `tensors` holds the weights
  std::string name;
  std::vector<TensorData> tensors;
};

inline std::vector<unsigned char> write_blob(const std::string& model_name, const PreprocessSpec& preprocess,
                                             const std::vector<LayerData>& layers, const std::vector<std::string>& labels) {
  using namespace blob_format;
  std::vector<std::string> strings{model_name};
  auto add_string = [&](const std::string& s) {
    strings.push_back(s);
    return std::uint32_t(strings.size() - 1);
  };
  struct TensorRecord {
    std::uint32_t name;
    const TensorData* data;
    std::uint64_t offset;
  };
  std::vector<TensorRecord> tensors;
  std::vector<std::uint32_t> layer_words;
  for (const LayerData& l : layers) {
    std::uint32_t words[16] = {std::uint32_t(l.desc.kind), std::uint32_t(l.desc.in_channels),
                               std::uint32_t(l.desc.out_channels), std::uint32_t(l.desc.stride),
                               l.desc.relu ? 1u : 0u, std::uint32_t(l.desc.stage), std::uint32_t(l.desc.block),
                               add_string(l.name), kNoTensor, kNoTensor, kNoTensor, kNoTensor,
                               std::uint32_t(l.desc.hidden), 0, 0, 0};
    for (std::size_t t = 0; t < l.tensors.size(); ++t) {
      words[8 + t] = std::uint32_t(tensors.size());
      tensors.push_back({add_string(l.tensors[t].name), &l.tensors[t], 0});
    }
    layer_words.insert(layer_words.end(), words, words + 16);
  }
  const std::uint32_t labels_first = std::uint32_t(strings.size());
  for (const std::string& label : labels) add_string(label);

  auto align = [](std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; };
  const std::uint64_t layer_table = kHeaderSize;
  const std::uint64_t tensor_table = align(layer_table + layers.size() * kLayerRecordSize, 8);
  const std::uint64_t string_table = align(tensor_table + tensors.size() * kTensorRecordSize, 8);
  std::uint64_t string_bytes = strings.size() * 8;
  for (const std::string& s : strings) string_bytes += s.size();
  const std::uint64_t data_offset = align(string_table + string_bytes, kTensorAlignment);
  std::uint64_t cursor = data_offset;
  for (TensorRecord& t : tensors) {
    t.offset = cursor;
    cursor = align(cursor + t.data->values.size() * 4, kTensorAlignment);
  }
  std::vector<unsigned char> out(cursor, 0);
  auto put = [&](std::uint64_t at, const auto& value) { std::memcpy(out.data() + at, &value, sizeof(value)); };

  std::memcpy(out.data(), kMagic, sizeof(kMagic));
  put(8, kVersion);
  put(12, std::uint32_t(kHeaderSize));
  put(16, std::uint64_t(out.size()));
  put(32, std::uint32_t(layers.size()));
  put(36, std::uint32_t(tensors.size()));
  put(40, std::uint32_t(labels.size()));
  put(44, std::uint32_t(strings.size()));
  put(48, layer_table);
  put(56, tensor_table);
  put(64, string_table);
  put(72, string_bytes);
  put(80, data_offset);
  put(88, std::uint64_t(cursor - data_offset));
  put(96, std::uint32_t(preprocess.input_channels));
  put(100, std::uint32_t(preprocess.input_height));
  put(104, std::uint32_t(preprocess.input_width));
  put(108, std::uint32_t(preprocess.resize_shorter));
  put(112, preprocess.crop_fraction);
  put(116, std::uint32_t(0));
  put(120, std::uint32_t(1));
  for (int c = 0; c < 3; ++c) {
    put(124 + 4 * c, preprocess.mean[std::size_t(c)]);
    put(136 + 4 * c, preprocess.std[std::size_t(c)]);
  }
  put(148, std::uint32_t(0));
  put(152, labels_first);
  std::memcpy(out.data() + layer_table, layer_words.data(), layer_words.size() * 4);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::uint64_t rec = tensor_table + i * kTensorRecordSize;
    const TensorData& t = *tensors[i].data;
    put(rec, tensors[i].name);
    put(rec + 4, std::uint32_t(1));
    put(rec + 8, std::uint32_t(t.shape.size()));
    for (std::size_t d = 0; d < t.shape.size() && d < 4; ++d) put(rec + 16 + 4 * d, t.shape[d]);
    put(rec + 32, tensors[i].offset);
    put(rec + 40, std::uint64_t(t.values.size() * 4));
    if (!t.values.empty()) std::memcpy(out.data() + tensors[i].offset, t.values.data(), t.values.size() * 4);
  }
  std::uint64_t text = string_table + strings.size() * 8;
  for (std::size_t i = 0; i < strings.size(); ++i) {
    put(string_table + 8 * i, std::uint32_t(text - string_table));
    put(string_table + 8 * i + 4, std::uint32_t(strings[i].size()));
    std::memcpy(out.data() + text, strings[i].data(), strings[i].size());
    text += strings[i].size();
  }
  put(24, detail::crc32(out.data() + 32, out.size() - 32));
  return out;
}

// Deterministic pseudo-random numbers (splitmix64), identical on every platform and standard library.
class WeightRandom {
 public:
  explicit WeightRandom(std::uint64_t seed) : state_(seed) {}
  float uniform(float low, float high) {
    state_ += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return low + (high - low) * float(double(z >> 40) / double(1ull << 24));
  }

 private:
  std::uint64_t state_;
};

// A complete model of `arch` with He-scaled random weights (activations stay O(1) through any depth).
inline std::vector<unsigned char> random_model_blob(const Architecture& arch, std::uint64_t seed, int input_size = 224) {
  WeightRandom random(seed);
  auto tensor = [&](const std::string& name, std::vector<std::uint32_t> shape, float bound) {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    TensorData t{name, std::move(shape), std::vector<float>(n)};
    for (float& v : t.values) v = random.uniform(-bound, bound);
    return t;
  };
  std::vector<LayerData> layers;
  for (const LayerDesc& d : architecture_layers(arch)) {
    LayerData l{d, layer_module_name(d), {}};
    const std::uint32_t in = std::uint32_t(d.in_channels), out = std::uint32_t(d.out_channels);
    const std::string key = l.name + (d.kind == LayerKind::linear ? "" : ".reparam_conv");
    auto he = [](std::uint32_t fan_in) { return std::sqrt(6.f / float(fan_in)); };
    switch (d.kind) {
      case LayerKind::conv3x3: l.tensors = {tensor(key + ".weight", {out, in, 3, 3}, he(in * 9)), tensor(key + ".bias", {out}, 0.1f)}; break;
      case LayerKind::dwconv3x3: l.tensors = {tensor(key + ".weight", {out, 1, 3, 3}, he(9)), tensor(key + ".bias", {out}, 0.1f)}; break;
      case LayerKind::pwconv1x1: l.tensors = {tensor(key + ".weight", {out, in, 1, 1}, he(in)), tensor(key + ".bias", {out}, 0.1f)}; break;
      case LayerKind::squeeze_excite: {
        const std::uint32_t h = std::uint32_t(d.hidden);
        l.tensors = {tensor(l.name + ".reduce.weight", {h, in, 1, 1}, he(in)), tensor(l.name + ".reduce.bias", {h}, 0.1f),
                     tensor(l.name + ".expand.weight", {in, h, 1, 1}, he(h)), tensor(l.name + ".expand.bias", {in}, 0.5f)};
        break;
      }
      case LayerKind::avgpool: break;
      case LayerKind::linear: l.tensors = {tensor("linear.weight", {out, in}, he(in)), tensor("linear.bias", {out}, 0.1f)}; break;
    }
    layers.push_back(std::move(l));
  }
  PreprocessSpec preprocess;
  preprocess.input_height = preprocess.input_width = input_size;
  preprocess.resize_shorter = int(input_size / 0.875f);
  std::vector<std::string> labels;
  for (int c = 0; c < arch.num_classes; ++c) labels.push_back("class_" + std::to_string(c));
  return write_blob(arch.name, preprocess, layers, labels);
}

}  // namespace mobileone
