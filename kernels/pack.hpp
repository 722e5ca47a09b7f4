// Weight packing, done once at load time (ruy-style: packing apart from compute). Inputs are PyTorch layouts
// as stored in the blob. Most layouts are shared by every kernel set; where kernel sets differ (the stem),
// each names its layout (kernel_set.hpp) and the model packs once per layout in use, shared by contexts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernel_args.hpp"

namespace mobileone::kernels {

inline std::size_t pointwise_panel_count(int out_channels) {
  return std::size_t(out_channels + kPanelWidth - 1) / kPanelWidth;
}

inline std::size_t pointwise_packed_size(int out_channels, int in_channels) {
  return pointwise_panel_count(out_channels) * std::size_t(in_channels) * kPanelWidth;
}

// Elements of pointwise panels in groups of `group` input channels (PointwiseArgsOf): [out/16][ceil(in/G)][16][G].
inline std::size_t pointwise_packed_size(int out_channels, int in_channels, int group) {
  const std::size_t groups = (std::size_t(in_channels) + std::size_t(group) - 1) / std::size_t(group);
  return pointwise_panel_count(out_channels) * groups * kPanelWidth * std::size_t(group);
}

// [out][in][1][1] float32 -> those panels of T (rounded to nearest even); elements outside the tensor are zero.
// With `diagonal` (square layers, [ceil(out/16) * 16]) W[c][c] goes there in float32 and the panels get 0.
template <class T>
void pack_pointwise_panels(const float* oihw, int out_channels, int in_channels, int group, T* packed,
                           float* diagonal = nullptr) {
  if (diagonal)
    for (std::size_t c = 0; c < pointwise_panel_count(out_channels) * kPanelWidth; ++c)
      diagonal[c] = c < std::size_t(out_channels) ? oihw[c * std::size_t(in_channels) + c] : 0.f;
  const std::size_t panels = pointwise_panel_count(out_channels), g = std::size_t(group);
  const std::size_t groups = (std::size_t(in_channels) + g - 1) / g;
  for (std::size_t panel = 0; panel < panels; ++panel)
    for (std::size_t k0 = 0; k0 < groups * g; k0 += g)
      for (int lane = 0; lane < kPanelWidth; ++lane)
        for (std::size_t e = 0; e < g; ++e) {
          const std::size_t co = panel * kPanelWidth + std::size_t(lane), ci = k0 + e;
          const bool inside = co < std::size_t(out_channels) && ci < std::size_t(in_channels) && !(diagonal && co == ci);
          *packed++ = from_float<T>(inside ? oihw[co * std::size_t(in_channels) + ci] : 0.f);
        }
}

// [out][in][1][1] -> panels [out/16][in][16]; missing output channels are zero.
inline void pack_pointwise_weights(const float* oihw, int out_channels, int in_channels, float* packed) {
  pack_pointwise_panels(oihw, out_channels, in_channels, 1, packed);
}

// [out] -> [out rounded up to 16], zero padded, so panel kernels read whole vectors.
inline void pack_pointwise_bias(const float* bias, int out_channels, float* packed) {
  const std::size_t padded = pointwise_panel_count(out_channels) * kPanelWidth;
  for (std::size_t c = 0; c < padded; ++c) packed[c] = c < std::size_t(out_channels) ? bias[c] : 0.f;
}

// How a kernel set wants the stem's weights.
enum class StemLayout {
  taps,    // [3][3][in][out] and the bias as stored (conv3x3_ref.hpp, conv3x3_neon.hpp)
  panels,  // the pointwise panels of the [9 * in] x [out] GEMM and the padded bias (conv3x3_x86.hpp)
};

inline std::size_t conv3x3_packed_size(StemLayout layout, int out_channels, int in_channels) {
  const std::size_t taps = std::size_t(9) * std::size_t(in_channels);
  return layout == StemLayout::taps ? taps * std::size_t(out_channels)
                                    : pointwise_panel_count(out_channels) * (taps + 1) * kPanelWidth;
}

// [out][in][3][3] -> [3][3][in][out]: one contiguous row of output channels per tap and input channel.
inline void pack_conv3x3_weights(const float* oihw, int out_channels, int in_channels, float* packed) {
  for (int tap = 0; tap < 9; ++tap)
    for (int ci = 0; ci < in_channels; ++ci)
      for (int co = 0; co < out_channels; ++co)
        *packed++ = oihw[(std::size_t(co) * std::size_t(in_channels) + std::size_t(ci)) * 9 + std::size_t(tap)];
}

// [C][1][3][3] -> [3][3][C]: tap-major so that each tap is a contiguous vector over channels.
inline void pack_dwconv3x3_weights(const float* c133, int channels, float* packed) {
  for (int tap = 0; tap < 9; ++tap)
    for (int c = 0; c < channels; ++c) *packed++ = c133[std::size_t(c) * 9 + std::size_t(tap)];
}

// [out][in][3][3] -> panels [out/16][3 * 3 * in][16] (k = (ky * 3 + kx) * in + ci, the order of the
// window's runs in the input), then the padded bias: the stem as a GEMM on the pointwise tiles.
inline void pack_conv3x3_panels(const float* oihw, const float* bias, int out_channels, int in_channels, float* packed) {
  const std::size_t panels = pointwise_panel_count(out_channels), cin = std::size_t(in_channels);
  for (std::size_t panel = 0; panel < panels; ++panel)
    for (std::size_t tap = 0; tap < 9; ++tap)
      for (std::size_t ci = 0; ci < cin; ++ci)
        for (int lane = 0; lane < kPanelWidth; ++lane) {
          const std::size_t co = panel * kPanelWidth + std::size_t(lane);
          *packed++ = co < std::size_t(out_channels) ? oihw[(co * cin + ci) * 9 + tap] : 0.f;
        }
  pack_pointwise_bias(bias, out_channels, packed);
}

// ---- int8 pointwise: panels [ceil(out/16)][ceil(in/4)][16][4] (QuantPointwiseArgs) ----
inline std::size_t quant_pointwise_groups(int in_channels) {
  return std::size_t(in_channels + kQuantGroup - 1) / kQuantGroup;
}

inline std::size_t quant_pointwise_packed_bytes(int out_channels, int in_channels) {
  return pointwise_panel_count(out_channels) * quant_pointwise_groups(in_channels) * kPanelWidth * kQuantGroup;
}

// [out][in] int8 -> the panels above, zero padded; column_sums[c] = sum_k W[c][k] over the padded channels.
inline void pack_quant_pointwise_weights(const std::int8_t* oi, int out_channels, int in_channels, std::int8_t* packed,
                                         std::int32_t* column_sums) {
  const std::size_t panels = pointwise_panel_count(out_channels), groups = quant_pointwise_groups(in_channels);
  for (std::size_t c = 0; c < panels * kPanelWidth; ++c) column_sums[c] = 0;
  for (std::size_t panel = 0; panel < panels; ++panel)
    for (std::size_t g = 0; g < groups; ++g)
      for (int lane = 0; lane < kPanelWidth; ++lane)
        for (int b = 0; b < kQuantGroup; ++b) {
          const std::size_t co = panel * kPanelWidth + std::size_t(lane), ci = g * kQuantGroup + std::size_t(b);
          const bool inside = co < std::size_t(out_channels) && ci < std::size_t(in_channels);
          const std::int8_t w = inside ? oi[co * std::size_t(in_channels) + ci] : std::int8_t(0);
          *packed++ = w;
          column_sums[co] += w;
        }
}

}  // namespace mobileone::kernels
