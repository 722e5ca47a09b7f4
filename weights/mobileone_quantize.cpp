// mobileone-quantize: a float32 .mone model -> an int8 .mone model (weights/FORMAT.md version 2),
// calibrated on a folder of photos with the engine's own preprocessing and kernels.
//
//   mobileone-quantize --model FP32.mone --calibration DIR -o INT8.mone [--report FILE.json] [options]
//
// The recipe (measured in bench/quantization/int8_recipe_study.py; weights/README.md "Quantizing to int8"):
//   pass A   fp32 on the photos: per-channel maxima of every layer's input, the reference logits;
//   equalize activation ranges across producer -> ReLU -> consumer pairs (an exact re-scaling in fp32);
//   pass B   fp32 on the equalized model: a histogram of every int8 candidate's input -> percentile
//            threshold -> input_scale; the per-channel input means (first bias correction);
//   weights  per output channel symmetric int8, scale by MSE over clip ratios; square pointwise layers keep
//            their diagonal (the folded identity) apart as int32;
//   pass C   int8 on the photos (repeated --bias-passes times): bias correction from the means of each
//            layer's int8-path input;
//   sensitivity: KL(fp32 || only this layer int8) per candidate; the most sensitive stay fp32 within
//            --fp32-budget of the candidates' MACs; a last bias pass and a check pass on the final model;
//   golden   the source's golden self-check input carried over, with the float64 outputs of the int8
//            model's effective weights on it (weights/FORMAT.md "Version 3"), checked in int8 and fp32.
// Errors are one line on stderr and exit status 1; the output is written atomically (nothing on failure).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <mobileone/mobileone.hpp>

#include "image_file.hpp"
#include "mone_writer.hpp"
#include "support/golden_blob.hpp"

#include "support/tool_main.hpp"

namespace {

namespace fs = std::filesystem;
namespace bw = mobileone::blob_writer;
using mobileone::Error;
using mobileone::LayerDesc;
using mobileone::LayerKind;

struct Arguments {
  std::string model, calibration, output, report;
  int threads = 0;
  double percentile = 99.99;
  double alpha = 0.25;
  int sensitivity_photos = 64;
  double fp32_budget = 0.12;
  int bias_passes = 2;
  bool equalization = true;     // --no-equalization: measures what the step buys
  bool bias_correction = true;  // --no-bias-correction: likewise
};

constexpr const char* kUsage = R"(usage: mobileone-quantize --model FP32.mone --calibration DIR -o INT8.mone [options]

Quantizes a float32 MobileOne model to int8 (weights/FORMAT.md version 2), calibrated on the JPEG and PNG
photos of DIR (sorted by name, not recursive; files that do not decode are skipped with a warning). The
depthwise and pointwise layers whose input follows a ReLU run in int8 (uint8 activations, per-channel int8
pointwise weights); the most error-sensitive ones stay float32, as do the stem, squeeze-excite, pooling and
the classifier. Progress goes to stderr; the model is written atomically.

  --model FILE              the float32 model (weights/convert.py; required)
  --calibration DIR         the calibration photos (required; never the photos you evaluate on)
  -o, --output FILE         the int8 model to write (required)
  --report FILE             also write a JSON report: per layer precision, scales, thresholds, bias
                            correction and sensitivity; totals (default: none)
  --threads N               engine threads, 0 (automatic) or 1..%THREADS% (default 0)
  --percentile P            activation threshold: this percentile of each int8 layer's input values,
                            in (50, 100] (default 99.99)
  --alpha A                 activation equalization exponent in [0, 1] (default 0.25; 0 balances weights
                            only, 1 activations only)
  --sensitivity-photos N    photos (evenly spread over DIR) on which each layer's sensitivity is measured,
                            1..100000 (default 64; at most the folder's count)
  --fp32-budget F           share of the int8-capable MACs that may stay float32 for the most sensitive
                            layers, in [0, 1] (default 0.12)
  --bias-passes N           int8 passes refining the bias correction from the int8 path's statistics,
                            0..10 (default 2; 0: the float32 path's statistics only)
  --no-equalization         skip the activation equalization (to measure what it buys)
  --no-bias-correction      skip the bias correction (to measure what it buys)
  --help                    this text

Example:
  mobileone-quantize --model mobileone_s0.mone --calibration photos/calibration -o mobileone_s0_int8.mone \
                     --report quantize_report.json
)";

std::string usage() {
  std::string text = kUsage;
  const std::string key = "%THREADS%";
  text.replace(text.find(key), key.size(), std::to_string(mobileone::kMaxThreads));
  return text;
}

double parse_number(const std::string& flag, const std::string& text, double low, double high, bool open_low,
                    const std::string& expected) {
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(value) || value > high ||
      (open_low ? value <= low : value < low))
    throw Error(flag + " expects " + expected + ", got '" + text + "'");
  return value;
}

int parse_count(const std::string& flag, const std::string& text, int low, int high) {
  const double v = parse_number(flag, text, low, high, false,
                                "an integer in " + std::to_string(low) + ".." + std::to_string(high));
  if (v != std::floor(v)) throw Error(flag + " expects an integer, got '" + text + "'");
  return int(v);
}

Arguments parse_arguments(int argc, char** argv) {
  Arguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--model") a.model = value();
    else if (arg == "--calibration") a.calibration = value();
    else if (arg == "-o" || arg == "--output") a.output = value();
    else if (arg == "--report") a.report = value();
    else if (arg == "--threads") a.threads = parse_count(arg, value(), 0, mobileone::kMaxThreads);
    else if (arg == "--percentile") a.percentile = parse_number(arg, value(), 50, 100, true, "a number in (50, 100]");
    else if (arg == "--alpha") a.alpha = parse_number(arg, value(), 0, 1, false, "a number in [0, 1]");
    else if (arg == "--sensitivity-photos") a.sensitivity_photos = parse_count(arg, value(), 1, 100000);
    else if (arg == "--fp32-budget") a.fp32_budget = parse_number(arg, value(), 0, 1, false, "a number in [0, 1]");
    else if (arg == "--bias-passes") a.bias_passes = parse_count(arg, value(), 0, 10);
    else if (arg == "--no-equalization") a.equalization = false;
    else if (arg == "--no-bias-correction") a.bias_correction = false;
    else if (arg == "-h" || arg == "--help") {
      std::cout << usage();
      std::exit(0);
    } else throw Error(arg[0] == '-' ? "unknown option " + arg : "unexpected argument '" + arg + "' (see --help)");
  }
  if (a.model.empty()) throw Error("--model is required (see --help)");
  if (a.calibration.empty()) throw Error("--calibration is required (see --help)");
  if (a.output.empty()) throw Error("-o is required (see --help)");
  return a;
}

