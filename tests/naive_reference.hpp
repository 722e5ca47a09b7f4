// An independent reference forward pass for tests: PyTorch semantics written as plain loops over NCHW in
// double precision, reading the blob's PyTorch-layout tensors directly (no packing, no engine code).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <mobileone/blob.hpp>

namespace mobileone::testing {

struct NchwTensor {
  int channels = 0, height = 0, width = 0;
  std::vector<double> data;
  double& at(int c, int y, int x) { return data[(std::size_t(c) * height + y) * width + x]; }
  double at(int c, int y, int x) const { return data[(std::size_t(c) * height + y) * width + x]; }
};

inline NchwTensor naive_conv3x3(const NchwTensor& in, const LayerDesc& d, bool depthwise) {
  NchwTensor out{d.out_channels, (in.height - 1) / d.stride + 1, (in.width - 1) / d.stride + 1, {}};
  out.data.assign(std::size_t(out.channels) * out.height * out.width, 0.0);
  const float* w = d.tensors[0].data;
  const float* b = d.tensors[1].data;
  const int group_in = depthwise ? 1 : d.in_channels;
  for (int co = 0; co < out.channels; ++co)
    for (int oy = 0; oy < out.height; ++oy)
      for (int ox = 0; ox < out.width; ++ox) {
        double acc = b[co];
        for (int gi = 0; gi < group_in; ++gi) {
          const int ci = depthwise ? co : gi;
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int iy = oy * d.stride + ky - 1, ix = ox * d.stride + kx - 1;
              if (iy < 0 || iy >= in.height || ix < 0 || ix >= in.width) continue;
              acc += double(w[((std::size_t(co) * group_in + gi) * 3 + ky) * 3 + kx]) * in.at(ci, iy, ix);
            }
        }
        out.at(co, oy, ox) = acc;
      }
  return out;
}

inline NchwTensor naive_pointwise(const NchwTensor& in, const LayerDesc& d) {
  NchwTensor out{d.out_channels, in.height, in.width, {}};
  out.data.assign(std::size_t(out.channels) * out.height * out.width, 0.0);
  const float* w = d.tensors[0].data;
  const float* b = d.tensors[1].data;
  const std::size_t plane = std::size_t(in.height) * in.width;
  for (int co = 0; co < out.channels; ++co)
    for (std::size_t p = 0; p < plane; ++p) {
      double acc = b[co];
      for (int ci = 0; ci < in.channels; ++ci) acc += double(w[std::size_t(co) * in.channels + ci]) * in.data[ci * plane + p];
      out.data[co * plane + p] = acc;
    }
  return out;
}

// An int8 pointwise layer (FORMAT.md version 2) on its effective weights scale[c] * (W[c][k] + diagonal).
inline NchwTensor naive_pointwise_int8(const NchwTensor& in, const LayerDesc& d) {
  NchwTensor out{d.out_channels, in.height, in.width, {}};
  out.data.assign(std::size_t(out.channels) * out.height * out.width, 0.0);
  const auto* w = static_cast<const std::int8_t*>(d.tensors[0].bytes);
  const float* b = d.tensors[1].data;
  const float* scale = d.tensors[2].data;
  const auto* diagonal = static_cast<const std::int32_t*>(d.tensors[3].bytes);
  const std::size_t plane = std::size_t(in.height) * in.width;
  for (int co = 0; co < out.channels; ++co)
    for (std::size_t p = 0; p < plane; ++p) {
      double acc = 0.0;
      for (int ci = 0; ci < in.channels; ++ci)
        acc += (double(w[std::size_t(co) * in.channels + ci]) + (diagonal && ci == co ? double(diagonal[co]) : 0.0)) *
               in.data[ci * plane + p];
      out.data[co * plane + p] = acc * double(scale[co]) + double(b[co]);
    }
  return out;
}

// An int8 layer's input as the layer sees it: uint8 with zero point 0 at `scale`, dequantized.
inline void naive_quantize(NchwTensor& x, float scale) {
  for (double& v : x.data) v = double(scale) * std::clamp(std::nearbyint(v / double(scale)), 0.0, 255.0);
}

