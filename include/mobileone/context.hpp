// A Context runs a Model: it owns the workspace (reused across runs: no allocation per inference once
// the input size has been seen), the thread pool and the results. One Context per thread; many Contexts
// may share one Model.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <ratio>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cpu_topology.hpp"
#include "detail/aligned_buffer.hpp"
#include "detail/kernel_set_layers.hpp"
#include "detail/thread_pool.hpp"
#include "dispatch.hpp"
#include "error.hpp"
#include "image.hpp"
#include "isa.hpp"
#include "layers.hpp"
#include "model.hpp"
#include "preprocess.hpp"
#include "yuv.hpp"

namespace mobileone {

struct Options {
  int threads = 0;              // 0: one per core `cores` selects, at most 4 (default_thread_count())
  Isa isa = Isa::automatic;     // automatic: MOBILEONE_ISA if set, else the best this CPU runs
  // automatic: int8 for a blob with int8 layers (mobileone-quantize), else fp32. fp32 on such a blob runs
  // its int8 layers in float32 on their dequantized weights; int8 on a float32 blob is an error. bf16 and
  // fp16 run any blob (weights converted at load) where the CPU has them (isa.hpp), else are an error.
  Precision precision = Precision::automatic;
  bool profile = false;         // record per-layer wall time in layer_timings()
  // An input size whose workspace would exceed this is refused before anything is allocated (2 GiB holds
  // S0 up to ~4000x4000 and S4 up to ~2800x2800; 224x224 needs 5-13 MB).
  std::size_t max_workspace_bytes = std::size_t(1) << 31;
  // Which cores the threads run on (cpu_topology.hpp): big (the default) pins them to the cores faster than
  // the slowest cluster, little to that cluster, all leaves them to the OS. A failure to pin is not an error.
  CorePolicy cores = CorePolicy::big;
};

struct Prediction {
  int index = 0;
  float probability = 0.f;
  std::string_view label;  // valid while the Model lives
};

// A stage's output, NHWC, valid until the next run of the Context. An int8 context may keep a stage's
// output in uint8: then `data` is null and the values are scale * quantized[i]. A bf16 or fp16 context keeps
// it in 16 bits: then `data` is null and `half` holds the bit patterns in `half_format`. at() reads any.
struct FeatureMap {
  const float* data = nullptr;
  int height = 0, width = 0, channels = 0;
  const std::uint8_t* quantized = nullptr;
  float scale = 0.f;
  const std::uint16_t* half = nullptr;
  kernels::HalfFormat half_format = kernels::HalfFormat::bf16;
  float at(std::size_t i) const {
    if (data) return data[i];
    if (half)
      return half_format == kernels::HalfFormat::bf16 ? kernels::to_float(kernels::bf16{half[i]})
                                                      : kernels::to_float(kernels::fp16{half[i]});
    return scale * float(quantized[i]);
  }
};

struct LayerTiming {
  double milliseconds = 0.0;
};

// More threads than this are refused (a pool splits a layer into at most 4 tasks per thread, and its
// claim word counts 16 bits of tasks).
inline constexpr int kMaxThreads = 1024;

namespace detail {

// What a layer observer sees (ContextAccess::set_layer_observer): a layer's complete output, floats, uint8
// at `scale` or 16-bit floats (as FeatureMap); for avgpool the pooled vector, for linear the logits
// (height = width = 1).
struct LayerOutput {
  const float* data = nullptr;
  const std::uint8_t* quantized = nullptr;
  float scale = 0.f;
  int height = 0, width = 0, channels = 0;
  const std::uint16_t* half = nullptr;
  kernels::HalfFormat half_format = kernels::HalfFormat::bf16;
};
using LayerObserver = std::function<void(std::size_t layer, const LayerOutput&)>;

struct ContextAccess;

// The precision a Context runs a model in (Options::precision).
inline Precision resolve_precision(Precision requested, const Model& model) {
  if (requested == Precision::automatic) return model.has_int8_layers() ? Precision::int8 : Precision::fp32;
  if (requested == Precision::int8 && !model.has_int8_layers())
    throw Error("model '" + std::string(model.name()) +
                "' has no int8 layers (a float32 blob): make an int8 one with mobileone-quantize, or run it in fp32");
  return requested;
}

}  // namespace detail

// Options::threads 0: one thread per core `cores` selects on this machine now, at most 4 (README
// "Threads and cores").
inline int default_thread_count(CorePolicy cores = CorePolicy::big) {
  return detail::default_threads(detail::current_core_selection(cores));
}

class Context {
 public:
  explicit Context(Model model, Options options = {})
      : model_(std::move(model)),
        isa_(resolve_isa(options.isa)),
        precision_(detail::resolve_precision(options.precision, model_)),
        packed_(&detail::with_kernel_set(isa_, precision_, [&](auto kernels) -> const detail::PackedWeights& {
          return detail::packed_weights(detail::ModelAccess::data(model_),
                                        detail::packing_key<decltype(kernels)>(precision_ == Precision::int8));
        })),
        pool_(thread_pool(options)),
        profile_(options.profile),
        max_workspace_bytes_(options.max_workspace_bytes) {
    const int classes = model_.num_classes();
    logits_.resize(std::size_t(classes));
    probabilities_.resize(std::size_t(classes));
    order_.resize(std::size_t(classes));
    timings_.resize(model_.layers().size());
  }

