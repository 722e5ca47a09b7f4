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

// Elementwise activations run as their own pass over a conv output stored without ReLU. MobileOne itself
// only needs ReLU fused into the conv epilogues; the others exist to measure what they would cost (the
// paper's Table 2, bench/ablation_net.hpp).
enum class Activation { relu, gelu, silu, hard_swish };

// GELU in the tanh form 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))), the form mobile runtimes fuse (within
// 5e-4 of the erf form). Every implementation evaluates it as x * sigmoid(2u) with u the tanh argument:
// the same function, since 0.5(1 + tanh(u)) = 1 / (1 + exp(-2u)), without the cancellation 1 + tanh(u)
// suffers for negative x.
inline constexpr float kGeluCubic = 0.044715f;
inline constexpr float kGeluSigmoidScale = 1.5957691216057308f;  // 2 sqrt(2/pi)

// The SIMD kernels' exp(x) = 2^n exp(r), n = round(x log2(e)), r = x - n ln(2) in [-ln(2)/2, ln(2)/2]
// (activation_x86.hpp, activation_neon.hpp).
namespace exp_constants {
// Clamp range of x: n stays in [-126, 127], so 2^n is a normal float and exp(x) is finite.
inline constexpr float kMin = -87.3f, kMax = 88.3f;
inline constexpr float kLog2e = 1.44269504f;
// ln(2) = kLn2Hi + kLn2Lo (Cody-Waite): kLn2Hi = 355/512 has 9 significant bits, so n * kLn2Hi is exact
// for |n| < 2^15 and r loses nothing to cancellation.
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
// exp(r) by its degree-6 Taylor polynomial, highest power first (Horner). On |r| <= ln(2)/2 the truncation
// error is below r^7 / 7! / exp(-ln(2)/2) = 1.7e-7 relative.
inline constexpr float kTaylor[7] = {1.f / 720, 1.f / 120, 1.f / 24, 1.f / 6, 0.5f, 1.f, 1.f};
}  // namespace exp_constants

// data[i] = activation(data[i]) in place, for elements [begin, end) of [0, count).
struct ActivationArgs {
  float* data;
  std::size_t count;
};

// Residual add: data[i] += addend[i], then optional ReLU, for elements [begin, end) of [0, count).
struct AddArgs {
  const float* addend;
  float* data;
  std::size_t count;
  bool relu;
};

}  // namespace mobileone::kernels
