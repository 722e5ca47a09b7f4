// mobileone-bench: latency of a MobileOne network and of each of its layers on this device, and the
// paper's latency analyses (Table 1: rank correlation of latency with MACs and parameters; Tables 2 and
// 3: activation functions, squeeze-excite and skip connections in a 30-layer network).
//
//   mobileone-bench --variant s0 --per-layer --csv s0.csv --svg s0.svg
//   mobileone-bench --variant s0 --int8 --per-layer          (int8 kernels on a synthetic int8 model)
//   mobileone-bench --model mobileone_s0.mone --threads 2 --json s0.json
//   mobileone-bench --correlation
//   mobileone-bench --ablation
//
// Run with --help for every option. Errors: one line on stderr, exit status 1.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <mobileone/mobileone.hpp>

#include "ablation_net.hpp"
#include "bench_common.hpp"
#include "bench_report.hpp"
#include "layer_profile.hpp"
#include "model_stats.hpp"
#include "statistics.hpp"
#include "svg_chart.hpp"

#include "support/tool_main.hpp"

namespace {

using mobileone::Error;
using mobileone::Isa;
namespace bench = mobileone::bench;
using bench::format;
using bench::gops;

constexpr const char* kUsage = R"(usage: mobileone-bench [--model MODEL.mone | --variant s0..s4] [options]

Times a MobileOne network with the paper's protocol: warm-up runs, then many timed runs; reports the cold
(first) run, the minimum and the median. With no options: --variant s0, 224x224, 1 thread, 100 runs.