  const Model& model() const { return model_; }
  Isa isa() const { return isa_; }
  Precision precision() const { return precision_; }
  // The kernel set that runs: the ISA, and for int8 and 16-bit floats the extension their families use
  // ("avx512+vnni", "avx2+scalar", "avx512+bf16").
  std::string kernel_set_name() const { return detail::kernel_set_name(isa_, precision_); }
  int threads() const { return pool_.threads(); }

  // Loads a [1][channels][height][width] float tensor as the input (no preprocessing).
  void set_input(const float* nchw, int channels, int height, int width) {
    has_input_ = false;  // a refused input leaves none, not the previous one half overwritten
    if (nchw == nullptr) throw Error("input tensor is null");
    if (channels != model_.preprocess().input_channels)
      throw Error("input has " + std::to_string(channels) + " channels, the model takes " +
                  std::to_string(model_.preprocess().input_channels));
    prepare(height, width);
    float* in = input_nhwc();
    const std::size_t plane = std::size_t(height) * std::size_t(width);
    // A NaN or infinity would reach every logit (and leave top_k() an arbitrary order): refused, naming the
    // first one. Tested on the bits inside the copy, so no second pass, and immune to a caller's -ffast-math.
    auto bits = [](float v) {
      std::uint32_t b;
      std::memcpy(&b, &v, sizeof b);
      return b;
    };
    std::uint32_t non_finite = 0;
    for (std::size_t p = 0; p < plane; ++p)
      for (int c = 0; c < channels; ++c) {
        const float v = nchw[std::size_t(c) * plane + p];
        in[p * std::size_t(channels) + std::size_t(c)] = v;
        non_finite |= std::uint32_t((bits(v) & 0x7f800000u) == 0x7f800000u);
      }
    if (non_finite != 0) {
      std::size_t i = 0;  // the first in NCHW order
      while ((bits(nchw[i]) & 0x7f800000u) != 0x7f800000u) ++i;
      const std::uint32_t b = bits(nchw[i]);
      const char* what = (b & 0x007fffffu) != 0 ? "NaN" : (b >> 31) != 0 ? "-inf" : "+inf";
      throw Error(std::string("input tensor has a non-finite value (") + what + ") at channel " +
                  std::to_string(i / plane) + ", row " + std::to_string(i % plane / std::size_t(width)) + ", column " +
                  std::to_string(i % std::size_t(width)));
    }
    has_input_ = true;
  }

