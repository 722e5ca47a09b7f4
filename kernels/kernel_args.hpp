// The seam between the engine and its kernels: what every kernel of a family receives.
// Activations are NHWC (channels innermost) so that depthwise runs along contiguous channels and a
// 1x1 convolution is a plain GEMM [pixels x C_in] * [C_in x C_out]. Weights arrive packed (pack.hpp).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "half.hpp"

namespace mobileone::kernels {

// Activations are of the kernel set's element type T: float, or a 16-bit float (half.hpp) for the bf16 and
// fp16 kernel sets, which keep float32 where it costs little and guards accuracy: bias, depthwise and stem
// weights, the squeeze-excite gate, channel means, the logits. Each family's argument struct is a template
// on T; the float32 names (Conv3x3Args, ...) are its float instances.

// Output channels per packed 1x1 weight panel: one AVX-512 vector, two AVX2 vectors, four NEON vectors.
inline constexpr int kPanelWidth = 16;

inline constexpr int conv_output_size(int input, int stride) { return (input - 1) / stride + 1; }  // 3x3, pad 1

// Dense 3x3 convolution, padding 1 (the stem). Rows [row_begin, row_end) of the output. Its input is the
// preprocessed image (float32 whatever T) and its arithmetic float32; the output is rounded to T.
template <class T>
struct Conv3x3ArgsOf {
  const float* input;  // [in_height][in_width][in_channels]
  int in_height, in_width, in_channels;
  T* output;  // [out_height][out_width][out_channels]
  int out_height, out_width, out_channels;
  const float* weights;  // [3][3][in_channels][out_channels] or panels (pack.hpp, StemLayout)
  const float* bias;     // [out_channels]
  bool relu;
};
using Conv3x3Args = Conv3x3ArgsOf<float>;

// Depthwise 3x3 convolution, padding 1. Rows [row_begin, row_end) of the output. Float32 weights and
// arithmetic for every T (memory-bound: 16-bit activations are the saving, float32 FMAs cost nothing).
template <class T>
struct DepthwiseArgsOf {
  const T* input;  // [in_height][in_width][channels]
  int in_height, in_width, channels;
  T* output;  // [out_height][out_width][channels]
  int out_height, out_width;
  const float* weights;  // [3][3][channels]
  const float* bias;     // [channels]
  bool relu;
};
using DepthwiseArgs = DepthwiseArgsOf<float>;

// Pointwise 1x1 convolution as GEMM. Pixels [pixel_begin, pixel_end) x panels [panel_begin, panel_end).
// Every output is one FMA chain over input channels in increasing order, whatever the tiling, so results
// do not depend on how work is split between threads.
// 16-bit kernel sets take weights of T, packed in groups of G = the kernel set's kPointwiseGroup input
// channels (2 for the pair dot products vdpbf16ps and BFDOT, 1 for fp16 FMAs), and say in their own files
// whether they accumulate in float32 or in T. Their packings keep a square layer's diagonal apart in float32
// (`diagonal`; zero in the panels): it holds the folded identity branch (Sec. 3.3), ~1 against weights of
// ~0.01-0.1, and its rounding to bf16 is a systematic per-channel error that does not average out over
// pixels: measured on the real S0 (scalar bf16, apple tensor), max logit error 2.3e-2 with it rounded, 1.5e-2
// with it exact. The kernels add diagonal[c] * input[p][c] after the K loop, in float32.
template <class T>
struct PointwiseArgsOf {
  const T* input;  // [pixels][in_channels]
  T* output;       // [pixels][out_channels]
  std::size_t pixels;
  int in_channels, out_channels;
  // Panels [ceil(out/16)][ceil(in/G)][16][G]: for panel p, group g, lane l, element e: W[16p + l][Gg + e],
  // zero outside the tensor (pack_pointwise_panels; float32: G = 1).
  const T* weights;
  const float* bias;  // [ceil(out/16) * 16], zero padded
  bool relu;
  const float* diagonal = nullptr;  // [ceil(out/16) * 16] (in_channels == out_channels), or none; float32 sets: none
};
using PointwiseArgs = PointwiseArgsOf<float>;

// ---- int8 (weights/FORMAT.md, version 2) ----
// Activations feeding an int8 layer are uint8 with zero point 0 (every such input follows a ReLU):
// x = scale * q. Weights are symmetric int8 per output channel, K packed in groups of 4 (pack.hpp).
// Requantization is one rounding of a float epilogue, identical in every kernel set (and the reference):
//   v = fma(float(acc), scale[c], bias[c]);  v = relu ? max(v, 0) : v;
//   float output: v;   uint8 output: v > 0 ? (v < 255 ? nearbyint(v) : 255) : 0  (ties to even; NaN -> 0)
// where a uint8 output's scale and bias already include 1 / (the next layer's input scale).
inline constexpr int kQuantGroup = 4;  // input channels per packed int8 weight group (one 32-bit lane)

// The uint8 value of an epilogue result v (see above): saturating, round half to even.
inline std::uint8_t requantize_u8(float v) {
  return v > 0.f ? (v < 255.f ? std::uint8_t(std::nearbyint(v)) : std::uint8_t(255)) : std::uint8_t(0);
}

// Pointwise 1x1 convolution, uint8 x int8 -> int32, float epilogue. Pixels [pixel_begin, pixel_end) x
// panels [panel_begin, panel_end). Accumulation is exact (int32), so every kernel set gives identical bits.
struct QuantPointwiseArgs {
  const std::uint8_t* input;  // [pixels][in_channels]; kernels may read up to 64 bytes past the last pixel
  void* output;               // [pixels][out_channels], std::uint8_t when output_u8 else float
  std::size_t pixels;
  int in_channels, out_channels;
  // Panels [ceil(out/16)][ceil(in/4)][16][4]: for panel p, group g, lane l, byte b: W[16p + l][4g + b];
  // zero outside the tensor (pack_quant_pointwise_weights).
  const std::int8_t* weights;
  const float* scale;  // [ceil(out/16) * 16]: input scale * weight scale (/ output scale for uint8 output)
  const float* bias;   // [ceil(out/16) * 16]
  // Column sums sum_k W[c][k] per output channel [ceil(out/16) * 16], for kernels that run signed x signed
  // dot products on activations shifted by -128 (NEON SDOT): acc = dot(q - 128, W) + 128 * column_sum.
  const std::int32_t* column_sums;
  // Square layers whose identity branch was folded in keep that diagonal apart (it dwarfs the other
  // weights): acc[p][c] += diagonal[c] * input[p][c], in units of the weight scale. nullptr if none.
  const std::int32_t* diagonal;  // [ceil(out/16) * 16]
  bool relu;
  bool output_u8;
};

// Depthwise 3x3, padding 1, on uint8 activations: fp32 weights (the input scale folded in) and fp32
// accumulation, the same tap order as the fp32 kernels; output rows [row_begin, row_end).
struct QuantDepthwiseArgs {
  const std::uint8_t* input;  // [in_height][in_width][channels]
  int in_height, in_width, channels;
  void* output;  // [out_height][out_width][channels], std::uint8_t when output_u8 else float
  int out_height, out_width;
  const float* weights;  // [3][3][channels]: weight * input scale (/ output scale for uint8 output)
  const float* bias;     // [channels] (/ output scale for uint8 output)
  bool relu;
  bool output_u8;
};

// float -> uint8 activations for an int8 layer whose producer wrote floats: requantize_u8(x * inv_scale),
// elements [begin, end) of [0, count).
struct QuantizeArgs {
  const float* input;
  std::uint8_t* output;
  std::size_t count;
  float inv_scale;
};

// Mean over pixels of channels [channel_begin, channel_end): global average pool and SE's squeeze.
// Sums in float32 for every T.
template <class T>
struct ChannelMeanArgsOf {
  const T* input;  // [pixels][channels]
  std::size_t pixels;
  int channels;
  float* output;  // [channels]
};
using ChannelMeanArgs = ChannelMeanArgsOf<float>;

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

// data[p][c] *= gate[c], then optional ReLU, for pixels [pixel_begin, pixel_end); the product in float32,
// rounded to T.
template <class T>
struct ScaleChannelsArgsOf {
  T* data;  // [pixels][channels]
  int channels;
  const float* gate;  // [channels]
  bool relu;
};
using ScaleChannelsArgs = ScaleChannelsArgsOf<float>;

// Fully connected layer, outputs [out_begin, out_end). Weights of T (the layer streams them: half the
// bytes for 16-bit sets), input, arithmetic and logits float32.
template <class T>
struct LinearArgsOf {
  const float* input;  // [in_features]
  int in_features;
  float* output;  // [out_features]
  int out_features;
  const T* weights;   // [out_features][in_features]
  const float* bias;  // [out_features]
};
using LinearArgs = LinearArgsOf<float>;

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