  --model FILE          a converted model (weights/convert.py) (default: none, --variant s0)
  --variant NAME        s0, s1, s2, s3 or s4 with deterministic random weights, no file needed (default s0)
  --int8                with --variant (or --correlation): a synthetic int8 version of the random model, to
                        time the int8 kernels without a calibrated blob. A BENCHMARK model, not a quantizer:
                        every depthwise and pointwise layer after a ReLU in int8, per-channel weights
                        rounded from the random floats, input scales from one random input; its outputs are
                        not meant to be accurate (real int8 blobs: mobileone-quantize) (default off: float32)
  --precision NAME      %p: the layers' arithmetic (default auto: the blob's, int8 for an int8 blob;
                        fp32 runs an int8 blob on its dequantized weights)
  --size HxW | --size N input size (default: the model's own; 224x224 for --variant)
  --threads N           threads (default 1)
  --cores NAME          %c: the cores the threads run on, the timing thread too (default big:
                        those faster than the slowest cluster, e.g. a phone's prime and performance cores;
                        all cores where they are alike; pinned on Linux and Android; README "Threads and
                        cores")
  --isa NAME            %s (default: the best this CPU runs; or $MOBILEONE_ISA)
  --iterations N        timed runs (default 100)
  --warmup N            warm-up runs (default 10)
  --per-layer           time every layer (engine profiler) and print a table per layer, with each layer's
                        precision, GOP/s (2 per multiply-add: GFLOP/s for fp32 layers) and % of its
                        precision's peak (default off)
  --csv FILE            write the per-layer table as CSV (default none; implies --per-layer)
  --json FILE           write everything measured as JSON (default none; with --per-layer: every layer)
  --svg FILE            write a per-layer latency chart and a latency-vs-MACs scatter (default none; implies
                        --per-layer)
  --correlation         the paper's Table 1 here: Spearman rank correlation (and p-value) of latency with
                        MACs and with parameters, across the layers of S0..S4 and across the 5 networks
                        (default off)
  --ablation            the paper's Tables 2 and 3 here: a 30-layer network with ReLU, GELU, SE-ReLU, SiLU,
                        Hard-Swish; with squeeze-excite and skip connections; latency relative to ReLU
                        (default off)
  --peak-gmacs X        this CPU's peak fp32 multiply-adds per second per core, in G/s, for "% of peak"
                        (default $MOBILEONE_PEAK_GMACS, else 58.5, the AMD Zen4 machine it was developed on)
  --peak-int8-gmacs X   the same for int8 layers (default $MOBILEONE_PEAK_INT8_GMACS, else 234 = 4 x 58.5: an
                        assumption, not a measurement, that VNNI's vpdpbusd, 4 multiply-adds per 32-bit lane
                        where an FMA does 1, issues at the FMA's rate). A network with layers of both
                        precisions is rated against both: each MAC at its own layer's peak
  --help                this text

--csv, --json and --svg files are checked before anything is measured and written when it is done (to
FILE.tmp, then renamed to FILE).

examples:
  mobileone-bench --variant s0 --per-layer
  mobileone-bench --variant s0 --threads 4 --cores little
  mobileone-bench --model mobileone_s0.mone --threads 2 --csv s0.csv --json s0.json --svg s0.svg
  mobileone-bench --variant s4 --size 256x320 --iterations 20 --warmup 3
  mobileone-bench --variant s0 --int8 --per-layer --iterations 30 --warmup 5
  mobileone-bench --model mobileone_s0_int8.mone --precision fp32
  mobileone-bench --correlation
)";

struct Settings {
  std::string model_path;
  std::string variant;
  bool synthetic_int8 = false;
  int height = 0, width = 0;
  bench::ProfileSettings profile;
  std::string csv_path, json_path, svg_path;
  bool correlation = false;
  bool ablation = false;
  bench::Peaks peaks;
};

int parse_int(const std::string& flag, const std::string& text, int min_value) {
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min_value || value > 1000000)
    throw Error(flag + " expects an integer >= " + std::to_string(min_value) + ", got '" + text + "'");
  return int(value);
}

Settings parse_arguments(int argc, char** argv) {
  Settings s;
  s.profile.threads = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(arg + " needs a value");
      return argv[++i];
    };
    auto file_value = [&]() -> std::string {
      std::string path = value();
      if (path.empty()) throw Error(arg + " needs a file name, got ''");
      return path;
    };
    if (arg == "--help" || arg == "-h") {
      std::string text = kUsage;
      text.replace(text.find("%s"), 2, mobileone::isa_choices());
      text.replace(text.find("%p"), 2, mobileone::precision_choices());
      text.replace(text.find("%c"), 2, mobileone::core_policy_choices());
      std::cout << text;
      std::exit(0);
    } else if (arg == "--model") {
      s.model_path = value();
    } else if (arg == "--variant") {
      s.variant = value();
      (void)mobileone::Architecture::variant(s.variant);  // validates the name
    } else if (arg == "--int8") {
      s.synthetic_int8 = true;
    } else if (arg == "--precision") {
      s.profile.precision = mobileone::parse_precision(value());
    } else if (arg == "--size") {
      const std::string v = value();
      const std::size_t x = v.find('x');
      s.height = parse_int("--size", v.substr(0, x), 1);
      s.width = x == std::string::npos ? s.height : parse_int("--size", v.substr(x + 1), 1);
    } else if (arg == "--threads") {
      s.profile.threads = parse_int(arg, value(), 1);
    } else if (arg == "--cores") {
      s.profile.cores = mobileone::parse_core_policy(value());
    } else if (arg == "--isa") {
      s.profile.isa = mobileone::parse_isa(value());
    } else if (arg == "--iterations") {
      s.profile.iterations = parse_int(arg, value(), 1);
    } else if (arg == "--warmup") {
      s.profile.warmup = parse_int(arg, value(), 0);
    } else if (arg == "--per-layer") {
      s.profile.per_layer = true;
    } else if (arg == "--csv") {
      s.csv_path = file_value();
    } else if (arg == "--json") {
      s.json_path = file_value();
    } else if (arg == "--svg") {
      s.svg_path = file_value();
    } else if (arg == "--correlation") {
      s.correlation = true;
    } else if (arg == "--ablation") {
      s.ablation = true;
    } else if (arg == "--peak-gmacs") {
      s.peaks.fp32 = bench::parse_peak_flag(value(), arg);
    } else if (arg == "--peak-int8-gmacs") {
      s.peaks.int8 = bench::parse_peak_flag(value(), arg);
    } else {
      throw Error("unknown option '" + arg + "' (see --help)");
    }
  }
  if (!s.model_path.empty() && !s.variant.empty()) throw Error("give --model or --variant, not both");
  if (s.synthetic_int8 && !s.model_path.empty())
    throw Error("--int8 makes a synthetic int8 --variant; --model runs a blob in its own precision (see --precision)");
  if (s.profile.precision == mobileone::Precision::int8 && s.model_path.empty() && !s.synthetic_int8)
    throw Error("--precision int8 needs int8 layers: --variant sN --int8 (synthetic), or --model an int8 blob "
                "(mobileone-quantize)");
  if (!s.csv_path.empty() || !s.svg_path.empty()) s.profile.per_layer = true;
  return s;
}

