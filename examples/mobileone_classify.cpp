// mobileone-classify: classify image files (or a raw tensor) with a .mone model.
//
//   mobileone-classify --model MODEL.mone IMAGE... [--top K] [--json] [--threads N] [--cores C] [--repeat N]
//                      [--isa ISA] [--precision P] [--rotate DEG] [--mirror]
//   mobileone-classify --model MODEL.mone --tensor FILE.f32 --shape 1,3,H,W [--logits-out FILE.f32] ...
//   mobileone-classify --model MODEL.mone --verify [--json] [--isa ISA] [--precision P] [--threads N]
//
// Run with --help for every option. Latency follows the paper's protocol: with --repeat N > 1, one warm-up
// run, then N timed runs of the network on the already preprocessed input; the median and the minimum are
// reported. An image that cannot be classified is reported (one line on stderr naming it; with --json also
// an {"input", "error"} line) and the others still are; the exit status is then 1. Errors in the arguments
// or the model are fatal: one line on stderr, exit status 1 (no arguments at all: the usage, exit status 2).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <mobileone/mobileone.hpp>

#include "image_file.hpp"

#include "support/tool_main.hpp"

namespace {

struct Arguments {
  std::string model;
  std::vector<std::string> images;
  std::string tensor, shape, logits_out;
  int top = 5;
  int threads = 0;
  int repeat = 1;
  bool json = false;
  bool verify = false;
  mobileone::Orientation orientation;  // --rotate, --mirror: image files are frames to turn upright
  mobileone::Isa isa = mobileone::Isa::automatic;
  mobileone::Precision precision = mobileone::Precision::automatic;
  mobileone::CorePolicy cores = mobileone::CorePolicy::big;
};

// Ceiling of --top, --repeat and the --shape dimensions (a typo's guard: the engine refuses larger shapes anyway).
constexpr int kMaxCount = 1000000;

constexpr const char* kUsage = R"(usage: mobileone-classify --model MODEL.mone IMAGE... [options]
       mobileone-classify --model MODEL.mone --tensor FILE.f32 --shape 1,C,H,W [--logits-out FILE.f32] [options]
       mobileone-classify --model MODEL.mone --verify [options]

Classifies image files (JPEG, PNG, BMP, PGM/PPM, TGA, GIF) with a converted MobileOne model, preprocessed
as the model's reference pipeline does (resize the shorter side, center crop, normalize). A file that cannot
be classified is reported on stderr and skipped; the exit status is then 1.