// ---------------------------------------------------------------------------------------------------------
// Files

// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so that `path` is
// either left as it was or holds the whole new file.
void write_file_atomically(const std::string& path, const void* bytes, std::size_t size) {
  std::random_device random;
  const std::string temporary = path + ".tmp-" + std::to_string(random() % 1000000000u);
  std::FILE* file = std::fopen(temporary.c_str(), "wbx");  // x: never an existing file
  if (file == nullptr) throw Error(path + ": cannot create a temporary file beside it (" + std::strerror(errno) + ")");
  const bool written = std::fwrite(bytes, 1, size, file) == size;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed || std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(temporary.c_str());
    throw Error(path + ": cannot write (" + std::strerror(error) + ")");
  }
}

// Fails before the long calibration when the output could not be written at all.
void check_output_directory(const std::string& path, const char* what) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code error;
  if (!parent.empty() && !fs::is_directory(parent, error))
    throw Error(std::string(what) + " '" + path + "': directory '" + parent.string() + "' does not exist");
}

// One updating stderr line per pass: "pass B (histograms) 17/183".
class Progress {
 public:
  Progress(std::string title, std::size_t total)
      : title_(std::move(title)), total_(total), start_(std::chrono::steady_clock::now()) {
    show(0);
  }
  void step(std::size_t done) {
    const auto now = std::chrono::steady_clock::now();
    if (done == total_ || now - last_ > std::chrono::milliseconds(200)) show(done);
  }
  ~Progress() {
    std::fprintf(stderr, " (%.1f s)\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  }

 private:
  void show(std::size_t done) {
    last_ = std::chrono::steady_clock::now();
    std::cerr << "\r" << title_ << " " << done << "/" << total_ << std::flush;
  }
  std::string title_;
  std::size_t total_;
  std::chrono::steady_clock::time_point start_, last_;
};

// The calibration photos, decoded and preprocessed once (NCHW float32, as Context::set_input takes it).
struct Photos {
  std::vector<std::string> names;
  std::vector<std::vector<float>> tensors;
  int height = 0, width = 0;
};

bool is_jpeg_or_png(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

Photos load_photos(const std::string& dir, const mobileone::PreprocessSpec& spec) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) throw Error("calibration folder '" + dir + "': not a directory");
  std::vector<fs::path> files;
  // Anything named like a JPEG or PNG but a directory is a candidate: one that cannot be read (a broken
  // link, no permission) is skipped with a warning like an undecodable one.
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    std::error_code ignored;
    if (is_jpeg_or_png(entry.path()) && !entry.is_directory(ignored)) files.push_back(entry.path());
  }
  if (error) throw Error("calibration folder '" + dir + "': cannot list it (" + error.message() + ")");
  if (files.empty()) throw Error("calibration folder '" + dir + "': no JPEG or PNG file (*.jpg, *.jpeg, *.png)");
  std::sort(files.begin(), files.end());

  const mobileone::PreprocessTarget target = mobileone::PreprocessTarget::from(spec);
  mobileone::detail::PreprocessScratch scratch;
  Photos photos;
  photos.height = target.crop_height;
  photos.width = target.crop_width;
  std::size_t skipped = 0;
  Progress progress("decoding " + dir, files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    try {
      const auto image = mobileone::examples::ImageFile::load(files[i].string());
      std::vector<float> tensor(std::size_t(3) * std::size_t(target.crop_height) * std::size_t(target.crop_width));
      mobileone::preprocess_image(image.view(), target, tensor.data(), mobileone::TensorLayout::nchw, scratch);
      photos.names.push_back(files[i].filename().string());
      photos.tensors.push_back(std::move(tensor));
    } catch (const std::exception& e) {
      ++skipped;
      std::cerr << "\nmobileone-quantize: warning: skipped " << e.what() << "\n";
    }
    progress.step(i + 1);
  }
  if (photos.tensors.empty())
    throw Error("calibration folder '" + dir + "': no decodable JPEG or PNG image (" + std::to_string(skipped) +
                (skipped == 1 ? " file" : " files") + " skipped)");
  return photos;
}

// ---------------------------------------------------------------------------------------------------------
// The network being quantized: the source blob's layers with mutable float32 copies of their tensors.

struct NetLayer {
  LayerDesc desc;
  std::string name;
  std::vector<bw::Tensor> tensors;
  int out_height = 0, out_width = 0;
  double macs = 0;
  bool candidate = false;  // may run int8: depthwise or pointwise with a ReLU'd (non-negative) input
  bool square = false;     // pointwise with in == out: the identity branch is folded into its diagonal
};

struct Network {
  std::string name;
  mobileone::PreprocessSpec preprocess;
  std::vector<std::string> labels;
  std::vector<NetLayer> layers;
};