std::string thread_text(int threads) { return std::to_string(threads) + (threads == 1 ? " thread" : " threads"); }

// "fp32 58.5 GMAC/s", or for an int8 context "int8 234.0 and fp32 58.5 GMAC/s" (its stem and classifier, at
// least, run in fp32).
std::string peaks_text(const bench::NetworkLatency& n, const bench::Peaks& peaks) {
  const std::string fp32 = format("%.1f", peaks.fp32.gmacs_per_core);
  if (n.precision == mobileone::Precision::bf16 || n.precision == mobileone::Precision::fp16)
    return std::string(mobileone::precision_name(n.precision)) + " " + format("%.1f", peaks.of(n.precision).gmacs_per_core) +
           " GMAC/s";
  if (n.int8_macs == 0) return "fp32 " + fp32 + " GMAC/s";
  const std::string int8 = format("%.1f", peaks.int8.gmacs_per_core);
  return n.int8_macs == n.macs ? "int8 " + int8 + " GMAC/s" : "int8 " + int8 + " and fp32 " + fp32 + " GMAC/s";
}

void print_summary(const bench::NetworkLatency& n, const bench::Peaks& peaks) {
  const double gmacs = double(n.macs) / (n.median_ms * 1e6);
  std::printf("%s: %dx%d, %s, %s, %d warm-up + %d timed runs\n", n.name.c_str(), n.height, n.width,
              bench::execution_name(n).c_str(), thread_text(n.threads).c_str(), n.warmup, n.iterations);
  std::printf("  latency      cold (first run) %.3f ms, warm min %.3f ms, median %.3f ms\n", n.cold_ms, n.min_ms,
              n.median_ms);
  const std::string int8_share =
      n.int8_macs > 0 ? format(" (%.1f%% of them in int8 layers)", 100.0 * double(n.int8_macs) / double(n.macs)) : "";
  std::printf("  work         %.1f M MACs%s, %.3f M params; %.1f GMAC/s = %.1f GOP/s = %.1f%% of peak (%s x %d)\n",
              double(n.macs) * 1e-6, int8_share.c_str(), double(n.params) * 1e-6, gmacs, 2 * gmacs,
              bench::network_percent_of_peak(n, peaks, n.median_ms), peaks_text(n, peaks).c_str(), n.threads);
  std::printf("  memory       workspace %.2f MiB, packed weights %.2f MiB, peak resident %.1f MiB (process)\n",
              double(n.workspace_bytes) / 1048576.0, double(n.packed_weight_bytes) / 1048576.0,
              double(bench::peak_resident_bytes()) / 1048576.0);
}

