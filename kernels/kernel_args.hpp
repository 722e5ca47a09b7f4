// The seam between the engine and its kernels: what every kernel of a family receives.
// Activations are NHWC (channels innermost) so that depthwise runs along contiguous channels and a
// 1x1 convolution is a plain GEMM [pixels x C_in] * [C_in x C_out]. Weights arrive packed (pack.hpp).
#pragma once

#include <cstddef>

namespace mobileone::kernels {

// Output channels per packed 1x1 weight panel: one AVX-512 vector, two AVX2 vectors, four NEON vectors.
inline constexpr int kPanelWidth = 16;

inline constexpr int conv_output_size(int input, int stride) { return (input - 1) / stride + 1; }  // 3x3, pad 1

// Dense 3x3 convolution, padding 1 (the stem). Rows [row_begin, row_end) of the output.
struct Conv3x3Args {
  const float* input;  // [in_height][in_width][in_channels]
  int in_height, in_width, in_channels;
  float* output;  // [out_height][out_width][out_channels]
  int out_height, out_width, out_channels;
  const float* weights;  // [3][3][in_channels][out_channels]
  const float* bias;     // [out_channels]
  bool relu;
};

// Depthwise 3x3 convolution, padding 1. Rows [row_begin, row_end) of the output.
struct DepthwiseArgs {
  const float* input;  // [in_height][in_width][channels]
  int in_height, in_width, channels;
  float* output;  // [out_height][out_width][channels]
  int out_height, out_width;
  const float* weights;  // [3][3][channels]
  const float* bias;     // [channels]
  bool relu;
};

// Pointwise 1x1 convolution as GEMM. Pixels [pixel_begin, pixel_end) x panels [panel_begin, panel_end).
// Every output is one FMA chain over input channels in increasing order, whatever the tiling, so results
// do not depend on how work is split between threads.
struct PointwiseArgs {
  const float* input;  // [pixels][in_channels]
  float* output;       // [pixels][out_channels]
  std::size_t pixels;
  int in_channels, out_channels;
  const float* weights;  // panels [ceil(out/16)][in_channels][16], zero padded
  const float* bias;     // [ceil(out/16) * 16], zero padded
  bool relu;
};

// Mean over pixels of channels [channel_begin, channel_end): global average pool and SE's squeeze.
struct ChannelMeanArgs {
  const float* input;  // [pixels][channels]
  std::size_t pixels;
  int channels;
  float* output;  // [channels]
};

// Squeeze-excite gate from the channel means: sigmoid(We relu(Wr mean + br) + be).
struct SeGateArgs {
  const float* mean;  // [channels]
  int channels, hidden;
  const float* reduce_weights;  // [hidden][channels]
  const float* reduce_bias;     // [hidden]
  const float* expand_weights;  // [channels][hidden]
  const float* expand_bias;     // [channels]
  float* hidden_scratch;        // [hidden]
  float* gate;                  // [channels]
};

// data[p][c] *= gate[c], then optional ReLU, for pixels [pixel_begin, pixel_end).
struct ScaleChannelsArgs {
  float* data;  // [pixels][channels]
  int channels;
  const float* gate;  // [channels]
  bool relu;
};

// Fully connected layer, outputs [out_begin, out_end).
struct LinearArgs {
  const float* input;  // [in_features]
  int in_features;
  float* output;  // [out_features]
  int out_features;
  const float* weights;  // [out_features][in_features]
  const float* bias;     // [out_features]
};

}  // namespace mobileone::kernels