Network copy_network(const mobileone::Model& model) {
  Network net;
  net.name = std::string(model.name());
  net.preprocess = model.preprocess();
  for (std::string_view label : model.labels()) net.labels.emplace_back(label);
  int h = net.preprocess.input_height, w = net.preprocess.input_width;
  for (std::size_t i = 0; i < model.layers().size(); ++i) {
    const LayerDesc& d = model.layers()[i];
    if (d.precision != mobileone::LayerPrecision::fp32)
      throw Error("model layer '" + std::string(d.name) + "' is already int8: quantize the float32 model");
    NetLayer l;
    l.desc = d;
    l.name = std::string(d.name);
    for (const mobileone::TensorView& t : d.tensors) {
      if (t.bytes == nullptr) break;
      l.tensors.push_back({std::string(t.name), std::vector<std::uint32_t>(t.dims.begin(), t.dims.begin() + t.rank),
                           std::vector<float>(t.data, t.data + t.element_count())});
    }
    if (d.kind == LayerKind::conv3x3 || d.kind == LayerKind::dwconv3x3) {
      h = mobileone::kernels::conv_output_size(h, d.stride);
      w = mobileone::kernels::conv_output_size(w, d.stride);
    }
    const double pixels = double(h) * double(w);
    switch (d.kind) {
      case LayerKind::conv3x3: l.macs = pixels * d.out_channels * d.in_channels * 9; break;
      case LayerKind::dwconv3x3: l.macs = pixels * d.out_channels * 9; break;
      case LayerKind::pwconv1x1: l.macs = pixels * d.out_channels * d.in_channels; break;
      case LayerKind::squeeze_excite: l.macs = 2.0 * d.in_channels * d.hidden; break;
      case LayerKind::avgpool: break;
      case LayerKind::linear: l.macs = double(d.in_channels) * d.out_channels; break;
    }
    if (d.kind == LayerKind::avgpool) h = w = 1;
    l.out_height = h;
    l.out_width = w;
    const bool relu_input = i > 0 && model.layers()[i - 1].relu;
    l.candidate = relu_input && (d.kind == LayerKind::dwconv3x3 || d.kind == LayerKind::pwconv1x1);
    l.square = d.kind == LayerKind::pwconv1x1 && d.in_channels == d.out_channels;
    net.layers.push_back(std::move(l));
  }
  return net;
}

// ---------------------------------------------------------------------------------------------------------
// Statistics of layer inputs, gathered through the engine's layer observer (layer i's input is layer
// i - 1's output).

constexpr int kHistogramBins = 1 << 16;

struct InputStats {
  std::vector<float> channel_max;    // pass A
  std::vector<double> channel_sum;   // passes B, C: sums of the (dequantized) input per channel
  std::uint64_t pixels = 0;
  double range = 0;                  // pass B: histogram of all values on [0, range]
  std::vector<std::uint64_t> bins;   // positive values; those >= range land in the last bin
  std::uint64_t zeros = 0, count = 0;
  float max = 0;
};

enum class Collect { maxima, histogram_and_means, means };

// Adds one observed layer output to the statistics of the layer that consumes it. `quantize_scale` > 0:
// the consumer quantizes a float input with that scale (the engine's rule), and the means are of that.
void accumulate(InputStats& s, const mobileone::detail::LayerOutput& out, Collect what, float quantize_scale) {
  const std::size_t channels = std::size_t(out.channels);
  const std::size_t pixels = std::size_t(out.height) * std::size_t(out.width);
  if (what == Collect::maxima) {
    if (s.channel_max.empty()) s.channel_max.assign(channels, 0.f);
    for (std::size_t p = 0; p < pixels; ++p)
      for (std::size_t c = 0; c < channels; ++c) s.channel_max[c] = std::max(s.channel_max[c], out.data[p * channels + c]);
    return;
  }
  if (s.channel_sum.empty()) s.channel_sum.assign(channels, 0.0);
  s.pixels += pixels;
  if (out.quantized != nullptr) {  // an int8 producer's uint8 output, at out.scale
    std::vector<std::uint64_t> sums(channels, 0);
    for (std::size_t p = 0; p < pixels; ++p)
      for (std::size_t c = 0; c < channels; ++c) sums[c] += out.quantized[p * channels + c];
    for (std::size_t c = 0; c < channels; ++c) s.channel_sum[c] += double(out.scale) * double(sums[c]);
    return;
  }
  std::vector<double> sums(channels, 0.0);
  const float inverse = quantize_scale > 0.f ? 1.f / quantize_scale : 0.f;
  for (std::size_t p = 0; p < pixels; ++p)
    for (std::size_t c = 0; c < channels; ++c) {
      const float v = out.data[p * channels + c];
      sums[c] += quantize_scale > 0.f ? double(mobileone::kernels::requantize_u8(v * inverse)) : double(v);
    }
  for (std::size_t c = 0; c < channels; ++c) s.channel_sum[c] += quantize_scale > 0.f ? quantize_scale * sums[c] : sums[c];
  if (what != Collect::histogram_and_means) return;
  if (s.bins.empty()) s.bins.assign(kHistogramBins, 0);
  const double per_bin = kHistogramBins / s.range;
  for (std::size_t i = 0; i < pixels * channels; ++i) {
    const float v = out.data[i];
    s.max = std::max(s.max, v);
    if (v <= 0.f) {
      s.zeros += v == 0.f;
      continue;
    }
    ++s.bins[std::size_t(std::min(double(kHistogramBins - 1), double(v) * per_bin))];
  }
  s.count += pixels * channels;
}

// The threshold below which `percentile` % of the values lie (zeros included), from the histogram: the
// upper edge of the bin where that share is reached, at most the largest value seen.
double percentile_threshold(const InputStats& s, double percentile) {
  if (s.max <= 0.f) return 1.0;  // an all-zero input: any scale is exact
  const double target = percentile / 100.0 * double(s.count);
  double cumulative = double(s.zeros);
  std::size_t bin = 0;
  for (; bin + 1 < s.bins.size(); ++bin) {
    cumulative += double(s.bins[bin]);
    if (cumulative >= target) break;
  }
  return std::min(double(s.max), double(bin + 1) * s.range / kHistogramBins);
}

std::vector<double> channel_means(const InputStats& s) {
  std::vector<double> m(s.channel_sum.size());
  for (std::size_t c = 0; c < m.size(); ++c) m[c] = s.pixels ? s.channel_sum[c] / double(s.pixels) : 0.0;
  return m;
}