  --model FILE        the converted model (weights/convert.py or weights/fetch.sh; required)
  --top K             classes shown per input, 1..%MAX% (default 5; at most the model's class count)
  --json              JSON Lines: one JSON object per line, one line per input: "input", "image", "model",
                      "isa", "precision", "kernels", "threads", "top" [{"index", "label", "prob"}...],
                      "latency_ms" {"median", "min", "runs"}; an input that failed gets {"input", "error"}
                      instead (default: text)
  --threads N         0 (automatic: one per core of --cores, at most 4) or 1..%THREADS% (default 0)
  --cores C           %CORES%: the cores the threads run on (default big: those faster than the
                      slowest cluster, the prime and performance cores of a phone; all cores where they
                      are alike; pinned on Linux and Android where the OS allows)
  --repeat N          timed runs per input, 1..%MAX% (default 1: one run, no warm-up; N > 1: one warm-up
                      run, then the median and the minimum of N runs)
  --isa NAME          %ISA% (default auto: $MOBILEONE_ISA if set, else the best
                      this CPU runs)
  --precision P       %PRECISION% (default auto: int8 for an int8 blob from mobileone-quantize,
                      else fp32; fp32 runs an int8 blob's int8 layers on their dequantized weights;
                      bf16 (AVX512-BF16, ARM FEAT_BF16) and fp16 (ARM FEAT_FP16) run any blob in
                      16-bit floats, an error where the CPU lacks them)
  --tensor FILE       classify a raw little-endian float32 NCHW tensor instead (no preprocessing)
  --shape 1,C,H,W     the tensor's shape (batch 1; required with --tensor)
  --logits-out FILE   also write the logits as raw float32 (one input only; default: not written)
  --rotate DEG        image files are camera frames to turn upright first: rotate each clockwise by DEG,
                      0, 90, 180 or 270 (Android's rotationDegrees; default 0)
  --mirror            then flip the upright image left to right (a front camera's preview)
  --verify            the golden self-check instead of classifying (default: classify): run the model's
                      built-in input (format version 3) on the chosen ISA, precision and threads, print
                      each stage's worst relative error against the converter's float64 outputs; exit
                      status 1 if a stage is past the precision's tolerance (naming the first) or the
                      model has no golden data
  --help              this text

Examples:
  mobileone-classify --model mobileone_s0.mone chelsea.png
  mobileone-classify --model mobileone_s0.mone photos/*.jpg --top 1 --json > results.jsonl
  mobileone-classify --model mobileone_s0.mone chelsea.png --repeat 20 --threads 1 --isa avx2
  mobileone-classify --model mobileone_s0_int8.mone chelsea.png --precision int8
  mobileone-classify --model mobileone_s0.mone sensor_frame.png --rotate 90
  mobileone-classify --model mobileone_s0.mone --tensor input.f32 --shape 1,3,224,224 --logits-out logits.f32
  mobileone-classify --model mobileone_s0_int8.mone --verify --isa scalar
)";

std::string usage() {
  std::string text = kUsage;
  auto fill = [&](const std::string& key, const std::string& value) {
    for (std::size_t at; (at = text.find(key)) != std::string::npos;) text.replace(at, key.size(), value);
  };
  fill("%MAX%", std::to_string(kMaxCount));
  fill("%THREADS%", std::to_string(mobileone::kMaxThreads));
  fill("%ISA%", mobileone::isa_choices());
  fill("%PRECISION%", mobileone::precision_choices());
  fill("%CORES%", mobileone::core_policy_choices());
  return text;
}

// An integer in min_value..max_value, else the error message `expected` ("an integer in 1..1000000").
int parse_int(const std::string& flag, const std::string& text, int min_value, int max_value = kMaxCount,
              const std::string& expected = "") {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min_value || value > max_value)
    throw mobileone::Error(flag + " expects " +
                           (expected.empty() ? "an integer in " + std::to_string(min_value) + ".." +
                                                   std::to_string(max_value)
                                             : expected) +
                           ", got '" + text + "'");
  return int(value);
}

Arguments parse_arguments(int argc, char** argv) {
  Arguments a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw mobileone::Error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--model") a.model = value();
    else if (arg == "--top") a.top = parse_int(arg, value(), 1);
    else if (arg == "--threads")  // what mobileone::Options accepts
      a.threads = parse_int(arg, value(), 0, mobileone::kMaxThreads,
                            "0 (automatic) or 1.." + std::to_string(mobileone::kMaxThreads));
    else if (arg == "--repeat") a.repeat = parse_int(arg, value(), 1);
    else if (arg == "--json") a.json = true;
    else if (arg == "--rotate")
      a.orientation.rotation = parse_int(arg, value(), 0, 270, "0, 90, 180 or 270");
    else if (arg == "--mirror") a.orientation.mirror = true;
    else if (arg == "--verify") a.verify = true;
    else if (arg == "--tensor") a.tensor = value();
    else if (arg == "--shape") a.shape = value();
    else if (arg == "--logits-out") a.logits_out = value();
    else if (arg == "--isa") a.isa = mobileone::parse_isa(value());
    else if (arg == "--precision") a.precision = mobileone::parse_precision(value());
    else if (arg == "--cores") a.cores = mobileone::parse_core_policy(value());
    else if (arg == "-h" || arg == "--help") {
      std::cout << usage();
      std::exit(0);
    } else if (!arg.empty() && arg[0] == '-') throw mobileone::Error("unknown option " + arg);
    else a.images.push_back(arg);
  }
  if (a.model.empty()) throw mobileone::Error("--model is required (see --help)");
  if (a.verify && (!a.tensor.empty() || !a.images.empty() || !a.logits_out.empty() || a.repeat != 1))
    throw mobileone::Error("--verify runs the model's own input: give no image, --tensor, --logits-out or --repeat");
  if (a.tensor.empty() && a.images.empty() && !a.verify)
    throw mobileone::Error("give image files, or --tensor with --shape, or --verify");
  if (!a.tensor.empty() && a.shape.empty()) throw mobileone::Error("--tensor needs --shape 1,3,H,W");
  if (a.tensor.empty() && !a.shape.empty()) throw mobileone::Error("--shape is only meaningful with --tensor");
  if (a.orientation.rotation % 90 != 0)
    throw mobileone::Error("--rotate expects 0, 90, 180 or 270, got '" + std::to_string(a.orientation.rotation) + "'");
  if (!a.tensor.empty() && (a.orientation.rotation != 0 || a.orientation.mirror))
    throw mobileone::Error("--rotate and --mirror apply to image files, not to --tensor");
  if (!a.tensor.empty() && !a.images.empty()) throw mobileone::Error("give either image files or --tensor, not both");
  if (!a.logits_out.empty() && a.images.size() > 1) throw mobileone::Error("--logits-out takes a single input");
  return a;
}

std::vector<int> parse_shape(const std::string& text) {
  std::vector<int> dims;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) dims.push_back(parse_int("--shape", item, 1));
  if (dims.size() != 4 || dims[0] != 1)
    throw mobileone::Error("--shape must be 1,C,H,W (batch 1), got '" + text + "'");
  return dims;
}

std::vector<float> read_tensor(const std::string& path, const std::vector<int>& shape) {
  const std::size_t count = std::size_t(shape[1]) * std::size_t(shape[2]) * std::size_t(shape[3]);
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) throw mobileone::Error(path + ": cannot open tensor file");
  const std::streamoff size = file.tellg();
  if (size != std::streamoff(count * sizeof(float)))
    throw mobileone::Error(path + ": file has " + std::to_string(size) + " bytes, shape " + std::to_string(shape[0]) + "," +
                           std::to_string(shape[1]) + "," + std::to_string(shape[2]) + "," + std::to_string(shape[3]) +
                           " needs " + std::to_string(count * sizeof(float)));
  std::vector<float> data(count);
  file.seekg(0);
  file.read(reinterpret_cast<char*>(data.data()), size);
  if (!file) throw mobileone::Error(path + ": read error");
  return data;
}

void write_logits(const std::string& path, const std::vector<float>& logits) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary);
    file.write(reinterpret_cast<const char*>(logits.data()), std::streamsize(logits.size() * sizeof(float)));
    if (!file) throw mobileone::Error(path + ": cannot write logits");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) throw mobileone::Error(path + ": cannot write logits");
}

struct Latency {
  double median_ms = 0, min_ms = 0;
  int runs = 0;
};

// One warm-up run when timing several runs, then `repeat` timed runs on the current input.
Latency time_runs(mobileone::Context& context, int repeat) {
  if (repeat > 1) context.run();
  std::vector<double> ms;
  for (int r = 0; r < repeat; ++r) {
    const auto start = std::chrono::steady_clock::now();
    context.run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  const std::size_t n = ms.size();
  return {n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]), ms.front(), repeat};
}

using mobileone::json_string;

void report(const std::string& input, const mobileone::Context& context, int top, const Latency& latency, bool json) {
  const auto predictions = context.top_k(top);
  char number[64];
  if (json) {
    std::string line = "{\"input\": " + json_string(input) + ", \"image\": " + json_string(input) +
                       ", \"model\": " + json_string(context.model().name()) +
                       ", \"isa\": " + json_string(mobileone::isa_name(context.isa())) +
                       ", \"precision\": " + json_string(mobileone::precision_name(context.precision())) +
                       ", \"kernels\": " + json_string(context.kernel_set_name()) +
                       ", \"threads\": " + std::to_string(context.threads()) + ", \"top\": [";
    for (std::size_t i = 0; i < predictions.size(); ++i) {
      std::snprintf(number, sizeof number, "%.6g", double(predictions[i].probability));
      line += std::string(i ? ", " : "") + "{\"index\": " + std::to_string(predictions[i].index) +
              ", \"label\": " + json_string(predictions[i].label) + ", \"prob\": " + number + "}";
    }
    std::snprintf(number, sizeof number, "{\"median\": %.4f, \"min\": %.4f, \"runs\": %d}", latency.median_ms,
                  latency.min_ms, latency.runs);
    std::cout << line << "], \"latency_ms\": " << number << "}\n";
    return;
  }
  if (latency.runs == 1)  // no warm-up: the first run also sets up the workspace
    std::snprintf(number, sizeof number, "%.3f ms (1 run, no warm-up)", latency.median_ms);
  else
    std::snprintf(number, sizeof number, "%.3f ms median, %.3f ms min over %d runs", latency.median_ms,
                  latency.min_ms, latency.runs);
  std::cout << input << ": " << context.model().name() << ", " << context.kernel_set_name() << ", "
            << mobileone::precision_name(context.precision()) << ", "
            << context.threads() << " thread" << (context.threads() == 1 ? "" : "s") << ", " << number << "\n";
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    std::snprintf(number, sizeof number, "  %zu. %6.2f%%  ", i + 1, 100.0 * double(predictions[i].probability));
    std::cout << number << predictions[i].label << " (" << predictions[i].index << ")\n";
  }
}

// --verify: one line per stage (or one JSON object); a failure or missing golden data throws, naming the
// first diverging stage.
int run_verify(const Arguments& args, const mobileone::Context& context) {
  const mobileone::Verification v = mobileone::verify(context);
  if (!v.available)
    throw mobileone::Error(args.model + ": no golden data (format version " +
                           std::to_string(mobileone::detail::ModelAccess::data(context.model()).blob.format_version) +
                           "): --verify is unavailable; convert the checkpoint again with weights/convert.py");
  const mobileone::StageVerification* first = v.first_divergence();
  char number[96];
  if (args.json) {
    std::string line = "{\"model\": " + json_string(context.model().name()) + ", \"file\": " + json_string(args.model) +
                       ", \"isa\": " + json_string(mobileone::isa_name(v.isa)) +
                       ", \"precision\": " + json_string(mobileone::precision_name(v.precision)) +
                       ", \"kernels\": " + json_string(v.kernel_set) + ", \"threads\": " +
                       std::to_string(context.threads()) + ", \"golden_input\": [" + std::to_string(v.height) + ", " +
                       std::to_string(v.width) + "], \"passed\": " + (first ? "false" : "true") +
                       ", \"first_divergence\": " + (first ? json_string(first->name) : "null") + ", \"stages\": [";
    for (std::size_t i = 0; i < v.stages.size(); ++i) {
      std::snprintf(number, sizeof number, "\"relative_error\": %.6g, \"tolerance\": %.6g", v.stages[i].relative_error,
                    v.stages[i].tolerance);
      line += std::string(i ? ", " : "") + "{\"stage\": " + json_string(v.stages[i].name) + ", " + number +
              ", \"passed\": " + (v.stages[i].passed() ? "true" : "false") + "}";
    }
    std::cout << line << "]}\n";
  } else {
    std::cout << args.model << ": " << context.model().name() << ", " << v.kernel_set << ", "
              << mobileone::precision_name(v.precision) << ", golden self-check on its " << v.height << "x" << v.width
              << " input\n";
    for (const mobileone::StageVerification& s : v.stages) {
      std::snprintf(number, sizeof number, "  %-8s worst relative error %.3g (tolerance %.3g)  %s\n", s.name.c_str(),
                    s.relative_error, s.tolerance, s.passed() ? "ok" : "DIVERGES");
      std::cout << number;
    }
    if (!first) std::cout << "passed: every stage within the " << mobileone::precision_name(v.precision) << " tolerance\n";
  }
  std::cout.flush();
  if (first) {
    std::snprintf(number, sizeof number, "relative error %.3g > %s tolerance %.3g", first->relative_error,
                  mobileone::precision_name(v.precision), first->tolerance);
    throw mobileone::Error(args.model + ": self-check failed on " + v.kernel_set + ": " + first->name +
                           " is the first stage that diverges (" + number + ")");
  }
  return 0;
}

// Classifies one image file; throws mobileone::Error naming the file when it cannot be classified.
void classify_image(const Arguments& args, const std::string& path, mobileone::Context& context) {
  const auto image = mobileone::examples::ImageFile::load(path);
  try {
    context.set_input(image.view(), args.orientation);
  } catch (const mobileone::Error& e) {  // the engine's message names neither the file nor its size
    throw mobileone::Error(path + " (" + std::to_string(image.view().width) + "x" +
                           std::to_string(image.view().height) + " pixels): " + e.what());
  }
  const Latency latency = time_runs(context, args.repeat);
  if (!args.logits_out.empty()) write_logits(args.logits_out, context.logits());
  report(path, context, args.top, latency, args.json);
}

int run(int argc, char** argv) {
  if (argc <= 1) {
    std::cerr << usage();
    return 2;
  }
  const Arguments args = parse_arguments(argc, argv);
  const mobileone::Model model = mobileone::Model::load(args.model);
  mobileone::Options options;
  options.threads = args.threads;
  options.isa = args.isa;
  options.precision = args.precision;
  options.cores = args.cores;
  mobileone::Context context(model, options);
  if (args.verify) return run_verify(args, context);
  if (args.top > model.num_classes())
    std::cerr << "mobileone-classify: note: --top " << args.top << " is more than the model's " << model.num_classes()
              << " classes; showing " << model.num_classes() << "\n";

  if (!args.tensor.empty()) {
    const std::vector<int> shape = parse_shape(args.shape);
    const std::vector<float> tensor = read_tensor(args.tensor, shape);
    try {
      context.set_input(tensor.data(), shape[1], shape[2], shape[3]);
    } catch (const mobileone::Error& e) {  // name the file (a NaN's position, a channel count)
      throw mobileone::Error(args.tensor + ": " + e.what());
    }
    const Latency latency = time_runs(context, args.repeat);
    if (!args.logits_out.empty()) write_logits(args.logits_out, context.logits());
    report(args.tensor, context, args.top, latency, args.json);
    return 0;
  }
  int failures = 0;
  for (const std::string& path : args.images) {
    try {
      classify_image(args, path, context);
    } catch (const std::exception& e) {  // reported, and on with the next file
      ++failures;
      std::string message = e.what();
      if (message.compare(0, path.size(), path) != 0) message = path + ": " + message;
      if (args.json)
        std::cout << "{\"input\": " << json_string(path) << ", \"error\": " << json_string(message) << "}\n";
      std::cout.flush();  // keeps stdout and stderr in order on a terminal
      std::cerr << "mobileone-classify: error: " << message << "\n";
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return mobileone::run_tool("mobileone-classify", argc, argv, run); }
