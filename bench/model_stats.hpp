// Per-layer cost of a fused MobileOne graph: output shape, multiply-adds (MACs), parameters and bytes
// touched, computed from the layer descriptions and an input size alone (no weights, no run). Header-only
// and dependency-free beyond the engine's LayerDesc, so the whole-network benchmark, the peer comparison
// and a future per-layer suite all count the same way.
//
// What counts as a MAC: one multiply-add of a convolution or fully connected layer, i.e.
//   stem 3x3          out_h * out_w * out_c * in_c * 9
//   depthwise 3x3     out_h * out_w * C * 9
//   pointwise 1x1     h * w * in_c * out_c
//   squeeze-excite    2 * C * hidden          (the two small FCs; pooling and scaling are not MACs)
//   global avgpool    0
//   linear            in * out
// Output size of a 3x3 convolution with padding 1: (in - 1) / stride + 1. Biases are parameters but not
// MACs. With these rules S0..S4 at 224x224 come to about 275 / 825 / 1298 / 1896 / 2979 M MACs, the
// paper's numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <mobileone/blob.hpp>

namespace mobileone::bench {

struct LayerStats {
  LayerDesc desc;  // name/tensors as given (may be empty for a synthetic architecture)
  int in_height = 0, in_width = 0, in_channels = 0;
  int out_height = 0, out_width = 0, out_channels = 0;
  std::uint64_t macs = 0;
  std::uint64_t params = 0;              // weights + biases
  std::uint64_t weight_bytes = 0;        // params * 4 (fp32)
  std::uint64_t activation_bytes = 0;    // input read + output written, fp32 (in place for SE: read + write)
};

struct ModelStats {
  std::vector<LayerStats> layers;
  std::uint64_t macs = 0;
  std::uint64_t params = 0;
};

inline constexpr int conv3x3_output_size(int input, int stride) { return (input - 1) / stride + 1; }

inline LayerStats layer_stats(const LayerDesc& d, int height, int width) {
  LayerStats s;
  s.desc = d;
  s.in_height = height;
  s.in_width = width;
  s.in_channels = d.in_channels;
  s.out_height = height;
  s.out_width = width;
  s.out_channels = d.out_channels;
  const std::uint64_t in_c = std::uint64_t(d.in_channels), out_c = std::uint64_t(d.out_channels);
  switch (d.kind) {
    case LayerKind::conv3x3:
      s.out_height = conv3x3_output_size(height, d.stride);
      s.out_width = conv3x3_output_size(width, d.stride);
      s.params = out_c * in_c * 9 + out_c;
      s.macs = std::uint64_t(s.out_height) * std::uint64_t(s.out_width) * out_c * in_c * 9;
      break;
    case LayerKind::dwconv3x3:
      s.out_height = conv3x3_output_size(height, d.stride);
      s.out_width = conv3x3_output_size(width, d.stride);
      s.params = out_c * 9 + out_c;
      s.macs = std::uint64_t(s.out_height) * std::uint64_t(s.out_width) * out_c * 9;
      break;
    case LayerKind::pwconv1x1:
      s.params = out_c * in_c + out_c;
      s.macs = std::uint64_t(height) * std::uint64_t(width) * in_c * out_c;
      break;
    case LayerKind::squeeze_excite: {
      const std::uint64_t hidden = std::uint64_t(d.hidden);
      s.params = hidden * in_c + hidden + in_c * hidden + in_c;
      s.macs = 2 * in_c * hidden;
      break;
    }
    case LayerKind::avgpool:
      s.out_height = s.out_width = 1;
      break;
    case LayerKind::linear:
      s.in_height = s.in_width = s.out_height = s.out_width = 1;
      s.params = in_c * out_c + out_c;
      s.macs = in_c * out_c;
      break;
  }
  s.weight_bytes = s.params * 4;
  s.activation_bytes = 4 * (std::uint64_t(s.in_height) * std::uint64_t(s.in_width) * in_c +
                            std::uint64_t(s.out_height) * std::uint64_t(s.out_width) * out_c);
  return s;
}

// Stats of every layer of a graph in order (the output size of one layer is the input of the next).
inline ModelStats model_stats(const std::vector<LayerDesc>& layers, int height, int width) {
  ModelStats m;
  m.layers.reserve(layers.size());
  int h = height, w = width;
  for (const LayerDesc& d : layers) {
    LayerStats s = layer_stats(d, h, w);
    h = s.out_height;
    w = s.out_width;
    m.macs += s.macs;
    m.params += s.params;
    m.layers.push_back(s);
  }
  return m;
}

// The layer's name as weights/convert.py --inspect prints it: the name stored in the blob (the converter stores
// Apple's module path: "stage0", "stage2.3", "stage4.1.se", "gap", "linear"), or, for a layer without one (a
// synthetic architecture), that module path rebuilt from its stage and block (tests/support/architecture.hpp's
// layer_module_name, the converter's rule).
inline std::string layer_name(const LayerStats& s) {
  const LayerDesc& d = s.desc;
  if (!d.name.empty()) return std::string(d.name);
  if (d.kind == LayerKind::avgpool) return "gap";
  if (d.kind == LayerKind::linear) return "linear";
  const std::string path = d.stage == 0 ? "stage0" : "stage" + std::to_string(d.stage) + "." + std::to_string(d.block);
  return d.kind == LayerKind::squeeze_excite ? path + ".se" : path;
}

// Input and output shape as weights/convert.py --inspect prints them: channels x height x width (PyTorch's
// order), the linear layer as channels alone: "128x28x28 -> 128x14x14", "1024 -> 1000".
inline std::string layer_shapes(const LayerStats& s) {
  if (s.desc.kind == LayerKind::linear) return std::to_string(s.in_channels) + " -> " + std::to_string(s.out_channels);
  const auto chw = [](int c, int h, int w) { return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w); };
  return chw(s.in_channels, s.in_height, s.in_width) + " -> " + chw(s.out_channels, s.out_height, s.out_width);
}

// A readable, stable label for a layer: "stage2.3/dw3x3_s1/C128_28x28" (stem: "stage0/conv3x3_s2/C3_224x224"),
// unique within a network and across input sizes: the benchmarks' names and the CSV/JSON "name" fields.
inline std::string layer_label(const LayerStats& s) {
  const LayerDesc& d = s.desc;
  std::string where;
  if (d.kind == LayerKind::avgpool || d.kind == LayerKind::linear) where = "head";
  else if (d.kind == LayerKind::conv3x3) where = "stage0";
  else where = "stage" + std::to_string(d.stage) + "." + std::to_string(d.block);
  std::string what = mobileone::layer_kind_name(d.kind);  // "conv3x3", "dw3x3", "pw1x1", "se", ...
  if (d.kind == LayerKind::conv3x3 || d.kind == LayerKind::dwconv3x3) what += "_s" + std::to_string(d.stride);
  if (d.kind == LayerKind::pwconv1x1) what += "_to" + std::to_string(d.out_channels);
  return where + "/" + what + "/C" + std::to_string(s.in_channels) + "_" + std::to_string(s.in_height) + "x" +
         std::to_string(s.in_width);
}

}  // namespace mobileone::bench