// ---------------------------------------------------------------------------------------------------------
// Running the engine

using Logits = std::vector<std::vector<float>>;
using Observe = std::function<void(std::size_t layer, const mobileone::detail::LayerOutput&)>;

// Runs `model` on the photos `which` (indices into photos), calling `observe` after every layer; returns
// the logits of each.
Logits run_pass(const std::string& title, const mobileone::Model& model, mobileone::Precision precision,
                const Photos& photos, const std::vector<std::size_t>& which, int threads, const Observe& observe,
                Progress* shared_progress = nullptr, std::size_t progress_offset = 0) {
  mobileone::Options options;
  options.threads = threads;
  options.precision = precision;
  mobileone::Context context(model, options);
  if (observe) mobileone::detail::ContextAccess::set_layer_observer(context, observe);
  Logits logits;
  std::unique_ptr<Progress> own;
  if (!shared_progress) own = std::make_unique<Progress>(title, which.size());
  for (std::size_t i = 0; i < which.size(); ++i) {
    const std::vector<float>& tensor = photos.tensors[which[i]];
    logits.push_back(context.run(tensor.data(), 3, photos.height, photos.width));
    (shared_progress ? shared_progress : own.get())->step(progress_offset + i + 1);
  }
  return logits;
}

mobileone::Model model_from(const std::vector<unsigned char>& blob) {
  return mobileone::Model::from_buffer(blob.data(), blob.size());
}

// Agreement of `got` with the float32 reference `ref` (same photos, same order).
struct Agreement {
  double top1 = 0, top5_overlap = 0, mean_kl = 0;
  std::size_t photos = 0;
};

std::vector<int> top_indices(const std::vector<float>& logits, int k) {
  std::vector<int> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[std::size_t(a)] > logits[std::size_t(b)]; });
  order.resize(std::size_t(k));
  return order;
}

std::vector<double> log_softmax(const std::vector<float>& logits) {
  const double top = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float v : logits) sum += std::exp(double(v) - top);
  const double log_sum = std::log(sum) + top;
  std::vector<double> out(logits.size());
  for (std::size_t i = 0; i < logits.size(); ++i) out[i] = double(logits[i]) - log_sum;
  return out;
}

double kl_divergence(const std::vector<float>& ref, const std::vector<float>& got) {
  const std::vector<double> p = log_softmax(ref), q = log_softmax(got);
  double kl = 0;
  for (std::size_t i = 0; i < p.size(); ++i) kl += std::exp(p[i]) * (p[i] - q[i]);
  return kl;
}

Agreement agreement(const Logits& ref, const Logits& got) {
  Agreement a;
  a.photos = ref.size();
  const int k = int(std::min<std::size_t>(5, ref.front().size()));
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const std::vector<int> r = top_indices(ref[i], k), g = top_indices(got[i], k);
    a.top1 += r[0] == g[0];
    int common = 0;
    for (int x : r) common += std::count(g.begin(), g.end(), x) > 0;
    a.top5_overlap += double(common) / k;
    a.mean_kl += kl_divergence(ref[i], got[i]);
  }
  a.top1 /= double(a.photos);
  a.top5_overlap /= double(a.photos);
  a.mean_kl /= double(a.photos);
  return a;
}

// ---------------------------------------------------------------------------------------------------------
// Activation equalization (exact in float32: ReLU commutes with positive per-channel scales)

// Scales s for a producer -> pointwise pair (the producer's output channel c is divided by s_c, the
// consumer's input column c multiplied by it): s_c = act_c^alpha / w_c^(1 - alpha), normalized to a
// geometric mean of 1, where act_c is the input channel's maximum and w_c the largest |weight| of column c
// relative to its row's largest (the diagonal of a square layer excluded: it is stored apart in int32).
// The study's pair_scale (bench/quantization/int8_recipe_study.py), method "act".
std::vector<double> pointwise_pair_scale(const NetLayer& consumer, const std::vector<float>& act, double alpha) {
  const int out = consumer.desc.out_channels, in = consumer.desc.in_channels;
  const std::vector<float>& w = consumer.tensors[0].values;
  std::vector<double> column(std::size_t(in), 0.0);
  for (int o = 0; o < out; ++o) {
    double row_max = 0;
    for (int k = 0; k < in; ++k)
      if (!(consumer.square && k == o)) row_max = std::max(row_max, std::fabs(double(w[std::size_t(o) * in + k])));
    if (row_max <= 0) row_max = 1;
    for (int k = 0; k < in; ++k)
      if (!(consumer.square && k == o))
        column[std::size_t(k)] = std::max(column[std::size_t(k)], std::fabs(double(w[std::size_t(o) * in + k])) / row_max);
  }
  std::vector<double> s(std::size_t(in), 1.0);
  double log_sum = 0;
  int ok = 0;
  for (int k = 0; k < in; ++k)
    if (act[std::size_t(k)] > 0 && column[std::size_t(k)] > 0) {
      s[std::size_t(k)] = std::pow(double(act[std::size_t(k)]), alpha) / std::pow(column[std::size_t(k)], 1 - alpha);
      log_sum += std::log(s[std::size_t(k)]);
      ++ok;
    }
  const double geometric_mean = ok ? std::exp(log_sum / ok) : 1.0;
  for (int k = 0; k < in; ++k)
    if (act[std::size_t(k)] > 0 && column[std::size_t(k)] > 0) s[std::size_t(k)] /= geometric_mean;
  return s;
}

// Per layer, the divisor of each of its input channels: its input is the original one divided by it.
using Divisors = std::vector<std::vector<double>>;

Divisors unit_divisors(const Network& net) {
  Divisors divisor(net.layers.size());
  for (std::size_t i = 0; i < net.layers.size(); ++i) divisor[i].assign(std::size_t(net.layers[i].desc.in_channels), 1.0);
  return divisor;
}