// Names and shapes as weights/convert.py --inspect prints them ("stage2.3", "128x28x28 -> 128x28x28"). Each
// layer's "% peak" is against the peak of the precision it ran in; with layers of both precisions, a sum row
// per precision follows the network's (whose "% peak" rates each MAC at its own layer's peak).
void print_layers(const bench::NetworkLatency& n, const bench::Peaks& peaks) {
  const double total = bench::total_median_ms(n);
  std::size_t width = 4, io_width = 9;
  for (const auto& l : n.layers) {
    width = std::max(width, l.short_name.size());
    io_width = std::max(io_width, bench::layer_shapes(l.stats).size());
  }
  std::printf("\n%-4s %-*s %-8s %-*s %10s %10s %10s %9s %6s %8s %6s %s\n", "#", int(width), "name", "kind",
              int(io_width), "in -> out", "MMACs", "params", "median ms", "min ms", "share", "GOP/s", "% peak", "prec");
  for (std::size_t i = 0; i < n.layers.size(); ++i) {
    const auto& l = n.layers[i];
    const auto& s = l.stats;
    std::printf("%-4zu %-*s %-8s %-*s %10.2f %10llu %10.4f %9.4f %5.1f%% %8.1f %5.1f%% %s\n", i, int(width),
                l.short_name.c_str(), mobileone::layer_kind_name(s.desc.kind), int(io_width),
                bench::layer_shapes(s).c_str(), double(s.macs) * 1e-6, static_cast<unsigned long long>(s.params),
                l.median_ms, l.min_ms, total > 0 ? 100.0 * l.median_ms / total : 0.0, gops(s.macs, l.median_ms),
                bench::percent_of_peak(s.macs, l.median_ms, peaks.of(l.precision), n.threads),
                mobileone::precision_name(l.precision));
  }
  const int label_width = int(width + 1 + 8 + 1 + io_width);
  const auto sum_row = [&](const std::string& label, std::uint64_t macs, std::uint64_t params, double ms,
                           double percent) {
    std::printf("%-4s %-*s %10.2f %10llu %10.4f %9s %5.1f%% %8.1f %5.1f%%\n", "", label_width, label.c_str(),
                double(macs) * 1e-6, static_cast<unsigned long long>(params), ms, "",
                total > 0 ? 100.0 * ms / total : 0.0, gops(macs, ms), percent);
  };
  sum_row("sum of layers", n.macs, n.params, total, bench::network_percent_of_peak(n, peaks, total));
  if (n.int8_macs > 0) {
    for (const mobileone::Precision p : {mobileone::Precision::int8, mobileone::Precision::fp32}) {
      std::uint64_t macs = 0, params = 0;
      double ms = 0.0;
      for (const auto& l : n.layers)
        if (l.precision == p) macs += l.stats.macs, params += l.stats.params, ms += l.median_ms;
      sum_row(std::string("  of which ") + mobileone::precision_name(p) + " layers", macs, params, ms,
              bench::percent_of_peak(macs, ms, peaks.of(p), n.threads));
    }
  }
  std::printf("(whole network median %.4f ms; the difference is the profiler's timestamps and the softmax)\n", n.median_ms);
}

std::string cannot_write(const std::string& path, int error) {
  return "cannot write " + path + ": " + std::strerror(error);
}

void write_file(const std::string& path, const std::string& text) {
  // Write beside the target and rename, so a failed write never leaves half a file.
  const std::string temporary = path + ".tmp";
  std::FILE* out = std::fopen(temporary.c_str(), "wb");
  if (!out) throw Error(cannot_write(path, errno));
  errno = 0;
  const bool written = std::fwrite(text.data(), 1, text.size(), out) == text.size();
  int error = written ? 0 : errno;
  const bool closed = std::fclose(out) == 0;  // flushes: a full disk may only show here
  if (written && !closed) error = errno;
  if (!written || !closed) {
    std::remove(temporary.c_str());
    throw Error(cannot_write(path, error != 0 ? error : EIO));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    error = errno;
    std::remove(temporary.c_str());
    throw Error(cannot_write(path, error));
  }
}