  // Loads an 8-bit image or a YUV camera frame as the input, preprocessed as the model's reference pipeline
  // does (resize the shorter side, centre crop, normalize). The frame is turned upright first (orientation:
  // rotated clockwise, then mirrored), and `region`, in upright coordinates, stands for the whole image.
  void set_input(const ImageView& image, const Orientation& orientation = {}, const std::optional<Region>& region = {}) {
    set_image_input(image, orientation, region);
  }
  void set_input(const YuvImageView& frame, const Orientation& orientation = {}, const std::optional<Region>& region = {}) {
    set_image_input(frame, orientation, region);
  }

  // Runs the network on the current input (which a run leaves intact). Returns the logits.
  const std::vector<float>& run() {
    if (!has_input_) throw Error("run() before set_input()");
    forward();
    return logits_;
  }

  const std::vector<float>& run(const float* nchw, int channels, int height, int width) {
    set_input(nchw, channels, height, width);
    return run();
  }

  const std::vector<float>& run(const ImageView& image) {
    set_input(image);
    return run();
  }

  std::vector<Prediction> classify(const ImageView& image, int k = 5) {
    run(image);
    return top_k(k);
  }

  // Results of the last run.
  const std::vector<float>& logits() const { return logits_; }
  const std::vector<float>& probabilities() const { return probabilities_; }
  std::vector<Prediction> top_k(int k) const {
    if (!has_run_) throw Error("top_k() before any run");
    k = std::clamp(k, 0, int(order_.size()));
    std::vector<Prediction> top;
    top.reserve(std::size_t(k));
    for (int i = 0; i < k; ++i) {
      const int index = order_[std::size_t(i)];
      top.push_back({index, probabilities_[std::size_t(index)], model_.labels()[std::size_t(index)]});
    }
    return top;
  }

  // Output of backbone stage `stage` (0 = stem .. num_stages) from the last run.
  FeatureMap feature_map(int stage) const {
    if (!has_run_) throw Error("feature_map() before any run");
    if (stage < 0 || stage > model_.num_stages())
      throw Error("stage " + std::to_string(stage) + " does not exist (0.." + std::to_string(model_.num_stages()) + ")");
    const StageBuffer& s = stage_buffers_[std::size_t(stage)];
    const float* at = arena_.data() + s.offset;
    if (s.scale > 0.f) return {nullptr, s.height, s.width, s.channels, reinterpret_cast<const std::uint8_t*>(at), s.scale};
    if (is_half()) return {nullptr, s.height, s.width, s.channels, nullptr, 0.f, reinterpret_cast<const std::uint16_t*>(at), half_format()};
    return {at, s.height, s.width, s.channels};
  }

  // Runs layer `index` (0 .. model().layers().size() - 1) alone, on what the layer before it wrote in the
  // last run(): per-layer microbenchmarks time a layer in exactly the buffers, packing and thread split of
  // the whole network. Its output overwrites the last run's intermediate (squeeze-excite, in place, scales
  // its input again); results (logits, top_k) change only for the linear layer. Requires a run() first.
  void run_layer(std::size_t index) {
    if (!has_run_) throw Error("run_layer() before any run");
    if (index >= model_.layers().size())
      throw Error("layer " + std::to_string(index) + " does not exist (the model has " +
                  std::to_string(model_.layers().size()) + ")");
    const detail::CallerPlacement placed = pool_.place_caller();
    detail::with_kernel_set(isa_, precision_, [&](auto kernels) { run_step<decltype(kernels)>(index); });
  }

  // Per-layer wall time of the last run when Options::profile is on (index = layer index).
  const std::vector<LayerTiming>& layer_timings() const { return timings_; }
  std::size_t workspace_bytes() const { return arena_.size() * sizeof(float); }
  // The model's weights in this context's kernel layouts (packed once per layout, shared with other contexts).
  std::size_t packed_weight_bytes() const { return packed_->bytes.size(); }

