// A BENCHMARK model, not a quantizer: a deterministic int8 version (weights/FORMAT.md "Version 2") of a
// float32 blob, so that the int8 kernels can be timed on S0..S4 without a calibrated blob. Its outputs are
// not meant to agree with the float32 model's (no calibration, no equalization, no bias correction); blobs
// worth running come from mobileone-quantize. What it shares with those is the work the engine does: which
// layers run in int8, their shapes, the int8 weight panels and the diagonal term of square layers.
//
// The rules (fixed, so every run of the benchmarks times the same model):
//   - every depthwise and pointwise layer whose input follows a ReLU is int8 (all a version-2 blob allows;
//     the stem, squeeze-excite, pooling and the classifier stay float32);
//   - its input scale is kInputScale for every layer (uint8 covers [0, 8): the He-scaled random weights of
//     random_model_blob keep post-ReLU activations O(1));
//   - pointwise weights are per output channel symmetric int8: scale = max |w| / 127 over the row (off the
//     diagonal for square layers, whose diagonal becomes the int32 term round(w[c][c] / scale), as
//     mobileone-quantize stores the folded identity); depthwise int8 layers keep their float32 weights.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <mobileone/blob.hpp>

#include "support/blob_writer.hpp"

namespace mobileone::bench {

// The input scale of every int8 layer of a synthetic int8 model: a power of two, so exact in float32.
inline constexpr float kSyntheticInputScale = 1.f / 32.f;

namespace synthetic_int8_detail {

inline blob_writer::Tensor float_tensor(const TensorView& t) {
  return {std::string(t.name), std::vector<std::uint32_t>(t.dims.begin(), t.dims.begin() + t.rank),
          std::vector<float>(t.data, t.data + t.element_count())};
}

// weight [out, in, 1, 1] float32 -> int8 weight, weight scale [out] and, for square layers, diagonal [out].
inline void quantize_pointwise_weights(const LayerDesc& d, blob_writer::Layer& layer) {
  const int out = d.out_channels, in = d.in_channels;
  const bool square = out == in;
  blob_writer::Tensor& weight = layer.tensors[0];
  std::vector<std::int8_t> q(weight.values.size());
  std::vector<float> scales(static_cast<std::size_t>(out));
  std::vector<std::int32_t> diagonal(square ? std::size_t(out) : 0);
  for (int o = 0; o < out; ++o) {
    const float* row = weight.values.data() + std::size_t(o) * std::size_t(in);
    float amax = 0.f;
    for (int k = 0; k < in; ++k)
      if (!(square && k == o)) amax = std::max(amax, std::fabs(row[k]));
    const float scale = amax > 0.f ? amax / 127.f : 1.f;
    scales[std::size_t(o)] = scale;
    for (int k = 0; k < in; ++k) {
      const float steps = std::nearbyint(row[k] / scale);
      if (square && k == o) diagonal[std::size_t(o)] = std::int32_t(steps);  // q[o][o] stays 0
      else q[std::size_t(o) * std::size_t(in) + std::size_t(k)] = std::int8_t(std::clamp(steps, -127.f, 127.f));
    }
  }
  const std::uint32_t channels = std::uint32_t(out);
  const std::string name = weight.name;
  weight.values.clear();
  weight.int8_values = std::move(q);
  layer.tensors.push_back({name + "_scale", {channels}, std::move(scales)});
  if (square) layer.tensors.push_back({name + "_diagonal", {channels}, {}, {}, std::move(diagonal)});
}

}  // namespace synthetic_int8_detail

// The synthetic int8 version of a float32 blob (rules above), as blob bytes.
inline std::vector<unsigned char> synthetic_int8_blob(const std::vector<unsigned char>& float_blob) {
  const BlobView view = parse_blob(float_blob.data(), float_blob.size());
  std::vector<blob_writer::Layer> layers;
  for (std::size_t i = 0; i < view.layers.size(); ++i) {
    const LayerDesc& d = view.layers[i];
    blob_writer::Layer layer{d, std::string(d.name), {}};
    for (const TensorView& t : d.tensors)
      if (t.bytes != nullptr) layer.tensors.push_back(synthetic_int8_detail::float_tensor(t));
    const bool eligible = d.kind == LayerKind::dwconv3x3 || d.kind == LayerKind::pwconv1x1;
    if (eligible && i > 0 && view.layers[i - 1].relu) {
      layer.desc.precision = LayerPrecision::int8;
      layer.desc.input_scale = kSyntheticInputScale;
      if (d.kind == LayerKind::pwconv1x1) synthetic_int8_detail::quantize_pointwise_weights(d, layer);
    }
    layers.push_back(std::move(layer));
  }
  const std::vector<std::string> labels(view.labels.begin(), view.labels.end());
  return blob_writer::write_blob(std::string(view.name), view.preprocess, layers, labels);
}

}  // namespace mobileone::bench