// Before minutes of timing: can `path` be written the way write_file will? It must not be a directory, and a
// file must be creatable beside it (the temporary). The probe's temporary is removed at once, so a run that
// fails or is interrupted later leaves no empty file behind.
void check_writable(const std::string& flag, const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR)
    throw Error("cannot write " + path + " (" + flag + "): it is a directory; nothing was measured");
  const std::string temporary = path + ".tmp";
  errno = 0;
  std::FILE* probe = std::fopen(temporary.c_str(), "wb");
  if (!probe)
    throw Error("cannot write " + path + " (" + flag + "): " + std::strerror(errno) + "; nothing was measured");
  std::fclose(probe);
  std::remove(temporary.c_str());
}

// Each bar's tooltip names the layer's precision: "s0/stage2.3/pw1x1_to128/C128_28x28 (int8)".
std::vector<bench::ChartLayer> chart_layers(const bench::NetworkLatency& n) {
  std::vector<bench::ChartLayer> layers;
  for (const auto& l : n.layers)
    layers.push_back({l.name + " (" + mobileone::precision_name(l.precision) + ")",
                      mobileone::layer_kind_name(l.stats.desc.kind), l.median_ms, double(l.stats.macs),
                      double(l.stats.params), l.short_name});
  return layers;
}

std::string correlation_text(const bench::Correlation& c) {
  char text[96];
  std::snprintf(text, sizeof text, "rho %+.3f  p %.2g (%s)", c.rho, c.p_value, c.method);
  return text;
}

// Table 1 of the paper on this device: all five variants, every layer profiled.
void run_correlation(const Settings& s) {
  std::vector<double> layer_ms, layer_macs, layer_params, network_ms, network_macs, network_params;
  std::printf("Table 1 on this device: Spearman rank correlation of latency with MACs and with parameters\n");
  std::printf("(random weights, 224x224, %d warm-up + %d runs per network, median per layer)\n\n", s.profile.warmup,
              s.profile.iterations);
  bench::ProfileSettings profile = s.profile;
  profile.per_layer = true;
  for (const char* variant : bench::kVariants) {
    const auto model = bench::random_variant_model(variant, bench::kDefaultSeed, 224, s.synthetic_int8);
    const auto n = bench::measure_network(model, variant, 224, 224, profile);
    std::printf("  %s: %.3f ms median, %.1f M MACs, %.2f M params, %zu layers (%s, %s)\n", variant, n.median_ms,
                double(n.macs) * 1e-6, double(n.params) * 1e-6, n.layers.size(), bench::execution_name(n).c_str(),
                thread_text(n.threads).c_str());
    for (const auto& l : n.layers) {
      layer_ms.push_back(l.median_ms);
      layer_macs.push_back(double(l.stats.macs));
      layer_params.push_back(double(l.stats.params));
    }
    network_ms.push_back(n.median_ms);
    network_macs.push_back(double(n.macs));
    network_params.push_back(double(n.params));
  }
  const auto row = [](const char* what, std::size_t n, const bench::Correlation& macs, const bench::Correlation& params) {
    std::printf("  %-22s n=%-4zu  %-34s %-34s\n", what, n, correlation_text(macs).c_str(), correlation_text(params).c_str());
  };
  std::printf("\n  %-29s  %-34s %-34s\n", "", "latency vs MACs", "latency vs parameters");
  row("layers of S0..S4", layer_ms.size(), bench::spearman(layer_ms, layer_macs), bench::spearman(layer_ms, layer_params));
  row("networks S0..S4", network_ms.size(), bench::spearman(network_ms, network_macs),
      bench::spearman(network_ms, network_params));
  std::printf("\n(paper, Table 1, across published models: iPhone 12 latency vs FLOPs rho 0.47 (p 0.03), vs parameters\n"
              " 0.30 (p 0.18); desktop CPU latency 0.06 (p 0.80) and 0.07 (p 0.77))\n");
}

