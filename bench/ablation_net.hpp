// The paper's Sec. 3.2 ablation (Tables 2 and 3) with the engine's own kernels: a 30-layer convolutional
// network timed with different activation functions, then with squeeze-excite blocks and skip connections.
//
// The network (batch 1, input 224x224x3; the stem is not one of the 30 layers):
//   stem   conv3x3 stride 2, 3 -> 32 channels                                      -> 112x112
//   15 depthwise-separable units, dw3x3 (stride s) then pw1x1 (-> C), as C/s:
//          64/1 | 128/2 128/1 | 256/2 256/1 256/1 | 512/2 512/1 x6 | 1024/2 1024/1  -> 7x7
//   head   global average pool, linear 1024 -> 1000
// i.e. MobileNet-v1's widths and strides with one more unit at 28x28 and at 14x14, for 30 layers.
//
// Variants (the architecture and the conv weights are the same in all of them):
//   relu        ReLU fused into every conv's epilogue, as the engine runs MobileOne: the baseline
//   gelu, silu, hard_swish
//               every conv (stem included) stored without ReLU, then one activation pass over its output
//               (kernels/activation_*.hpp), split between threads like the conv
//   se_relu     relu plus a squeeze-excite block on every unit's output (hidden = C/16), the engine's SE
//               layer, whose channel scale applies the ReLU (MobileOne's SE-ReLU): Table 2's SE-ReLU and
//               Table 3's "+ Squeeze-Excite"
//   skip        se_relu plus a residual connection around every unit whose input and output shapes agree
//               (10 of the 15): y = relu(se(pw(dw(x))) + x), the SE scale without ReLU and then one add
//               pass with the ReLU fused. Cumulative, as the paper's Table 3: "+ Skip connections".
// Activations live in three rotating buffers, so a unit's input is still there for its residual add, in
// every variant alike; nothing is allocated by run().
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <mobileone/detail/aligned_buffer.hpp>
#include <mobileone/detail/thread_pool.hpp>
#include <mobileone/dispatch.hpp>
#include <mobileone/error.hpp>
#include <mobileone/isa.hpp>
#include <mobileone/layers.hpp>
#include <mobileone/model.hpp>

#include "bench_common.hpp"
#include "model_stats.hpp"
#include "statistics.hpp"
#include "support/blob_writer.hpp"

