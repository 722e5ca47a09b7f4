// Writes `.mone` blobs (weights/FORMAT.md) from layers and tensors: version 1 when every layer and tensor
// is float32, version 2 as soon as one layer is int8 or one tensor is int8 / int32, version 3 with golden
// self-check data. The converter (Python)
// writes the float32 blobs users ship; this writer serves mobileone-quantize (int8 blobs) and, through
// tests/support/blob_writer.hpp, the tests' and benchmarks' synthetic models.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <mobileone/blob.hpp>
#include <mobileone/detail/crc32.hpp>
#include <mobileone/error.hpp>

namespace mobileone::blob_writer {

// One tensor: exactly one of the element vectors is filled, and that one says the dtype.
struct Tensor {
  std::string name;
  std::vector<std::uint32_t> shape;
  std::vector<float> values;               // float32
  std::vector<std::int8_t> int8_values{};    // int8 (FORMAT.md version 2)
  std::vector<std::int32_t> int32_values{};  // int32 (FORMAT.md version 2)

  DType dtype() const {
    if (!int8_values.empty()) return DType::int8;
    if (!int32_values.empty()) return DType::int32;
    return DType::float32;
  }
  std::size_t element_count() const {
    switch (dtype()) {
      case DType::int8: return int8_values.size();
      case DType::int32: return int32_values.size();
      case DType::float32: break;
    }
    return values.size();
  }
  const void* bytes() const {
    switch (dtype()) {
      case DType::int8: return int8_values.data();
      case DType::int32: return int32_values.data();
      case DType::float32: break;
    }
    return values.data();
  }
};

struct Layer {
  LayerDesc desc;  // name and tensor views are ignored (`name` and `tensors` below hold them); precision
                   // and input_scale are written as they are
  std::string name;
  std::vector<Tensor> tensors;  // in slot order, at most 4
};

// The golden self-check (FORMAT.md "Version 3"): float32 tensors, the input [1, 3, H, W] and, per
// arithmetic, each stage's output [1, C, h, w] and the logits [1, classes]: float (stages 0 .. S), and for
// a blob with int8 layers int8 as well (stages 1 .. S). Empty (no input values): none.
struct GoldenOutputs {
  std::vector<Tensor> stages;  // from stage 0 (float) or 1 (int8)
  Tensor logits;
};
struct Golden {
  Tensor input;
  GoldenOutputs fp32, int8;
  bool empty() const { return input.values.empty(); }
};

// The format version these layers need: 3 with golden data, 2 for any int8 layer or non-float32 tensor,
// else 1 (so float32 models stay readable by version-1 readers).
inline std::uint32_t required_format_version(const std::vector<Layer>& layers, const Golden& golden = {}) {
  if (!golden.empty()) return blob_format::kGoldenVersion;
  for (const Layer& l : layers) {
    if (l.desc.precision != LayerPrecision::fp32) return 2;
    for (const Tensor& t : l.tensors)
      if (t.dtype() != DType::float32) return 2;
  }
  return 1;
}

// The whole file in memory. Throws mobileone::Error on a tensor whose elements do not match its shape
// or a layer with more than 4 tensors (a writer bug the reader would otherwise report less clearly).
inline std::vector<unsigned char> write_blob(const std::string& model_name, const PreprocessSpec& preprocess,
                                             const std::vector<Layer>& layers, const std::vector<std::string>& labels,
                                             const Golden& golden = {}) {
  using namespace blob_format;
  std::vector<std::string> strings{model_name};
  auto add_string = [&](const std::string& s) {
    strings.push_back(s);
    return std::uint32_t(strings.size() - 1);
  };
  struct TensorRecord {
    std::uint32_t name;
    const Tensor* data;
    std::uint64_t offset;
  };
  std::vector<TensorRecord> tensors;
  auto add_tensor = [&](const Tensor& tensor) {
    std::size_t elements = 1;
    for (std::uint32_t d : tensor.shape) elements *= d;
    if (elements != tensor.element_count() || tensor.shape.empty() || tensor.shape.size() > 4)
      throw Error("blob writer: tensor '" + tensor.name + "' has " + std::to_string(tensor.element_count()) +
                  " elements for a rank-" + std::to_string(tensor.shape.size()) + " shape of " + std::to_string(elements));
    tensors.push_back({add_string(tensor.name), &tensor, 0});
    return std::uint32_t(tensors.size() - 1);
  };
  std::vector<std::uint32_t> layer_words;
  for (const Layer& l : layers) {
    if (l.tensors.size() > 4) throw Error("blob writer: layer '" + l.name + "' has more than 4 tensors");
    std::uint32_t scale_bits = 0;
    std::memcpy(&scale_bits, &l.desc.input_scale, sizeof scale_bits);
    std::uint32_t words[16] = {std::uint32_t(l.desc.kind), std::uint32_t(l.desc.in_channels),
                               std::uint32_t(l.desc.out_channels), std::uint32_t(l.desc.stride),
                               l.desc.relu ? 1u : 0u, std::uint32_t(l.desc.stage), std::uint32_t(l.desc.block),
                               add_string(l.name), kNoTensor, kNoTensor, kNoTensor, kNoTensor,
                               std::uint32_t(l.desc.hidden), std::uint32_t(l.desc.precision), scale_bits, 0};
    for (std::size_t t = 0; t < l.tensors.size(); ++t) words[8 + t] = add_tensor(l.tensors[t]);
    layer_words.insert(layer_words.end(), words, words + 16);
  }
  std::uint32_t golden_first = 0;
  if (!golden.empty()) {
    golden_first = add_tensor(golden.input);
    for (const GoldenOutputs* outputs : {&golden.fp32, &golden.int8}) {
      for (const Tensor& stage : outputs->stages) add_tensor(stage);
      if (!outputs->stages.empty()) add_tensor(outputs->logits);
    }
  }
  const std::uint32_t labels_first = std::uint32_t(strings.size());
  for (const std::string& label : labels) add_string(label);

  auto align = [](std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; };
  auto byte_size = [](const Tensor& t) { return std::uint64_t(t.element_count() * dtype_size(t.dtype())); };
  const std::uint64_t layer_table = kHeaderSize;
  const std::uint64_t tensor_table = align(layer_table + layers.size() * kLayerRecordSize, 8);
  const std::uint64_t string_table = align(tensor_table + tensors.size() * kTensorRecordSize, 8);
  std::uint64_t string_bytes = strings.size() * 8;
  for (const std::string& s : strings) string_bytes += s.size();
  const std::uint64_t data_offset = align(string_table + string_bytes, kTensorAlignment);
  std::uint64_t cursor = data_offset;
  for (TensorRecord& t : tensors) {
    t.offset = cursor;
    cursor = align(cursor + byte_size(*t.data), kTensorAlignment);
  }
  std::vector<unsigned char> out(cursor, 0);
  auto put = [&](std::uint64_t at, const auto& value) { std::memcpy(out.data() + at, &value, sizeof(value)); };

  std::memcpy(out.data(), kMagic, sizeof(kMagic));
  put(8, required_format_version(layers, golden));
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
  put(116, std::uint32_t(0));  // RGB
  put(120, std::uint32_t(1));  // antialiased bilinear
  for (int c = 0; c < 3; ++c) {
    put(124 + 4 * c, preprocess.mean[std::size_t(c)]);
    put(136 + 4 * c, preprocess.std[std::size_t(c)]);
  }
  put(148, std::uint32_t(0));  // the model name is string 0
  put(152, labels_first);
  put(156, golden_first);
  if (!layer_words.empty()) std::memcpy(out.data() + layer_table, layer_words.data(), layer_words.size() * 4);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::uint64_t rec = tensor_table + i * kTensorRecordSize;
    const Tensor& t = *tensors[i].data;
    put(rec, tensors[i].name);
    put(rec + 4, std::uint32_t(t.dtype()));
    put(rec + 8, std::uint32_t(t.shape.size()));
    for (std::size_t d = 0; d < t.shape.size(); ++d) put(rec + 16 + 4 * d, t.shape[d]);
    put(rec + 32, tensors[i].offset);
    put(rec + 40, byte_size(t));
    if (byte_size(t) != 0) std::memcpy(out.data() + tensors[i].offset, t.bytes(), byte_size(t));
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

}  // namespace mobileone::blob_writer