void run_ablation(const Settings& s) {
  using bench::AblationVariant;
  const Isa isa = mobileone::resolve_isa(s.profile.isa);
  std::printf("Tables 2 and 3 on this device: %s\n224x224, %s, %s, %d warm-up + %d timed runs per network, interleaved\n\n",
              bench::ablation_network_summary().c_str(), mobileone::isa_name(isa), thread_text(s.profile.threads).c_str(),
              s.profile.warmup, s.profile.iterations);
  const auto print_table = [&](const char* title, const std::vector<AblationVariant>& variants,
                               const std::vector<const char*>& labels) {
    const auto rows = bench::time_ablation(variants, isa, s.profile.threads, s.profile.warmup, s.profile.iterations);
    std::printf("%s\n  %-26s %10s %10s %14s %11s\n", title, "network", "median ms", "min ms", "median/ReLU's", "min/ReLU's");
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::printf("  %-26s %10.3f %10.3f %13.2fx %10.2fx\n", labels[i], rows[i].median_ms, rows[i].min_ms,
                  rows[i].relative_to_relu, rows[i].min_relative_to_relu);
    std::printf("\n");
  };
  const std::vector<AblationVariant> activations(std::begin(bench::kActivationAblation), std::end(bench::kActivationAblation));
  std::vector<const char*> activation_labels;
  for (AblationVariant v : activations) activation_labels.push_back(bench::ablation_variant_name(v));
  print_table("Table 2: activation functions", activations, activation_labels);
  print_table("Table 3: architectural blocks (cumulative)",
              std::vector<AblationVariant>(std::begin(bench::kBlockAblation), std::end(bench::kBlockAblation)),
              {"Baseline (ReLU)", "+ Squeeze-Excite", "+ Skip connections"});
  std::printf("(paper, iPhone 12, relative to ReLU 1.53 ms: GELU 1.07x, SE-ReLU 1.37x, SiLU 1.66x;\n"
              " Table 3: + Squeeze-Excite 1.37x, + Skip connections 1.71x)\n");
}

int run(int argc, char** argv) {
  const Settings s = parse_arguments(argc, argv);
  const bool main_job = !(s.correlation || s.ablation) || !s.model_path.empty() || !s.variant.empty();
  if (main_job) {
    if (!s.csv_path.empty()) check_writable("--csv", s.csv_path);
    if (!s.json_path.empty()) check_writable("--json", s.json_path);
    if (!s.svg_path.empty()) check_writable("--svg", s.svg_path);
  }
  if (s.correlation) run_correlation(s);
  if (s.ablation) run_ablation(s);
  if (!main_job) return 0;
  if (s.correlation || s.ablation) std::printf("\n");

  const std::string variant = s.variant.empty() && s.model_path.empty() ? "s0" : s.variant;
  const mobileone::Model model = s.model_path.empty()
                                     ? bench::random_variant_model(variant, bench::kDefaultSeed, 224, s.synthetic_int8)
                                     : mobileone::Model::load(s.model_path);
  const std::string name = s.model_path.empty() ? variant : std::string(model.name());
  const int height = s.height > 0 ? s.height : model.preprocess().input_height;
  const int width = s.width > 0 ? s.width : model.preprocess().input_width;
  const bench::NetworkLatency n = bench::measure_network(model, name, height, width, s.profile);
  print_summary(n, s.peaks);
  if (s.profile.per_layer) print_layers(n, s.peaks);
  if (!s.csv_path.empty()) write_file(s.csv_path, bench::layers_csv(n, s.peaks));
  if (!s.json_path.empty()) write_file(s.json_path, bench::network_json(n, s.peaks));
  if (!s.svg_path.empty())
    write_file(s.svg_path, bench::per_layer_svg(name + " " + std::to_string(height) + "x" + std::to_string(width) + ", " +
                                                    bench::execution_name(n) + ", " + thread_text(n.threads) +
                                                    ", median of " + std::to_string(n.iterations) + " runs",
                                                chart_layers(n), n.median_ms));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return mobileone::run_tool("mobileone-bench", argc, argv, run); }