 private:
  static detail::ThreadPool thread_pool(const Options& options) {
    const int threads = options.threads;
    if (threads < 0 || threads > kMaxThreads)
      throw Error("thread count " + std::to_string(threads) + " is out of range (0 = automatic, or 1.." +
                  std::to_string(kMaxThreads) + ")");
    const detail::CoreSelection cores = detail::current_core_selection(options.cores);
    return detail::ThreadPool(threads > 0 ? threads : detail::default_threads(cores), detail::ThreadPlacement(cores));
  }

  struct StageBuffer {
    std::size_t offset = 0;
    int height = 0, width = 0, channels = 0;
    float scale = 0.f;  // > 0: holds uint8 at this scale
  };
  struct PlannedStep {
    std::size_t input_offset, output_offset;
    int in_height, in_width, out_height, out_width;
  };

  float* input_nhwc() { return arena_.data() + input_offset_; }

  template <class Image>
  void set_image_input(const Image& image, const Orientation& orientation, const std::optional<Region>& region) {
    has_input_ = false;  // a refused image leaves no input (preprocess_image checks everything before writing)
    const PreprocessTarget target = PreprocessTarget::from(model_.preprocess());
    prepare(target.crop_height, target.crop_width);
    preprocess_image(image, target, input_nhwc(), TensorLayout::nhwc, preprocess_scratch_, orientation, region);
    has_input_ = true;
  }
  bool is_half() const { return precision_ == Precision::bf16 || precision_ == Precision::fp16; }
  kernels::HalfFormat half_format() const {
    return precision_ == Precision::fp16 ? kernels::HalfFormat::fp16 : kernels::HalfFormat::bf16;
  }

