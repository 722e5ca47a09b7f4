// The layers of the fused graph, templated on a kernel set (kernels/kernel_set.hpp). A layer splits its
// output into independent tasks for the thread pool and calls its kernel family on each; the kernels do
// the arithmetic. Splits never change how an output element is computed, so any thread count gives
// bitwise-identical results.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "detail/thread_pool.hpp"
#include "kernels/kernel_args.hpp"
#include "model.hpp"

namespace mobileone::detail {

// One layer applied to concrete buffers and sizes (NHWC). Buffers hold the kernel set's Element (float, or
// bf16/fp16 for the 16-bit sets: kernel_args.hpp), or uint8 where the packed layer says so
// (PackedLayer::input_u8 / output_u8; an int8 layer's input is uint8 after its quantize pass). The stem's
// input is always the float32 image tensor; avgpool writes float32 means, the classifier float32 logits.
struct LayerStep {
  const PackedLayer* layer = nullptr;
  const float* input = nullptr;
  float* output = nullptr;  // == input for squeeze-excite (in place)
  int in_height = 0, in_width = 0, out_height = 0, out_width = 0;
};

// Per-context scratch for squeeze-excite and the head.
struct LayerScratch {
  float* mean = nullptr;    // [max channels]
  float* hidden = nullptr;  // [max SE hidden]
  float* gate = nullptr;    // [max channels]
};

inline constexpr int kTasksPerThread = 4;  // enough slack to balance uneven tasks

// A workspace buffer as the kernel set's element type.
template <class T>
const T* elements(const float* p) {
  return reinterpret_cast<const T*>(p);
}
template <class T>
T* elements(float* p) {
  return reinterpret_cast<T*>(p);
}

// A packed pointwise or classifier weight array in the kernel set's element type.
template <class T>
const T* packed_weights_of(const PackedLayer& layer) {
  if constexpr (std::is_same_v<T, float>)
    return layer.weights;
  else
    return static_cast<const T*>(layer.half_weights);
}

// Calls fn(begin, end) on about `parts` contiguous chunks of [0, total).
template <class Fn>
void parallel_chunks(ThreadPool& pool, std::size_t total, std::size_t parts, const Fn& fn) {
  parts = std::max<std::size_t>(1, std::min(parts, total));
  pool.parallel_for(parts, [&](std::size_t part) { fn(total * part / parts, total * (part + 1) / parts); });
}

inline std::size_t task_target(const ThreadPool& pool) {
  return pool.threads() == 1 ? 1 : std::size_t(pool.threads()) * kTasksPerThread;
}

// The 3x3 convolutions (stem, depthwise) split output rows between tasks; run(args, r0, r1, stride tag)
// calls the kernel for the layer's stride.
template <class Args, class Run>
void run_rows(const LayerStep& s, const Args& args, ThreadPool& pool, const Run& run) {
  parallel_chunks(pool, std::size_t(s.out_height), task_target(pool), [&](std::size_t r0, std::size_t r1) {
    if (s.layer->desc.stride == 2)
      run(args, int(r0), int(r1), std::integral_constant<int, 2>{});
    else
      run(args, int(r0), int(r1), std::integral_constant<int, 1>{});
  });
}

template <class K>
void run_conv3x3(const LayerStep& s, ThreadPool& pool) {
  using T = typename K::Element;
  const LayerDesc& d = s.layer->desc;
  const kernels::Conv3x3ArgsOf<T> args{s.input,     s.in_height,    s.in_width,       d.in_channels, elements<T>(s.output),
                                       s.out_height, s.out_width,   d.out_channels,   s.layer->weights, s.layer->bias,
                                       d.relu};
  run_rows(s, args, pool, [](const auto& a, int r0, int r1, auto stride) { K::template conv3x3<stride()>(a, r0, r1); });
}

template <class K>
void run_dwconv3x3(const LayerStep& s, ThreadPool& pool) {
  using T = typename K::Element;
  const LayerDesc& d = s.layer->desc;
  const kernels::DepthwiseArgsOf<T> args{elements<T>(s.input), s.in_height,  s.in_width,       d.in_channels,
                                         elements<T>(s.output), s.out_height, s.out_width,     s.layer->weights,
                                         s.layer->bias,         d.relu};
  run_rows(s, args, pool, [](const auto& a, int r0, int r1, auto stride) { K::template dwconv3x3<stride()>(a, r0, r1); });
}

// How a pointwise layer splits into tasks; run(p0, p1, n0, n1) computes pixels [p0, p1) x panels [n0, n1).
template <class Run>
void split_pointwise(ThreadPool& pool, std::size_t pixels, int out_channels, std::size_t min_pixels_per_task,
                     const Run& run) {
  const std::size_t panels = kernels::pointwise_panel_count(out_channels);
  const std::size_t target = task_target(pool);
  if (target == 1) return run(0, pixels, 0, panels);
  // A pixel task reads all the weights (in_channels x out_channels) and its share of the input (pixels x
  // in_channels); an output-channel task reads all the input and its share of the weights. Split the
  // dimension that keeps that traffic smaller: output channels for the late, weight-heavy layers (7x7 x
  // 256 -> 1024: each core then streams half of the 1 MB of weights instead of all of it), pixels otherwise.
  // Groups of >= 4 panels keep the SIMD kernels' widest tiles (up to 64 output channels) in use.
  const std::size_t threads = std::size_t(pool.threads());
  if (std::size_t(out_channels) > pixels && panels >= threads) {
    const std::size_t groups = std::clamp(panels / 4, threads, target);
    pool.parallel_for(groups, [&](std::size_t g) { run(0, pixels, panels * g / groups, panels * (g + 1) / groups); });
    return;
  }
  // Split pixels (each task then streams all weights once); split the output channels too when a small
  // feature map has too few pixel tiles to feed every thread.
  const std::size_t pixel_tiles = std::max<std::size_t>(1, std::min(target, pixels / min_pixels_per_task));
  const std::size_t panel_groups = std::min(panels, (target + pixel_tiles - 1) / pixel_tiles);
  pool.parallel_for(pixel_tiles * panel_groups, [&](std::size_t task) {
    const std::size_t tile = task / panel_groups, group = task % panel_groups;
    run(pixels * tile / pixel_tiles, pixels * (tile + 1) / pixel_tiles, panels * group / panel_groups,
        panels * (group + 1) / panel_groups);
  });
}

template <class K>
void run_pwconv1x1(const LayerStep& s, ThreadPool& pool) {
  using T = typename K::Element;
  const LayerDesc& d = s.layer->desc;
  const std::size_t pixels = std::size_t(s.out_height) * std::size_t(s.out_width);
  const kernels::PointwiseArgsOf<T> args{elements<T>(s.input),          elements<T>(s.output), pixels, d.in_channels,
                                         d.out_channels, packed_weights_of<T>(*s.layer), s.layer->bias, d.relu,
                                         s.layer->half_diagonal};
  split_pointwise(pool, pixels, d.out_channels, K::kPointwiseMinPixelsPerTask,
                  [&](std::size_t p0, std::size_t p1, std::size_t n0, std::size_t n1) { K::pwconv1x1(args, p0, p1, n0, n1); });
}

// Int8 layers (kernel sets with int8 families: kernels/quant_kernels.hpp). Their input is uint8.
template <class K>
void run_qpwconv1x1(const LayerStep& s, ThreadPool& pool) {
  const PackedLayer& l = *s.layer;
  const LayerDesc& d = l.desc;
  const std::size_t pixels = std::size_t(s.out_height) * std::size_t(s.out_width);
  const kernels::QuantPointwiseArgs args{reinterpret_cast<const std::uint8_t*>(s.input), s.output, pixels,
                                         d.in_channels, d.out_channels, l.qweights, l.qscale, l.bias, l.column_sums,
                                         l.diagonal, d.relu, l.output_u8};
  split_pointwise(pool, pixels, d.out_channels, K::kPointwiseMinPixelsPerTask,
                  [&](std::size_t p0, std::size_t p1, std::size_t n0, std::size_t n1) { K::qpwconv1x1(args, p0, p1, n0, n1); });
}

template <class K>
void run_qdwconv3x3(const LayerStep& s, ThreadPool& pool) {
  const PackedLayer& l = *s.layer;
  const LayerDesc& d = l.desc;
  const kernels::QuantDepthwiseArgs args{reinterpret_cast<const std::uint8_t*>(s.input), s.in_height, s.in_width,
                                         d.in_channels, s.output, s.out_height, s.out_width, l.weights, l.bias, d.relu,
                                         l.output_u8};
  run_rows(s, args, pool, [](const auto& a, int r0, int r1, auto stride) { K::template qdwconv3x3<stride()>(a, r0, r1); });
}

// float -> uint8 at an int8 layer's input scale, for an int8 layer after a float32 one.
template <class K>
void run_quantize(const float* input, std::size_t count, float inv_scale, std::uint8_t* output, ThreadPool& pool) {
  const kernels::QuantizeArgs args{input, output, count, inv_scale};
  constexpr std::size_t kElementsPerTask = 16384;  // small layers stay on one thread
  const std::size_t tasks = std::min(task_target(pool), (count + kElementsPerTask - 1) / kElementsPerTask);
  parallel_chunks(pool, count, tasks, [&](std::size_t b, std::size_t e) { K::quantize(args, b, e); });
}

template <class K, class = void>
struct has_int8_families : std::false_type {};
template <class K>
struct has_int8_families<K, std::void_t<typename K::Int8>> : std::true_type {};

template <class K>
void channel_mean(const typename K::Element* input, std::size_t pixels, int channels, float* output, ThreadPool& pool) {
  const kernels::ChannelMeanArgsOf<typename K::Element> args{input, pixels, channels, output};
  constexpr std::size_t kChannelsPerTask = 64;
  const std::size_t tasks = (std::size_t(channels) + kChannelsPerTask - 1) / kChannelsPerTask;
  pool.parallel_for(tasks, [&](std::size_t t) {
    K::channel_mean(args, int(t * kChannelsPerTask), int(std::min(std::size_t(channels), (t + 1) * kChannelsPerTask)));
  });
}

template <class K>
void run_squeeze_excite(const LayerStep& s, const LayerScratch& scratch, ThreadPool& pool) {
  using T = typename K::Element;
  const LayerDesc& d = s.layer->desc;
  const std::size_t pixels = std::size_t(s.out_height) * std::size_t(s.out_width);
  channel_mean<K>(elements<T>(s.output), pixels, d.out_channels, scratch.mean, pool);
  K::se_gate(kernels::SeGateArgs{scratch.mean, d.out_channels, d.hidden, s.layer->weights, s.layer->bias,
                                 s.layer->weights2, s.layer->bias2, scratch.hidden, scratch.gate});
  const kernels::ScaleChannelsArgsOf<T> args{elements<T>(s.output), d.out_channels, scratch.gate, d.relu};
  parallel_chunks(pool, pixels, task_target(pool), [&](std::size_t p0, std::size_t p1) { K::scale_channels(args, p0, p1); });
}

template <class K>
void run_linear(const PackedLayer& layer, const float* input, float* output, ThreadPool& pool) {
  using T = typename K::Element;
  const LayerDesc& d = layer.desc;
  const kernels::LinearArgsOf<T> args{input, d.in_channels, output, d.out_channels, packed_weights_of<T>(layer), layer.bias};
  parallel_chunks(pool, std::size_t(d.out_channels), task_target(pool),
                  [&](std::size_t o0, std::size_t o1) { K::linear(args, int(o0), int(o1)); });
}

// Runs one backbone or head layer. For avgpool, `output` receives the [channels] means; for linear,
// `input` is that vector and `output` the logits.
template <class K>
void run_layer(const LayerStep& s, const LayerScratch& scratch, ThreadPool& pool) {
  if constexpr (has_int8_families<K>::value) {
    if (s.layer->int8) {
      if (s.layer->desc.kind == LayerKind::pwconv1x1) return run_qpwconv1x1<K>(s, pool);
      return run_qdwconv3x3<K>(s, pool);  // the only other int8 kind (blob.hpp)
    }
  }
  switch (s.layer->desc.kind) {
    case LayerKind::conv3x3: return run_conv3x3<K>(s, pool);
    case LayerKind::dwconv3x3: return run_dwconv3x3<K>(s, pool);
    case LayerKind::pwconv1x1: return run_pwconv1x1<K>(s, pool);
    case LayerKind::squeeze_excite: return run_squeeze_excite<K>(s, scratch, pool);
    case LayerKind::avgpool:
      return channel_mean<K>(elements<typename K::Element>(s.input), std::size_t(s.in_height) * std::size_t(s.in_width),
                             s.layer->desc.in_channels, s.output, pool);
    case LayerKind::linear: return run_linear<K>(*s.layer, s.input, s.output, pool);
  }
}

}  // namespace mobileone::detail
