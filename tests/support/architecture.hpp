// MobileOne architectures as data: S0..S4 from the paper's Table 7 and any other depths, widths and SE
// placements. Used to build models with random weights (tests, on-device benchmarks without a weight
// file) and to count MACs and parameters.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mobileone/blob.hpp>
#include <mobileone/error.hpp>
#include <mobileone/kernels/kernel_args.hpp>

namespace mobileone {

struct Architecture {
  std::string name;
  int stem_channels = 48;
  std::vector<int> stage_units;     // depthwise+pointwise units per stage
  std::vector<int> stage_channels;  // output channels of each stage
  std::vector<int> se_units;        // trailing units of each stage with squeeze-excite
  int num_classes = 1000;

  static Architecture variant(std::string_view variant) {
    auto make = [&](int stem, std::vector<int> channels, std::vector<int> se) {
      return Architecture{std::string("mobileone_") + std::string(variant), stem, {2, 8, 10, 1}, std::move(channels),
                          std::move(se), 1000};
    };
    if (variant == "s0") return make(48, {48, 128, 256, 1024}, {0, 0, 0, 0});
    if (variant == "s1") return make(64, {96, 192, 512, 1280}, {0, 0, 0, 0});
    if (variant == "s2") return make(64, {96, 256, 640, 2048}, {0, 0, 0, 0});
    if (variant == "s3") return make(64, {128, 320, 768, 2048}, {0, 0, 0, 0});
    if (variant == "s4") return make(64, {192, 448, 896, 2048}, {0, 0, 5, 1});
    throw Error("unknown MobileOne variant '" + std::string(variant) + "' (s0..s4)");
  }
};

// The fused graph of an architecture, in blob order, without weights.
inline std::vector<LayerDesc> architecture_layers(const Architecture& arch) {
  if (arch.stage_units.size() != arch.stage_channels.size() || arch.se_units.size() != arch.stage_units.size())
    throw Error("architecture '" + arch.name + "': per-stage lists differ in length");
  std::vector<LayerDesc> layers;
  auto add = [&](LayerKind kind, int in, int out, int stride, int stage, int block, int hidden = 0) {
    LayerDesc d;
    d.kind = kind;
    d.in_channels = in;
    d.out_channels = out;
    d.stride = stride;
    d.relu = kind != LayerKind::avgpool && kind != LayerKind::linear;
    d.stage = stage;
    d.block = block;
    d.hidden = hidden;
    layers.push_back(d);
  };
  // Apple's SEBlock reduces to int(C * 0.0625) channels: 0 below 16 channels, a model PyTorch cannot run and
  // the blob validator refuses. At least 1 here, as tests/fixtures/make_variants.py does.
  auto se_hidden = [](int c) { return std::max(1, int(c * 0.0625)); };
  add(LayerKind::conv3x3, 3, arch.stem_channels, 2, 0, 0);
  int channels = arch.stem_channels;
  const int stages = int(arch.stage_units.size());
  for (int s = 0; s < stages; ++s) {
    const int units = arch.stage_units[std::size_t(s)], out = arch.stage_channels[std::size_t(s)];
    for (int unit = 0; unit < units; ++unit) {
      const bool se = unit >= units - arch.se_units[std::size_t(s)];
      add(LayerKind::dwconv3x3, channels, channels, unit == 0 ? 2 : 1, s + 1, 2 * unit);
      if (se) {
        layers.back().relu = false;
        add(LayerKind::squeeze_excite, channels, channels, 1, s + 1, 2 * unit, se_hidden(channels));
      }
      add(LayerKind::pwconv1x1, channels, out, 1, s + 1, 2 * unit + 1);
      if (se) {
        layers.back().relu = false;
        add(LayerKind::squeeze_excite, out, out, 1, s + 1, 2 * unit + 1, se_hidden(out));
      }
      channels = out;
    }
  }
  add(LayerKind::avgpool, channels, channels, 1, stages + 1, 0);
  add(LayerKind::linear, channels, arch.num_classes, 1, stages + 1, 0);
  return layers;
}

// Apple's module path of a layer, as the converter names it.
inline std::string layer_module_name(const LayerDesc& d) {
  if (d.kind == LayerKind::avgpool) return "gap";
  if (d.kind == LayerKind::linear) return "linear";
  std::string name = d.stage == 0 ? "stage0" : "stage" + std::to_string(d.stage) + "." + std::to_string(d.block);
  return d.kind == LayerKind::squeeze_excite ? name + ".se" : name;
}

}  // namespace mobileone