// Equalizes every producer -> candidate pair in place; returns the divisors (1 where nothing changed). A
// depthwise consumer gets every channel's range raised to the largest (its weights stay float32).
Divisors equalize(Network& net, const std::vector<InputStats>& ranges, double alpha) {
  Divisors divisor = unit_divisors(net);
  for (std::size_t i = 1; i < net.layers.size(); ++i) {
    NetLayer& producer = net.layers[i - 1];
    NetLayer& consumer = net.layers[i];
    const LayerKind pk = producer.desc.kind;
    // Squeeze-excite between two convolutions would need its reduce weights re-scaled too: left alone.
    if (!consumer.candidate || !(pk == LayerKind::conv3x3 || pk == LayerKind::dwconv3x3 || pk == LayerKind::pwconv1x1))
      continue;
    const std::vector<float>& act = ranges[i].channel_max;
    std::vector<double> s;
    if (consumer.desc.kind == LayerKind::dwconv3x3) {
      const double top = *std::max_element(act.begin(), act.end());
      for (float a : act) s.push_back(a > 0 ? double(a) / top : 1.0);
    } else {
      s = pointwise_pair_scale(consumer, act, alpha);
    }
    const std::size_t channels = s.size();
    std::vector<float>& pw = producer.tensors[0].values;
    const std::size_t row = pw.size() / channels;  // producer weights are [out][...]: one row per channel
    for (std::size_t c = 0; c < channels; ++c) {
      for (std::size_t k = 0; k < row; ++k) pw[c * row + k] = float(double(pw[c * row + k]) / s[c]);
      producer.tensors[1].values[c] = float(double(producer.tensors[1].values[c]) / s[c]);
    }
    std::vector<float>& cw = consumer.tensors[0].values;
    if (consumer.desc.kind == LayerKind::dwconv3x3) {
      for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t t = 0; t < 9; ++t) cw[c * 9 + t] = float(double(cw[c * 9 + t]) * s[c]);
    } else {
      for (std::size_t o = 0; o < std::size_t(consumer.desc.out_channels); ++o)
        for (std::size_t c = 0; c < channels; ++c) cw[o * channels + c] = float(double(cw[o * channels + c]) * s[c]);
    }
    divisor[i] = s;
  }
  return divisor;
}

// ---------------------------------------------------------------------------------------------------------
// Quantized parameters

constexpr double kAccumulatorLimit = 2147483647.0 / 255.0;  // FORMAT.md: 255 (sum|W| + |D|) <= 2^31 - 1

struct QuantLayer {
  double threshold = 0;
  float input_scale = 0;
  // pointwise only
  std::vector<std::int8_t> weights;    // [out][in], diagonal zero when split
  std::vector<float> weight_scale;     // [out]
  std::vector<std::int32_t> diagonal;  // [out] when split, else empty
  std::vector<double> bias_delta;      // [out] bias correction
  double sensitivity_kl = std::numeric_limits<double>::quiet_NaN();
};

std::int8_t quantize_weight(double w, double scale) {
  return std::int8_t(std::clamp(std::nearbyint(w / scale), -127.0, 127.0));
}

// Per output channel symmetric int8 with the clip ratio r in {0.30, 0.31, .., 1.00} of the row's largest
// |weight| that minimizes the squared error (the study's weight_scales "mse"); a square layer's diagonal
// d becomes the int32 D = round(d / scale). The scale grows if the accumulator bound would be exceeded.
void quantize_pointwise(const NetLayer& l, QuantLayer& q) {
  const int out = l.desc.out_channels, in = l.desc.in_channels;
  const std::vector<float>& w = l.tensors[0].values;
  q.weights.assign(std::size_t(out) * std::size_t(in), 0);
  q.weight_scale.assign(std::size_t(out), 0.f);
  q.diagonal.assign(l.square ? std::size_t(out) : 0, 0);
  for (int o = 0; o < out; ++o) {
    const float* row = w.data() + std::size_t(o) * in;
    auto off_diagonal = [&](int k) { return !(l.square && k == o); };
    double amax = 0;
    for (int k = 0; k < in; ++k)
      if (off_diagonal(k)) amax = std::max(amax, std::fabs(double(row[k])));
    // A row without off-diagonal weights: any scale is exact for them; the diagonal's keeps D small.
    if (amax <= 0) amax = l.square ? std::max(std::fabs(double(row[o])), 1e-30) : 1e-30;
    float best = float(amax / 127);
    double best_error = std::numeric_limits<double>::infinity();
    for (int r = 30; r <= 100; ++r) {
      const float scale = float(amax * r / 100 / 127);
      double error = 0;
      for (int k = 0; k < in; ++k)
        if (off_diagonal(k)) {
          const double e = double(row[k]) - double(quantize_weight(row[k], scale)) * scale;
          error += e * e;
        }
      if (error < best_error) best = scale, best_error = error;
    }
    for (;; best *= 2) {  // the bound: only a pathological diagonal (> ~8e6 steps) gets here twice
      double magnitude = 0;
      for (int k = 0; k < in; ++k)
        if (off_diagonal(k)) {
          q.weights[std::size_t(o) * in + k] = quantize_weight(row[k], best);
          magnitude += std::abs(q.weights[std::size_t(o) * in + k]);
        }
      if (l.square) {
        const double d = std::nearbyint(double(row[o]) / best);
        magnitude += std::fabs(d);
        if (magnitude <= kAccumulatorLimit) q.diagonal[std::size_t(o)] = std::int32_t(d);
      }
      if (magnitude <= kAccumulatorLimit) break;
    }
    q.weight_scale[std::size_t(o)] = best;
  }
}

