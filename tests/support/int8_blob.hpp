// Int8 models for tests and benchmarks (weights/FORMAT.md "Version 2"), made from a float32 blob: every
// depthwise and pointwise layer whose input went through a ReLU is int8; each one's input scale comes from
// the largest value that input reaches on one random input (the engine's layer observer), pointwise weights
// are symmetric per output channel at their row's largest magnitude, and square pointwise layers keep their
// diagonal apart (as mobileone-quantize writes them). Such a model exercises the whole int8 path (precision
// selection, uint8 hand-offs and stage outputs, quantize passes, every int8 kernel); it says nothing about
// accuracy on photos, which is mobileone-quantize's job (weights/mobileone_quantize.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <mobileone/mobileone.hpp>

#include "blob_writer.hpp"

namespace mobileone {

// tensors[0], a float weight [out, in, 1, 1], becomes int8 with its scale [out] as tensors[2] and, for a
// square layer, its diagonal (in units of the scale) as tensors[3].
inline void quantize_pointwise_weights(LayerData& layer) {
  TensorData& weight = layer.tensors[0];
  const std::size_t out = weight.shape[0], in = weight.values.size() / out;
  const bool square = in == out;
  std::vector<float> scales(out);
  std::vector<std::int32_t> diagonal(square ? out : 0);
  weight.int8_values.resize(weight.values.size());
  for (std::size_t o = 0; o < out; ++o) {
    const float* row = weight.values.data() + o * in;
    float largest = 0.f;
    for (std::size_t k = 0; k < in; ++k)
      if (!(square && k == o)) largest = std::max(largest, std::fabs(row[k]));
    scales[o] = largest > 0.f ? largest / 127.f : 1.f;  // a zero row: any positive scale
    for (std::size_t k = 0; k < in; ++k)
      weight.int8_values[o * in + k] =
          square && k == o ? std::int8_t(0) : std::int8_t(std::clamp(std::nearbyint(row[k] / scales[o]), -127.f, 127.f));
    if (square) diagonal[o] = std::int32_t(std::nearbyint(row[o] / scales[o]));
  }
  weight.values.clear();  // the int8 elements are the tensor's now
  const std::string name = weight.name;  // `weight` dangles after the first push_back
  layer.tensors.push_back({name + "_scale", {std::uint32_t(out)}, std::move(scales), {}, {}});
  if (square) layer.tensors.push_back({name + "_diagonal", {std::uint32_t(out)}, {}, {}, std::move(diagonal)});
}

// The largest value each layer of `model` writes on one random input of calibration_size^2 (float32 run).
inline std::vector<float> layer_output_maxima(const Model& model, std::uint64_t seed, int calibration_size) {
  std::vector<float> maxima(model.layers().size(), 0.f);
  Context context(model, Options{1, Isa::automatic, Precision::fp32});
  detail::ContextAccess::set_layer_observer(context, [&](std::size_t i, const detail::LayerOutput& o) {
    const std::size_t n = std::size_t(o.height) * std::size_t(o.width) * std::size_t(o.channels);
    for (std::size_t e = 0; e < n; ++e) maxima[i] = std::max(maxima[i], o.data[e]);
  });
  WeightRandom random(seed);
  std::vector<float> input(std::size_t(3) * std::size_t(calibration_size) * std::size_t(calibration_size));
  for (float& v : input) v = random.uniform(-2.f, 2.f);
  context.run(input.data(), 3, calibration_size, calibration_size);
  return maxima;
}

// The int8 blob of a float32 one, calibrated on one random input (seed, size).
inline std::vector<unsigned char> int8_blob_from(const std::vector<unsigned char>& float_blob, std::uint64_t seed = 1,
                                                 int calibration_size = 224) {
  const Model model = Model::from_buffer(float_blob.data(), float_blob.size());
  if (model.has_int8_layers()) throw Error("int8_blob_from: model '" + std::string(model.name()) + "' is int8 already");
  const std::vector<float> maxima = layer_output_maxima(model, seed, calibration_size);
  std::vector<LayerData> layers;
  for (std::size_t i = 0; i < model.layers().size(); ++i) {
    const LayerDesc& d = model.layers()[i];
    LayerData layer{d, std::string(d.name), {}};
    for (const TensorView& t : d.tensors) {
      if (t.bytes == nullptr) break;
      layer.tensors.push_back({std::string(t.name), std::vector<std::uint32_t>(t.dims.begin(), t.dims.begin() + t.rank),
                               std::vector<float>(t.data, t.data + t.element_count()), {}, {}});
    }
    const bool relu_input = i > 0 && model.layers()[i - 1].relu;
    if (relu_input && (d.kind == LayerKind::dwconv3x3 || d.kind == LayerKind::pwconv1x1)) {
      layer.desc.precision = LayerPrecision::int8;
      layer.desc.input_scale = maxima[i - 1] > 0.f ? maxima[i - 1] / 255.f : 1.f;
      if (d.kind == LayerKind::pwconv1x1) quantize_pointwise_weights(layer);
    }
    layers.push_back(std::move(layer));
  }
  const std::vector<std::string> labels(model.labels().begin(), model.labels().end());
  return write_blob(std::string(model.name()), model.preprocess(), layers, labels);
}

}  // namespace mobileone