namespace mobileone::bench {

enum class AblationVariant { relu, gelu, silu, hard_swish, se_relu, skip };

// The rows of Table 2 (the paper's order, plus Hard-Swish) and of Table 3.
inline constexpr AblationVariant kActivationAblation[] = {AblationVariant::relu, AblationVariant::gelu,
                                                          AblationVariant::se_relu, AblationVariant::silu,
                                                          AblationVariant::hard_swish};
inline constexpr AblationVariant kBlockAblation[] = {AblationVariant::relu, AblationVariant::se_relu,
                                                     AblationVariant::skip};

inline const char* ablation_variant_name(AblationVariant v) {
  switch (v) {
    case AblationVariant::relu: return "ReLU";
    case AblationVariant::gelu: return "GELU";
    case AblationVariant::silu: return "SiLU";
    case AblationVariant::hard_swish: return "Hard-Swish";
    case AblationVariant::se_relu: return "SE-ReLU";
    case AblationVariant::skip: return "SE-ReLU + skip";
  }
  return "unknown";
}

struct AblationUnit {
  int out_channels, stride;
};

inline constexpr int kAblationStemChannels = 32;
inline constexpr AblationUnit kAblationUnits[] = {{64, 1},  {128, 2}, {128, 1}, {256, 2},  {256, 1},
                                                  {256, 1}, {512, 2}, {512, 1}, {512, 1},  {512, 1},
                                                  {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
inline constexpr int kAblationClasses = 1000;
inline constexpr int kAblationSeReduction = 16;

// The network in one line, for a printed header.
inline std::string ablation_network_summary() {
  std::string s = "stem conv3x3 s2 3->" + std::to_string(kAblationStemChannels) + " (not counted), " +
                  std::to_string(std::size(kAblationUnits)) + " x [dw3x3 s + pw1x1 -> C] as C/s:";
  for (const AblationUnit& u : kAblationUnits) s += " " + std::to_string(u.out_channels) + "/" + std::to_string(u.stride);
  return s + ", global avgpool, linear " + std::to_string(kAblationClasses);
}

// The activation run as its own pass after every conv, if the variant has one.
inline std::optional<kernels::Activation> separate_activation(AblationVariant v) {
  switch (v) {
    case AblationVariant::gelu: return kernels::Activation::gelu;
    case AblationVariant::silu: return kernels::Activation::silu;
    case AblationVariant::hard_swish: return kernels::Activation::hard_swish;
    default: return std::nullopt;
  }
}

inline bool has_squeeze_excite(AblationVariant v) { return v == AblationVariant::se_relu || v == AblationVariant::skip; }

// A unit gets a residual connection (in the skip variant) when its input and output shapes agree.
inline bool unit_has_skip(int in_channels, const AblationUnit& unit) {
  return unit.stride == 1 && in_channels == unit.out_channels;
}

// The graph of a variant, in blob order, without weights. One stage per unit.
inline std::vector<LayerDesc> ablation_layers(AblationVariant v) {
  const bool fused_relu = !separate_activation(v), se = has_squeeze_excite(v);
  std::vector<LayerDesc> layers;
  auto add = [&](LayerKind kind, int in, int out, int stride, int stage, int block, bool relu, int hidden = 0) {
    LayerDesc d;
    d.kind = kind;
    d.in_channels = in;
    d.out_channels = out;
    d.stride = stride;
    d.relu = relu;
    d.stage = stage;
    d.block = block;
    d.hidden = hidden;
    layers.push_back(d);
  };
  add(LayerKind::conv3x3, 3, kAblationStemChannels, 2, 0, 0, fused_relu);
  int channels = kAblationStemChannels, stage = 0;
  for (const AblationUnit& unit : kAblationUnits) {
    ++stage;
    add(LayerKind::dwconv3x3, channels, channels, unit.stride, stage, 0, fused_relu);
    add(LayerKind::pwconv1x1, channels, unit.out_channels, 1, stage, 1, fused_relu && !se);
    if (se) {
      const bool relu_after_add = v == AblationVariant::skip && unit_has_skip(channels, unit);
      add(LayerKind::squeeze_excite, unit.out_channels, unit.out_channels, 1, stage, 1, !relu_after_add,
          unit.out_channels / kAblationSeReduction);
    }
    channels = unit.out_channels;
  }
  add(LayerKind::avgpool, channels, channels, 1, stage + 1, 0, false);
  add(LayerKind::linear, channels, kAblationClasses, 1, stage + 1, 0, false);
  return layers;
}

// A blob of the variant with He-scaled uniform random weights (as mobileone::random_model_blob). The
// squeeze-excite weights come from their own generator, so every variant has the same conv weights.
inline std::vector<unsigned char> ablation_blob(AblationVariant v, std::uint64_t seed, int input_size) {
  WeightRandom conv_random(seed), se_random(seed ^ 0x5E5E5E5E5E5E5E5Eull);
  auto tensor = [](WeightRandom& random, std::string name, std::vector<std::uint32_t> shape, float bound) {
    std::size_t n = 1;
    for (std::uint32_t d : shape) n *= d;
    TensorData t{std::move(name), std::move(shape), std::vector<float>(n)};
    for (float& x : t.values) x = random.uniform(-bound, bound);
    return t;
  };
  auto he = [](std::uint32_t fan_in) { return std::sqrt(6.f / float(fan_in)); };
  std::vector<LayerData> layers;
  for (const LayerDesc& d : ablation_layers(v)) {
    LayerData l{d, std::string(layer_kind_name(d.kind)) + "." + std::to_string(layers.size()), {}};
    const std::uint32_t in = std::uint32_t(d.in_channels), out = std::uint32_t(d.out_channels), h = std::uint32_t(d.hidden);
    WeightRandom& r = conv_random;
    switch (d.kind) {
      case LayerKind::conv3x3:
        l.tensors = {tensor(r, l.name + ".weight", {out, in, 3, 3}, he(in * 9)), tensor(r, l.name + ".bias", {out}, 0.1f)};
        break;
      case LayerKind::dwconv3x3:
        l.tensors = {tensor(r, l.name + ".weight", {out, 1, 3, 3}, he(9)), tensor(r, l.name + ".bias", {out}, 0.1f)};
        break;
      case LayerKind::pwconv1x1:
        l.tensors = {tensor(r, l.name + ".weight", {out, in, 1, 1}, he(in)), tensor(r, l.name + ".bias", {out}, 0.1f)};
        break;
      case LayerKind::squeeze_excite:
        l.tensors = {tensor(se_random, l.name + ".reduce.weight", {h, in, 1, 1}, he(in)),
                     tensor(se_random, l.name + ".reduce.bias", {h}, 0.1f),
                     tensor(se_random, l.name + ".expand.weight", {in, h, 1, 1}, he(h)),
                     tensor(se_random, l.name + ".expand.bias", {in}, 0.5f)};
        break;
      case LayerKind::avgpool: break;
      case LayerKind::linear:
        l.tensors = {tensor(r, l.name + ".weight", {out, in}, he(in)), tensor(r, l.name + ".bias", {out}, 0.1f)};
        break;
    }
    layers.push_back(std::move(l));
  }
  PreprocessSpec preprocess;
  preprocess.input_height = preprocess.input_width = input_size;
  std::vector<std::string> labels;
  for (int c = 0; c < kAblationClasses; ++c) labels.push_back("class_" + std::to_string(c));
  return write_blob(std::string("ablation_") + ablation_variant_name(v), preprocess, layers, labels);
}

// One variant, ready to run on a fixed random input. Owns its thread pool: one run() at a time.
class AblationNet {
 public:
  // input_size: the square input's side (224 in the paper; tests use small ones).
  AblationNet(AblationVariant variant, Isa isa, int threads, std::uint64_t seed = kDefaultSeed, int input_size = 224)
      : variant_(variant),
        isa_(resolve_isa(isa)),
        pool_(threads),
        input_size_(input_size),
        model_(load(variant, seed, input_size)),
        activation_(separate_activation(variant)),
        input_(random_input(input_size, input_size)) {
    if (threads < 1) throw Error("thread count must be >= 1");
    plan();
  }

  void run() {
    detail::with_f32_kernel_set(isa_, [&](auto kernels) { run_with<decltype(kernels)>(); });
  }

  AblationVariant variant() const { return variant_; }
  const char* name() const { return ablation_variant_name(variant_); }
  Isa isa() const { return isa_; }
  int threads() const { return pool_.threads(); }
  int input_size() const { return input_size_; }
  const Model& model() const { return model_; }
  // The input, [3][input_size][input_size] (what Context::run takes).
  const std::vector<float>& input() const { return input_; }
  // Results of the last run().
  const std::vector<float>& logits() const { return logits_; }
  // Multiply-adds of one run (bench/model_stats.hpp rules; activations and adds count none).
  double macs() const { return macs_; }
  // Convolution layers, the stem excepted: the paper's 30.
  std::size_t layers() const { return 2 * std::size(kAblationUnits); }

 private:
  // One engine layer and the passes that follow it.
  struct Step {
    detail::LayerStep layer;
    std::size_t elements = 0;       // of the layer's output
    bool apply_activation = false;  // activation_ over the output
    const float* residual = nullptr;  // added to the output (then ReLU), if set
  };

  static Model load(AblationVariant variant, std::uint64_t seed, int input_size) {
    const std::vector<unsigned char> blob = ablation_blob(variant, seed, input_size);
    return Model::from_buffer(blob.data(), blob.size());
  }

  void plan() {
    // Packed for this ISA's kernel set, as a Context would.
    const auto& layers =
        detail::with_f32_kernel_set(isa_, [&](auto kernels) -> const detail::PackedWeights& {
          return detail::packed_weights(detail::ModelAccess::data(model_), decltype(kernels)::stem_layout);
        }).layers;
    const ModelStats stats = model_stats(model_.layers(), input_size_, input_size_);
    macs_ = double(stats.macs);
    std::size_t largest = 0, widest = 0, hidden = 1;
    for (const LayerStats& s : stats.layers) {
      largest = std::max(largest, std::size_t(s.out_height) * std::size_t(s.out_width) * std::size_t(s.out_channels));
      widest = std::max(widest, std::size_t(s.out_channels));
      hidden = std::max(hidden, std::size_t(s.desc.hidden));
    }
    for (auto& buffer : buffers_) buffer.resize_discard(largest);
    mean_.resize_discard(widest);
    gate_.resize_discard(widest);
    hidden_.resize_discard(hidden);
    pooled_.resize_discard(widest);
    logits_.resize(std::size_t(model_.num_classes()));
    nhwc_.resize_discard(input_.size());
    const std::size_t plane = std::size_t(input_size_) * std::size_t(input_size_);
    for (std::size_t p = 0; p < plane; ++p)
      for (std::size_t c = 0; c < 3; ++c) nhwc_.data()[p * 3 + c] = input_[c * plane + p];

    // The current activation is buffers_[current] (the stem writes buffer 0); a unit writes its depthwise
    // output to the next buffer and its pointwise output to the one after, keeping its input intact.
    float* x = nhwc_.data();
    std::size_t current = 0;
    const float* unit_input = nullptr;
    std::array<int, 3> unit_input_shape{};  // height, width, channels
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const LayerDesc& d = layers[i].desc;
      const LayerStats& s = stats.layers[i];
      Step step;
      step.elements = std::size_t(s.out_height) * std::size_t(s.out_width) * std::size_t(s.out_channels);
      float* out = x;  // squeeze-excite: in place
      switch (d.kind) {
        case LayerKind::conv3x3: out = buffers_[current].data(); break;
        case LayerKind::dwconv3x3:
          unit_input = x;
          unit_input_shape = {s.in_height, s.in_width, s.in_channels};
          out = buffers_[(current + 1) % 3].data();
          break;
        case LayerKind::pwconv1x1:
          current = (current + 2) % 3;
          out = buffers_[current].data();
          break;
        case LayerKind::squeeze_excite:
          // The unit's last layer: the residual joins here when the unit keeps its shape.
          if (variant_ == AblationVariant::skip &&
              unit_input_shape == std::array<int, 3>{s.out_height, s.out_width, s.out_channels})
            step.residual = unit_input;
          break;
        case LayerKind::avgpool: out = pooled_.data(); break;
        case LayerKind::linear: out = logits_.data(); break;
      }
      step.layer = {&layers[i], x, out, s.in_height, s.in_width, s.out_height, s.out_width};
      step.apply_activation = activation_ && (d.kind == LayerKind::conv3x3 || d.kind == LayerKind::dwconv3x3 ||
                                              d.kind == LayerKind::pwconv1x1);
      steps_.push_back(step);
      x = out;
    }
  }

  template <class K>
  void run_with() {
    const detail::LayerScratch scratch{mean_.data(), hidden_.data(), gate_.data()};
    for (const Step& s : steps_) {
      detail::run_layer<K>(s.layer, scratch, pool_);
      if (s.apply_activation) activate<K>(*activation_, s.layer.output, s.elements);
      if (s.residual) {
        const kernels::AddArgs args{s.residual, s.layer.output, s.elements, true};
        elementwise(s.elements, [&](std::size_t begin, std::size_t end) { K::add(args, begin, end); });
      }
    }
  }

  template <class K, kernels::Activation A>
  void activate_as(float* data, std::size_t count) {
    const kernels::ActivationArgs args{data, count};
    elementwise(count, [&](std::size_t begin, std::size_t end) { K::template activate<A>(args, begin, end); });
  }

  template <class K>
  void activate(kernels::Activation a, float* data, std::size_t count) {
    switch (a) {
      case kernels::Activation::relu: return activate_as<K, kernels::Activation::relu>(data, count);
      case kernels::Activation::gelu: return activate_as<K, kernels::Activation::gelu>(data, count);
      case kernels::Activation::silu: return activate_as<K, kernels::Activation::silu>(data, count);
      case kernels::Activation::hard_swish: return activate_as<K, kernels::Activation::hard_swish>(data, count);
    }
  }

  // fn(begin, end) over [0, count) split between the threads at cache-line (16-float) boundaries, so no
  // two threads write the same line.
  template <class Fn>
  void elementwise(std::size_t count, const Fn& fn) {
    constexpr std::size_t kLine = 16;
    detail::parallel_chunks(pool_, (count + kLine - 1) / kLine, detail::task_target(pool_),
                            [&](std::size_t b0, std::size_t b1) { fn(b0 * kLine, std::min(b1 * kLine, count)); });
  }

  AblationVariant variant_;
  Isa isa_;
  detail::ThreadPool pool_;
  int input_size_;
  Model model_;
  std::optional<kernels::Activation> activation_;
  std::vector<float> input_;
  double macs_ = 0.0;
  std::vector<Step> steps_;
  detail::AlignedBuffer<float> nhwc_, buffers_[3], mean_, gate_, hidden_, pooled_;
  std::vector<float> logits_;
};

struct AblationRow {
  std::string name;
  double median_ms = 0.0, min_ms = 0.0;
  double relative_to_relu = 0.0;      // median / the ReLU baseline's median
  double min_relative_to_relu = 0.0;  // min / the baseline's min: steadier on a busy machine
};

// Times the variants with the paper's protocol (warm-up runs, then `iterations` timed runs, median and
// minimum), interleaved: timed round r runs every network once, so a drift of the machine's speed (turbo,
// other processes) spreads over all of them instead of biasing whichever was timed first. The ReLU
// baseline is timed too when not listed.
inline std::vector<AblationRow> time_ablation(std::vector<AblationVariant> variants, Isa isa, int threads, int warmup,
                                              int iterations, std::uint64_t seed = kDefaultSeed, int input_size = 224) {
  if (iterations < 1) throw Error("time_ablation: needs at least one timed iteration");
  const bool relu_listed = std::find(variants.begin(), variants.end(), AblationVariant::relu) != variants.end();
  if (!relu_listed) variants.push_back(AblationVariant::relu);
  std::vector<std::unique_ptr<AblationNet>> nets;
  for (AblationVariant v : variants) nets.push_back(std::make_unique<AblationNet>(v, isa, threads, seed, input_size));
  for (int i = 0; i < warmup; ++i)
    for (auto& net : nets) net->run();
  std::vector<std::vector<double>> ms(nets.size(), std::vector<double>(std::size_t(iterations)));
  for (std::size_t round = 0; round < std::size_t(iterations); ++round)
    for (std::size_t n = 0; n < nets.size(); ++n) {
      const auto start = std::chrono::steady_clock::now();
      nets[n]->run();
      ms[n][round] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
  std::vector<AblationRow> rows;
  for (std::size_t n = 0; n < nets.size(); ++n) rows.push_back({nets[n]->name(), median(ms[n]), minimum(ms[n])});
  const std::size_t relu = std::size_t(std::find(variants.begin(), variants.end(), AblationVariant::relu) - variants.begin());
  const AblationRow baseline = rows[relu];
  for (AblationRow& row : rows) {
    row.relative_to_relu = row.median_ms / baseline.median_ms;
    row.min_relative_to_relu = row.min_ms / baseline.min_ms;
  }
  if (!relu_listed) rows.pop_back();
  return rows;
}

}  // namespace mobileone::bench