// Bias correction: the mean output error the int8 weights make on the int8 layer's input, removed. With
// per-channel input means m (over every calibration pixel), the error of output c is
// sum_k (W_fp32[c][k] - W_int8[c][k]) m_k, W_int8 the effective float weights scale_c (Q + D).
void correct_bias(const NetLayer& l, QuantLayer& q, const std::vector<double>& mean) {
  const int out = l.desc.out_channels, in = l.desc.in_channels;
  q.bias_delta.assign(std::size_t(out), 0.0);
  for (int o = 0; o < out; ++o) {
    double delta = 0;
    for (int k = 0; k < in; ++k) {
      double effective = double(q.weights[std::size_t(o) * in + k]);
      if (l.square && k == o) effective += double(q.diagonal[std::size_t(o)]);
      effective *= double(q.weight_scale[std::size_t(o)]);
      delta += (double(l.tensors[0].values[std::size_t(o) * in + k]) - effective) * mean[std::size_t(k)];
    }
    q.bias_delta[std::size_t(o)] = delta;
  }
}

// The blob with the layers in `int8` quantized (the others float32, as equalized). With `golden_input`'s
// input when it has one, also its golden data: the float64 forward of this model in float arithmetic (int8
// layers on their dequantized weights, what fp32 runs) and in int8 arithmetic (their inputs in uint8).
std::vector<unsigned char> build_blob(const Network& net, const std::vector<QuantLayer>& quant, const std::vector<bool>& int8,
                                      const mobileone::GoldenView* golden_input = nullptr) {
  std::vector<bw::Layer> layers;
  for (std::size_t i = 0; i < net.layers.size(); ++i) {
    const NetLayer& l = net.layers[i];
    bw::Layer out{l.desc, l.name, l.tensors};
    if (int8[i]) {
      const QuantLayer& q = quant[i];
      out.desc.precision = mobileone::LayerPrecision::int8;
      out.desc.input_scale = q.input_scale;
      if (l.desc.kind == LayerKind::pwconv1x1) {
        const std::string weight_name = out.tensors[0].name;
        out.tensors[0].values.clear();
        out.tensors[0].int8_values = q.weights;
        for (std::size_t c = 0; c < q.bias_delta.size(); ++c)
          out.tensors[1].values[c] = float(double(out.tensors[1].values[c]) + q.bias_delta[c]);
        const std::uint32_t channels = std::uint32_t(l.desc.out_channels);
        out.tensors.push_back({weight_name + "_scale", {channels}, q.weight_scale});
        if (!q.diagonal.empty()) out.tensors.push_back({weight_name + "_diagonal", {channels}, {}, {}, q.diagonal});
      }
    }
    layers.push_back(std::move(out));
  }
  const std::vector<unsigned char> blob = bw::write_blob(net.name, net.preprocess, layers, net.labels);
  if (golden_input == nullptr || !golden_input->available()) return blob;
  const mobileone::BlobView view = mobileone::parse_blob(blob.data(), blob.size());
  return bw::write_blob(net.name, net.preprocess, layers, net.labels,
                        mobileone::golden_data(view, golden_input->input.data, golden_input->height(), golden_input->width()));
}

// ---------------------------------------------------------------------------------------------------------
// The report

using mobileone::json_string;

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

std::string json_count(double v) { return std::to_string(std::llround(v)); }

// The golden self-check of `model` in `precision` (the fastest ISA here): the worst stage's relative error,
// or NaN without golden data. A stage past the tolerance throws, naming it; unless `fatal` is false (int8,
// where a rounding cascade can cross it without a bug): then a note says that --verify will report it.
double self_check(const mobileone::Model& model, mobileone::Precision precision, const std::string& what, bool fatal = true) {
  mobileone::Options options;
  options.precision = precision;
  const mobileone::Verification v = mobileone::verify(model, options);
  if (!v.available) return std::numeric_limits<double>::quiet_NaN();
  if (const mobileone::StageVerification* first = v.first_divergence()) {
    const std::string finding = what + " fails its golden self-check in " + mobileone::precision_name(precision) + " on " +
                                v.kernel_set + ": " + first->name + " is off by " + json_number(first->relative_error) +
                                " (relative), more than the tolerance " + json_number(first->tolerance);
    if (fatal) throw Error(finding);
    std::cerr << "mobileone-quantize: note: " << finding << "; --verify will report it (try other calibration photos)\n";
  }
  double worst = 0;
  for (const mobileone::StageVerification& s : v.stages) worst = std::max(worst, s.relative_error);
  return worst;
}

std::string json_agreement(const Agreement& a) {
  return "{\"photos\": " + std::to_string(a.photos) + ", \"top1_agreement\": " + json_number(a.top1) +
         ", \"top5_overlap\": " + json_number(a.top5_overlap) + ", \"mean_kl\": " + json_number(a.mean_kl) + "}";
}

struct Summary {
  std::size_t photos = 0, blob_bytes = 0, source_bytes = 0;
  double equalization_error = 0, seconds = 0, int8_macs = 0, total_macs = 0, candidate_macs = 0;
  // The final model's golden self-check: the worst stage's relative error per precision (NaN: no golden data).
  double golden_int8 = std::numeric_limits<double>::quiet_NaN(), golden_fp32 = golden_int8;
  Agreement calibration;
  std::vector<std::string> kept_fp32;
};