  // Lays out the workspace for an input size: the input, one buffer per stage output (kept for
  // feature_map()), two ping-pong buffers for layers inside a stage, and the head's vectors.
  void prepare(int height, int width) {
    if (height <= 0 || width <= 0 || height > int(blob_format::kMaxInputSide) || width > int(blob_format::kMaxInputSide))
      throw Error("input size " + std::to_string(height) + "x" + std::to_string(width) + " is out of range");
    if (height == planned_height_ && width == planned_width_) return;
    // Until the new plan is in place there is no plan, input or result: a failure below (the workspace
    // limit, out of memory) must leave a context that refuses run() and feature_map(), not one whose
    // offsets describe a workspace it does not have.
    planned_height_ = planned_width_ = 0;
    has_input_ = has_run_ = false;
    const auto& layers = packed_->layers;
    const std::size_t n = layers.size();
    // Sizes in 64 bits whatever size_t is (32-bit ARM): <= 2^14 x 2^14 x 2^16 floats per buffer and a few
    // thousand buffers cannot overflow, and the total is checked against the limit before any allocation.
    constexpr std::uint64_t kFloatsPerLine = detail::kBufferAlignment / sizeof(float);
    auto round_up = [](std::uint64_t floats) { return (floats + kFloatsPerLine - 1) / kFloatsPerLine * kFloatsPerLine; };

    // Spatial sizes and the size of every layer's output.
    std::vector<std::uint64_t> out_floats(n);
    std::vector<int> in_h(n), in_w(n), out_h(n), out_w(n);
    int h = height, w = width;
    for (std::size_t i = 0; i < n; ++i) {
      const LayerDesc& d = layers[i].desc;
      in_h[i] = h;
      in_w[i] = w;
      if (d.kind == LayerKind::conv3x3 || d.kind == LayerKind::dwconv3x3) {
        h = kernels::conv_output_size(h, d.stride);
        w = kernels::conv_output_size(w, d.stride);
      }
      if (d.kind == LayerKind::avgpool) h = w = 1;
      out_h[i] = h;
      out_w[i] = w;
      out_floats[i] = std::uint64_t(h) * std::uint64_t(w) * std::uint64_t(d.out_channels);
    }
    // Which conv layers end their stage (their output, and any SE applied to it, goes to the stage buffer).
    const int stages = model_.num_stages();
    std::vector<int> stage_last(std::size_t(stages) + 1, -1);
    for (std::size_t i = 0; i + 2 < n; ++i)
      if (layers[i].desc.kind != LayerKind::squeeze_excite) stage_last[std::size_t(layers[i].desc.stage)] = int(i);

    std::uint64_t cursor = 0;
    auto take = [&](std::uint64_t floats) {
      const std::uint64_t at = cursor;
      cursor += round_up(floats);
      return std::size_t(at);  // exact once the total has passed the limit check below
    };
    input_offset_ = take(std::uint64_t(height) * std::uint64_t(width) * std::uint64_t(model_.preprocess().input_channels));
    stage_buffers_.assign(std::size_t(stages) + 1, StageBuffer{});
    for (int s = 0; s <= stages; ++s) {
      const int last = stage_last[std::size_t(s)];
      if (last < 0) continue;  // a stage without layers keeps an empty map
      const std::size_t i = std::size_t(last);
      stage_buffers_[std::size_t(s)] = {take(out_floats[i]), out_h[i], out_w[i], layers[i].desc.out_channels,
                                        layers[i].output_u8 ? layers[i].output_scale : 0.f};
    }
    std::uint64_t pingpong = 0, max_channels = 0, max_hidden = 1, quantized_input = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (layers[i].int8 && !layers[i].input_u8)  // its quantize pass: uint8, 4 per float, 64 bytes of slack
        quantized_input = std::max(quantized_input, (std::uint64_t(in_h[i]) * std::uint64_t(in_w[i]) *
                                                         std::uint64_t(layers[i].desc.in_channels) + 3) / 4 + kFloatsPerLine);
      if (i + 2 < n && int(i) != stage_last[std::size_t(layers[i].desc.stage)]) pingpong = std::max(pingpong, out_floats[i]);
      max_channels = std::max(max_channels, std::uint64_t(layers[i].desc.out_channels));
      max_hidden = std::max(max_hidden, std::uint64_t(layers[i].desc.hidden));
    }
    const std::size_t scratch_a = take(pingpong), scratch_b = take(pingpong);
    mean_offset_ = take(max_channels);
    gate_offset_ = take(max_channels);
    hidden_offset_ = take(max_hidden);
    pooled_offset_ = take(max_channels);
    quantized_input_offset_ = take(quantized_input);
    const std::uint64_t workspace_bytes = cursor * sizeof(float);
    if (workspace_bytes > max_workspace_bytes_ || workspace_bytes > std::uint64_t(SIZE_MAX / 2))
      throw Error("input size " + std::to_string(height) + "x" + std::to_string(width) + " needs a " +
                  std::to_string(workspace_bytes >> 20) + " MiB workspace, more than the limit of " +
                  std::to_string(max_workspace_bytes_ >> 20) + " MiB (Options::max_workspace_bytes)");

    steps_.resize(n);
    std::size_t current = input_offset_;
    for (std::size_t i = 0; i < n; ++i) {
      const LayerDesc& d = layers[i].desc;
      std::size_t out;
      if (d.kind == LayerKind::squeeze_excite) out = current;
      else if (d.kind == LayerKind::avgpool) out = pooled_offset_;
      else if (d.kind == LayerKind::linear) out = 0;  // logits_ vector
      else if (int(i) == stage_last[std::size_t(d.stage)]) out = stage_buffers_[std::size_t(d.stage)].offset;
      else out = current == scratch_a ? scratch_b : scratch_a;
      steps_[i] = {current, out, in_h[i], in_w[i], out_h[i], out_w[i]};
      current = out;
    }
    arena_.resize_discard(cursor);
    planned_height_ = height;
    planned_width_ = width;
  }

  void forward() {
    const detail::CallerPlacement placed = pool_.place_caller();
    detail::with_kernel_set(isa_, precision_, [&](auto kernels) { forward_with<decltype(kernels)>(); });
    finish_results();
    has_run_ = true;
  }

