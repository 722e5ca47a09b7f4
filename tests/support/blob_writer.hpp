// Synthetic models in C++ (tests, benchmarks without a weight file), written by the one blob writer
// (weights/mone_writer.hpp, which mobileone-quantize uses too).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../../weights/mone_writer.hpp"
#include "architecture.hpp"

namespace mobileone {

using TensorData = blob_writer::Tensor;  // {name, shape, float values}
using LayerData = blob_writer::Layer;    // {desc, name, tensors}
using blob_writer::write_blob;

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