std::string report_json(const Arguments& args, const Network& net, const std::vector<QuantLayer>& quant,
                        const std::vector<bool>& int8, const Summary& s) {
  std::ostringstream o;
  o << "{\n  \"model\": " << json_string(net.name) << ",\n  \"source\": " << json_string(args.model)
    << ",\n  \"calibration\": " << json_string(args.calibration) << ",\n  \"photos\": " << s.photos
    << ",\n  \"recipe\": {\"percentile\": " << json_number(args.percentile)
    << ", \"equalization_alpha\": " << (args.equalization ? json_number(args.alpha) : "null")
    << ", \"weight_scale\": \"mse\", \"bias_correction\": " << (args.bias_correction ? "true" : "false")
    << ", \"bias_passes\": " << args.bias_passes
    << ", \"sensitivity_photos\": " << std::min<std::size_t>(std::size_t(args.sensitivity_photos), s.photos)
    << ", \"fp32_budget\": " << json_number(args.fp32_budget) << "},\n  \"layers\": [\n";
  for (std::size_t i = 0; i < net.layers.size(); ++i) {
    const NetLayer& l = net.layers[i];
    const QuantLayer& q = quant[i];
    o << "    {\"name\": " << json_string(l.name) << ", \"kind\": " << json_string(mobileone::layer_kind_name(l.desc.kind))
      << ", \"macs\": " << json_count(l.macs) << ", \"precision\": \"" << (int8[i] ? "int8" : "fp32") << "\"";
    if (l.candidate) {
      o << ", \"input_scale\": " << json_number(q.input_scale) << ", \"threshold\": " << json_number(q.threshold);
      if (!q.weight_scale.empty()) {
        const auto [lo, hi] = std::minmax_element(q.weight_scale.begin(), q.weight_scale.end());
        double max_delta = 0;
        for (double d : q.bias_delta) max_delta = std::max(max_delta, std::fabs(d));
        o << ", \"weight_scale_min\": " << json_number(*lo) << ", \"weight_scale_max\": " << json_number(*hi)
          << ", \"diagonal_split\": " << (q.diagonal.empty() ? "false" : "true")
          << ", \"bias_correction_max_abs\": " << json_number(max_delta);
      }
      o << ", \"sensitivity_kl\": " << json_number(q.sensitivity_kl);
    }
    o << "}" << (i + 1 < net.layers.size() ? "," : "") << "\n";
  }
  o << "  ],\n  \"kept_fp32\": [";
  for (std::size_t i = 0; i < s.kept_fp32.size(); ++i) o << (i ? ", " : "") << json_string(s.kept_fp32[i]);
  o << "],\n  \"totals\": {\"int8_macs\": " << json_count(s.int8_macs) << ", \"total_macs\": " << json_count(s.total_macs)
    << ", \"int8_mac_share\": " << json_number(s.int8_macs / s.total_macs)
    << ", \"int8_share_of_capable_macs\": " << json_number(s.candidate_macs > 0 ? s.int8_macs / s.candidate_macs : 0)
    << ", \"blob_bytes\": " << s.blob_bytes << ", \"fp32_blob_bytes\": " << s.source_bytes
    << ",\n             \"equalization_max_relative_logit_difference\": " << json_number(s.equalization_error)
    << ",\n             \"calibration_agreement\": " << json_agreement(s.calibration)
    << ",\n             \"golden_self_check\": {\"int8_worst_relative_error\": " << json_number(s.golden_int8)
    << ", \"fp32_worst_relative_error\": " << json_number(s.golden_fp32) << "}"
    << ",\n             \"seconds\": " << json_number(s.seconds) << "}\n}\n";
  return o.str();
}

// ---------------------------------------------------------------------------------------------------------