  template <class K>
  void forward_with() {
    const std::size_t n = packed_->layers.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (!profile_) {
        run_step<K>(i);
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      run_step<K>(i);
      timings_[i].milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
  }

  template <class K>
  void run_step(std::size_t i) {
    const auto& layers = packed_->layers;
    const detail::PackedLayer& layer = layers[i];
    float* base = arena_.data();
    const detail::LayerScratch scratch{base + mean_offset_, base + hidden_offset_, base + gate_offset_};
    const PlannedStep& p = steps_[i];
    const bool is_linear = layer.desc.kind == LayerKind::linear;
    const float* input = base + p.input_offset;
    if constexpr (detail::has_int8_families<K>::value) {
      if (layer.int8 && !layer.input_u8) {  // after a float32 layer: quantize its output first
        auto* quantized = reinterpret_cast<std::uint8_t*>(base + quantized_input_offset_);
        const std::size_t count = std::size_t(p.in_height) * std::size_t(p.in_width) * std::size_t(layer.desc.in_channels);
        detail::KernelSetLayers<K>::quantize(input, count, layer.inv_input_scale, quantized, pool_);
        input = reinterpret_cast<const float*>(quantized);
      }
    }
    float* output = is_linear ? logits_.data() : base + p.output_offset;
    const detail::LayerStep step{&layer, input, output, p.in_height, p.in_width, p.out_height, p.out_width};
    detail::KernelSetLayers<K>::run(step, scratch, pool_);
    if (observer_) {
      // 16-bit sets write floats only for avgpool and the logits.
      const bool half = is_half() && layer.desc.kind != LayerKind::avgpool && !is_linear;
      detail::LayerOutput o{layer.output_u8 || half ? nullptr : output,
                            layer.output_u8 ? reinterpret_cast<const std::uint8_t*>(output) : nullptr,
                            layer.output_u8 ? layer.output_scale : 0.f,
                            p.out_height,
                            p.out_width,
                            layer.desc.out_channels,
                            half ? reinterpret_cast<const std::uint16_t*>(output) : nullptr,
                            half_format()};
      observer_(i, o);
    }
  }

  // Softmax in double (stable for any logit scale) and the class order by probability.
  void finish_results() {
    const double top = *std::max_element(logits_.begin(), logits_.end());
    double sum = 0.0;
    for (float v : logits_) sum += std::exp(double(v) - top);
    for (std::size_t i = 0; i < logits_.size(); ++i) probabilities_[i] = float(std::exp(double(logits_[i]) - top) / sum);
    std::iota(order_.begin(), order_.end(), 0);
    std::stable_sort(order_.begin(), order_.end(), [&](int a, int b) { return logits_[std::size_t(a)] > logits_[std::size_t(b)]; });
  }

  friend struct detail::ContextAccess;

  Model model_;
  Isa isa_;
  Precision precision_;
  const detail::PackedWeights* packed_;  // owned by model_, in the layouts of this context's kernel set
  detail::ThreadPool pool_;
  bool profile_;
  std::size_t max_workspace_bytes_;
  bool has_run_ = false;
  bool has_input_ = false;
  int planned_height_ = 0, planned_width_ = 0;
  detail::AlignedBuffer<float> arena_;
  std::size_t input_offset_ = 0, mean_offset_ = 0, gate_offset_ = 0, hidden_offset_ = 0, pooled_offset_ = 0;
  std::size_t quantized_input_offset_ = 0;
  detail::LayerObserver observer_;
  std::vector<StageBuffer> stage_buffers_;
  std::vector<PlannedStep> steps_;
  std::vector<float> logits_, probabilities_;
  std::vector<int> order_;
  std::vector<LayerTiming> timings_;
  detail::PreprocessScratch preprocess_scratch_;
};

namespace detail {

// Tools' access (the quantizer's calibration): observe every layer's output as a run computes it.
struct ContextAccess {
  static void set_layer_observer(Context& context, LayerObserver observer) { context.observer_ = std::move(observer); }
};

}  // namespace detail

}  // namespace mobileone
