// Golden self-check data (weights/FORMAT.md "Version 3") for blobs made in C++: mobileone-quantize's int8
// models, the tests' and the fuzz seeds' synthetic ones. The outputs are the naive double-precision forward
// (tests/naive_reference.hpp), what weights/convert.py computes with numpy for the models it writes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <mobileone/blob.hpp>
#include <mobileone/error.hpp>

#include "../naive_reference.hpp"
#include "blob_writer.hpp"

namespace mobileone {

// The golden data of `view` on `input` (NCHW [3][height][width]): every stage and the logits in float
// arithmetic and, if some layer is int8, in int8 arithmetic from stage 1 on (the stem is never int8).
inline blob_writer::Golden golden_data(const BlobView& view, const float* input, int height, int width) {
  auto as_float = [](const std::string& name, std::vector<std::uint32_t> shape, const std::vector<double>& values) {
    blob_writer::Tensor t{name, std::move(shape), std::vector<float>(values.begin(), values.end())};
    for (float v : t.values)
      if (!std::isfinite(v)) throw Error("golden output '" + name + "' is not finite in float32");
    return t;
  };
  auto outputs = [&](bool int8, const std::string& prefix) {
    const testing::NaiveResult result = testing::naive_forward(view, input, height, width, int8);
    blob_writer::GoldenOutputs out;
    for (std::size_t s = int8 ? 1 : 0; s < result.stage_outputs.size(); ++s) {
      const testing::NchwTensor& t = result.stage_outputs[s];
      out.stages.push_back(as_float(prefix + ".stage" + std::to_string(s),
                                    {1, std::uint32_t(t.channels), std::uint32_t(t.height), std::uint32_t(t.width)}, t.data));
    }
    out.logits = as_float(prefix + ".logits", {1, std::uint32_t(result.logits.size())}, result.logits);
    return out;
  };
  blob_writer::Golden golden;
  golden.input = {"golden.input", {1, 3, std::uint32_t(height), std::uint32_t(width)},
                  std::vector<float>(input, input + std::size_t(3) * std::size_t(height) * std::size_t(width))};
  golden.fp32 = outputs(false, "golden");
  const bool has_int8 = std::any_of(view.layers.begin(), view.layers.end(),
                                    [](const LayerDesc& l) { return l.precision == LayerPrecision::int8; });
  if (has_int8) golden.int8 = outputs(true, "golden.int8");
  return golden;
}

// The writer's layers of a parsed blob: descriptions, names and copies of every tensor.
inline std::vector<blob_writer::Layer> writer_layers(const BlobView& view) {
  std::vector<blob_writer::Layer> layers;
  for (const LayerDesc& d : view.layers) {
    blob_writer::Layer l{d, std::string(d.name), {}};
    for (const TensorView& t : d.tensors) {
      if (t.bytes == nullptr) break;
      blob_writer::Tensor copy{std::string(t.name), std::vector<std::uint32_t>(t.dims.begin(), t.dims.begin() + t.rank), {}};
      const std::size_t n = t.element_count();
      if (t.dtype == DType::int8) {
        const auto* q = static_cast<const std::int8_t*>(t.bytes);
        copy.int8_values.assign(q, q + n);
      } else if (t.dtype == DType::int32) {
        const auto* d = static_cast<const std::int32_t*>(t.bytes);
        copy.int32_values.assign(d, d + n);
      } else {
        copy.values.assign(t.data, t.data + n);
      }
      l.tensors.push_back(std::move(copy));
    }
    layers.push_back(std::move(l));
  }
  return layers;
}

// `blob` again, with golden data on a random input (uniform in [-2, 2]) of height x width.
inline std::vector<unsigned char> with_golden(const std::vector<unsigned char>& blob, int height, int width,
                                              std::uint64_t seed = 3) {
  const BlobView view = parse_blob(blob.data(), blob.size());
  WeightRandom random(seed);
  std::vector<float> input(std::size_t(3) * std::size_t(height) * std::size_t(width));
  for (float& v : input) v = random.uniform(-2.f, 2.f);
  std::vector<std::string> labels(view.labels.begin(), view.labels.end());
  return blob_writer::write_blob(std::string(view.name), view.preprocess, writer_layers(view), labels,
                                 golden_data(view, input.data(), height, width));
}

}  // namespace mobileone
