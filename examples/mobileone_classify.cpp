// mobileone-classify: classify image files (or a raw tensor) with a .mone model.
//
//   mobileone-classify --model MODEL.mone IMAGE... [--top K] [--json] [--threads N] [--repeat N] [--isa ISA]
//   mobileone-classify --model MODEL.mone --tensor FILE.f32 --shape 1,3,H,W [--logits-out FILE.f32] ...
//
// Latency follows the paper's protocol: with --repeat N, one warm-up run, then N timed runs of the
// network on the already preprocessed input; the median and the minimum are reported.
#include <algorithm>
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
  mobileone::Isa isa = mobileone::Isa::automatic;
};

std::string usage() {
  return "usage: mobileone-classify --model MODEL.mone IMAGE... [--top K] [--json] [--threads N] [--repeat N]\n"
         "                          [--isa ISA]   (ISA: " + mobileone::isa_choices() + ")\n"
         "       mobileone-classify --model MODEL.mone --tensor FILE.f32 --shape 1,3,H,W [--logits-out FILE.f32] ...\n";
}

int parse_int(const std::string& flag, const std::string& text, int min_value) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < min_value || value > 1000000)
    throw mobileone::Error(flag + " expects an integer >= " + std::to_string(min_value) + ", got '" + text + "'");
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
    else if (arg == "--threads") a.threads = parse_int(arg, value(), 1);
    else if (arg == "--repeat") a.repeat = parse_int(arg, value(), 1);
    else if (arg == "--json") a.json = true;
    else if (arg == "--tensor") a.tensor = value();
    else if (arg == "--shape") a.shape = value();
    else if (arg == "--logits-out") a.logits_out = value();
    else if (arg == "--isa") a.isa = mobileone::parse_isa(value());
    else if (arg == "-h" || arg == "--help") {
      std::cout << usage();
      std::exit(0);
    } else if (!arg.empty() && arg[0] == '-') throw mobileone::Error("unknown option " + arg);
    else a.images.push_back(arg);
  }
  if (a.model.empty()) throw mobileone::Error("--model is required");
  if (a.tensor.empty() && a.images.empty())
    throw mobileone::Error("give image files, or --tensor with --shape");
  if (!a.tensor.empty() && a.shape.empty()) throw mobileone::Error("--tensor needs --shape 1,3,H,W");
  if (a.tensor.empty() && !a.shape.empty()) throw mobileone::Error("--shape is only meaningful with --tensor");
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

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') out += {'\\', ch};
    else if (c < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else out += ch;
  }
  return out + "\"";
}

void report(const std::string& input, const mobileone::Context& context, int top, const Latency& latency, bool json) {
  const auto predictions = context.top_k(top);
  char number[64];
  if (json) {
    std::string line = "{\"image\": " + json_string(input) + ", \"model\": " + json_string(context.model().name()) +
                       ", \"isa\": " + json_string(mobileone::isa_name(context.isa())) +
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
  std::snprintf(number, sizeof number, "%.3f ms median, %.3f ms min over %d run%s", latency.median_ms, latency.min_ms,
                latency.runs, latency.runs == 1 ? "" : "s");
  std::cout << input << ": " << context.model().name() << ", " << mobileone::isa_name(context.isa()) << ", "
            << context.threads() << " thread" << (context.threads() == 1 ? "" : "s") << ", " << number << "\n";
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    std::snprintf(number, sizeof number, "  %zu. %6.2f%%  ", i + 1, 100.0 * double(predictions[i].probability));
    std::cout << number << predictions[i].label << " (" << predictions[i].index << ")\n";
  }
}

int run(int argc, char** argv) {
  const Arguments args = parse_arguments(argc, argv);
  const mobileone::Model model = mobileone::Model::load(args.model);
  mobileone::Options options;
  options.threads = args.threads;
  options.isa = args.isa;
  mobileone::Context context(model, options);

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
  for (const std::string& path : args.images) {
    const auto image = mobileone::examples::ImageFile::load(path);
    context.set_input(image.view());
    const Latency latency = time_runs(context, args.repeat);
    if (!args.logits_out.empty()) write_logits(args.logits_out, context.logits());
    report(path, context, args.top, latency, args.json);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return mobileone::run_tool("mobileone-classify", argc, argv, run); }