int run(int argc, char** argv) {
  if (argc <= 1) {
    std::cerr << usage();
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  const Arguments args = parse_arguments(argc, argv);
  check_output_directory(args.output, "output");
  if (!args.report.empty()) check_output_directory(args.report, "report");
  const mobileone::Model source = mobileone::Model::load(args.model);
  const mobileone::BlobView& source_blob = mobileone::detail::ModelAccess::data(source).blob;
  if (!source_blob.golden.available())
    std::cerr << "mobileone-quantize: note: " << args.model << " has no golden self-check data (format version "
              << source_blob.format_version << "), so the int8 model will have none: convert it again with weights/convert.py\n";
  self_check(source, mobileone::Precision::fp32, args.model);  // calibrating on a broken engine would be in vain
  Network net = copy_network(source);
  const std::size_t n = net.layers.size();
  const Photos photos = load_photos(args.calibration, net.preprocess);
  std::vector<std::size_t> all(photos.tensors.size());
  std::iota(all.begin(), all.end(), 0);
  const auto fp32 = mobileone::Precision::fp32, int8 = mobileone::Precision::int8;

  // Pass A: per-channel maxima of every candidate's input, and the reference logits.
  std::vector<InputStats> ranges(n);
  const Logits reference = run_pass("pass A: fp32 ranges", source, fp32, photos, all, args.threads,
                                    [&](std::size_t i, const mobileone::detail::LayerOutput& out) {
                                      if (i + 1 < n && net.layers[i + 1].candidate) accumulate(ranges[i + 1], out, Collect::maxima, 0.f);
                                    });

  // Equalization, checked to be exact: the equalized float32 model must give the same logits.
  const Divisors divisor = args.equalization ? equalize(net, ranges, args.alpha) : unit_divisors(net);
  const std::vector<bool> none(n, false);
  std::vector<QuantLayer> quant(n);
  const mobileone::Model equalized = model_from(build_blob(net, quant, none));

  // Pass B: histograms (range: pass A's maxima over the equalization divisors) and float32-path means.
  std::vector<InputStats> inputs(n);
  for (std::size_t i = 0; i < n; ++i)
    if (net.layers[i].candidate) {
      for (std::size_t c = 0; c < divisor[i].size(); ++c)
        inputs[i].range = std::max(inputs[i].range, double(ranges[i].channel_max[c]) / divisor[i][c]);
      inputs[i].range = inputs[i].range > 0 ? inputs[i].range * (1 + 1e-6) : 1.0;
    }
  const Logits equalized_logits = run_pass("pass B: equalized fp32 histograms", equalized, fp32, photos, all, args.threads,
                                           [&](std::size_t i, const mobileone::detail::LayerOutput& out) {
                                             if (i + 1 < n && net.layers[i + 1].candidate)
                                               accumulate(inputs[i + 1], out, Collect::histogram_and_means, 0.f);
                                           });
  Summary summary;
  for (std::size_t p = 0; p < all.size(); ++p) {
    float top = 0, diff = 0;
    for (std::size_t k = 0; k < reference[p].size(); ++k) {
      top = std::max(top, std::fabs(reference[p][k]));
      diff = std::max(diff, std::fabs(reference[p][k] - equalized_logits[p][k]));
    }
    summary.equalization_error = std::max(summary.equalization_error, double(diff) / std::max(double(top), 1e-30));
  }
  if (summary.equalization_error > 1e-3)
    throw Error("internal: the equalized float32 model's logits differ from the original by " +
                json_number(summary.equalization_error) + " (relative); equalization must be exact");

  // Scales, weights, and the first bias correction from the float32 path's means.
  std::vector<bool> candidates(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const NetLayer& l = net.layers[i];
    if (!l.candidate) continue;
    candidates[i] = true;
    QuantLayer& q = quant[i];
    q.threshold = percentile_threshold(inputs[i], args.percentile);
    q.input_scale = float(q.threshold / 255.0);
    if (l.desc.kind == LayerKind::pwconv1x1) {
      quantize_pointwise(l, q);
      if (args.bias_correction) correct_bias(l, q, channel_means(inputs[i]));
    }
  }

  // Bias correction from the int8 path: the means of each layer's input as the int8 model computes it.
  auto int8_bias_pass = [&](const std::string& title, const std::vector<bool>& mask) {
    std::vector<InputStats> means(n);
    const mobileone::Model model = model_from(build_blob(net, quant, mask));
    const Logits logits = run_pass(title, model, int8, photos, all, args.threads,
                                   [&](std::size_t i, const mobileone::detail::LayerOutput& out) {
                                     if (i + 1 < n && mask[i + 1] && net.layers[i + 1].desc.kind == LayerKind::pwconv1x1)
                                       accumulate(means[i + 1], out, Collect::means, quant[i + 1].input_scale);
                                   });
    for (std::size_t i = 0; i < n; ++i)
      if (mask[i] && net.layers[i].desc.kind == LayerKind::pwconv1x1) correct_bias(net.layers[i], quant[i], channel_means(means[i]));
    return logits;
  };
  const int bias_passes = args.bias_correction ? args.bias_passes : 0;
  for (int p = 0; p < bias_passes; ++p)
    int8_bias_pass("pass C" + std::to_string(p + 1) + ": int8 bias correction", candidates);

  // Sensitivity: KL(fp32 || only layer l in int8) on photos spread evenly over the folder.
  const std::size_t sensitivity_count = std::min<std::size_t>(std::size_t(args.sensitivity_photos), all.size());
  std::vector<std::size_t> subset;
  for (std::size_t k = 0; k < sensitivity_count; ++k) subset.push_back(k * all.size() / sensitivity_count);
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < n; ++i)
    if (candidates[i]) order.push_back(i);
  if (args.fp32_budget > 0) {  // with no budget every candidate is int8 whatever its sensitivity
    Progress progress("sensitivity (one layer int8 at a time)", order.size() * subset.size());
    for (std::size_t j = 0; j < order.size(); ++j) {
      std::vector<bool> only(n, false);
      only[order[j]] = true;
      const Logits logits = run_pass("", model_from(build_blob(net, quant, only)), int8, photos, subset, args.threads,
                                     nullptr, &progress, j * subset.size());
      double kl = 0;
      for (std::size_t k = 0; k < subset.size(); ++k) kl += kl_divergence(reference[subset[k]], logits[k]);
      quant[order[j]].sensitivity_kl = kl / double(subset.size());
    }
  }
  // The most sensitive layers back to float32, in order of sensitivity, each one whose MACs still fit the
  // budget (a large layer that does not fit leaves room for smaller, less sensitive ones).
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return quant[a].sensitivity_kl > quant[b].sensitivity_kl;
  });
  for (std::size_t i = 0; i < n; ++i) {
    summary.total_macs += net.layers[i].macs;
    if (candidates[i]) summary.candidate_macs += net.layers[i].macs;
  }
  std::vector<bool> chosen = candidates;
  double kept_macs = 0;
  for (std::size_t i : order) {
    if (kept_macs + net.layers[i].macs > args.fp32_budget * summary.candidate_macs) continue;
    kept_macs += net.layers[i].macs;
    chosen[i] = false;
    summary.kept_fp32.push_back(net.layers[i].name);
  }

  // The final model: its bias correction from its own int8 path, then a check pass.
  if (bias_passes > 0) int8_bias_pass("pass D: final int8 bias correction", chosen);
  const std::vector<unsigned char> blob = build_blob(net, quant, chosen, &source_blob.golden);
  const mobileone::Model final_model = model_from(blob);
  const Logits final_logits = run_pass("pass E: check", final_model, int8, photos, all, args.threads, nullptr);
  summary.golden_int8 = self_check(final_model, int8, "the int8 model", /*fatal=*/false);
  summary.golden_fp32 = self_check(final_model, fp32, "the int8 model");
  write_file_atomically(args.output, blob.data(), blob.size());

  summary.photos = all.size();
  summary.calibration = agreement(reference, final_logits);
  summary.blob_bytes = blob.size();
  summary.source_bytes = source.blob_bytes();
  for (std::size_t i = 0; i < n; ++i)
    if (chosen[i]) summary.int8_macs += net.layers[i].macs;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!args.report.empty()) {
    const std::string json = report_json(args, net, quant, chosen, summary);
    write_file_atomically(args.report, json.data(), json.size());
  }
  char line[320];
  std::snprintf(line, sizeof line, "%.1f%% of MACs int8, %zu layers kept fp32; on the %zu calibration photos: top-1 agreement %.1f%%, top-5 overlap %.1f%%, mean KL %.4f; golden self-check worst error int8 %.2g, fp32 %.2g; %.1f s",
                100 * summary.int8_macs / summary.total_macs, summary.kept_fp32.size(), summary.photos,
                100 * summary.calibration.top1, 100 * summary.calibration.top5_overlap, summary.calibration.mean_kl,
                summary.golden_int8, summary.golden_fp32, summary.seconds);
  std::cout << args.output << ": " << net.name << " int8, " << blob.size() << " bytes, " << line << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return mobileone::run_tool("mobileone-quantize", argc, argv, run); }