inline void naive_squeeze_excite(NchwTensor& x, const LayerDesc& d) {
  const std::size_t plane = std::size_t(x.height) * x.width;
  std::vector<double> mean(std::size_t(x.channels)), hidden(std::size_t(d.hidden));
  for (int c = 0; c < x.channels; ++c) {
    for (std::size_t p = 0; p < plane; ++p) mean[c] += x.data[c * plane + p];
    mean[c] /= double(plane);
  }
  for (int h = 0; h < d.hidden; ++h) {
    double acc = d.tensors[1].data[h];
    for (int c = 0; c < x.channels; ++c) acc += double(d.tensors[0].data[std::size_t(h) * x.channels + c]) * mean[c];
    hidden[h] = std::max(acc, 0.0);
  }
  for (int c = 0; c < x.channels; ++c) {
    double acc = d.tensors[3].data[c];
    for (int h = 0; h < d.hidden; ++h) acc += double(d.tensors[2].data[std::size_t(c) * d.hidden + h]) * hidden[h];
    const double gate = 1.0 / (1.0 + std::exp(-acc));
    for (std::size_t p = 0; p < plane; ++p) x.data[c * plane + p] *= gate;
  }
}

struct NaiveResult {
  std::vector<NchwTensor> stage_outputs;  // index = stage
  std::vector<double> logits;
};

// Runs the blob's graph on an NCHW float input of size [3][height][width]; int8 layers (format version 2)
// on their effective weights and, unless quantize_activations is false, their uint8 inputs; everything else
// in double.
inline NaiveResult naive_forward(const BlobView& blob, const float* input, int height, int width,
                                 bool quantize_activations = true) {
  NchwTensor x{3, height, width, std::vector<double>(input, input + std::size_t(3) * height * width)};
  NaiveResult result;
  result.stage_outputs.resize(std::size_t(blob.num_stages) + 1);
  std::vector<double> pooled;
  for (const LayerDesc& d : blob.layers) {
    const bool int8 = d.precision == LayerPrecision::int8;
    if (int8 && quantize_activations) naive_quantize(x, d.input_scale);
    switch (d.kind) {
      case LayerKind::conv3x3: x = naive_conv3x3(x, d, false); break;
      case LayerKind::dwconv3x3: x = naive_conv3x3(x, d, true); break;
      case LayerKind::pwconv1x1: x = int8 ? naive_pointwise_int8(x, d) : naive_pointwise(x, d); break;
      case LayerKind::squeeze_excite: naive_squeeze_excite(x, d); break;
      case LayerKind::avgpool: {
        const std::size_t plane = std::size_t(x.height) * x.width;
        pooled.assign(std::size_t(x.channels), 0.0);
        for (int c = 0; c < x.channels; ++c) {
          for (std::size_t p = 0; p < plane; ++p) pooled[c] += x.data[c * plane + p];
          pooled[c] /= double(plane);
        }
        continue;
      }
      case LayerKind::linear:
        result.logits.assign(std::size_t(d.out_channels), 0.0);
        for (int o = 0; o < d.out_channels; ++o) {
          double acc = d.tensors[1].data[o];
          for (int i = 0; i < d.in_channels; ++i) acc += double(d.tensors[0].data[std::size_t(o) * d.in_channels + i]) * pooled[i];
          result.logits[o] = acc;
        }
        continue;
    }
    if (d.relu)
      for (double& v : x.data) v = std::max(v, 0.0);
    result.stage_outputs[std::size_t(d.stage)] = x;
  }
  return result;
}

// max|a - b| / max|b|: the tolerance measure the shared references are specified with.
template <class A, class B>
double max_relative_difference(const A& a, const B& b) {
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - double(b[i])));
    scale = std::max(scale, std::fabs(double(b[i])));
  }
  return diff / scale;
}

// An engine feature map (NHWC floats) in the naive reference's NCHW order, for comparison with it.
inline std::vector<double> nchw_values(const float* nhwc, int height, int width, int channels) {
  std::vector<double> values(std::size_t(channels) * std::size_t(height) * std::size_t(width));
  for (int c = 0; c < channels; ++c)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        values[(std::size_t(c) * std::size_t(height) + std::size_t(y)) * std::size_t(width) + std::size_t(x)] =
            nhwc[(std::size_t(y) * std::size_t(width) + std::size_t(x)) * std::size_t(channels) + std::size_t(c)];
  return values;
}

}  // namespace mobileone::testing
