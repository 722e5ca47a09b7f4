// Text forms of a measured network (bench/layer_profile.hpp): the per-layer CSV and the JSON report that
// mobileone-bench writes. In a header so that an app (e.g. on an iPhone, which has no command line) can
// measure with measure_network() and log the same CSV/JSON.
#pragma once

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>

#include "layer_profile.hpp"

namespace mobileone::bench {

inline std::string shape(int h, int w, int c) { return std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c); }

inline std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// Throughput in G operations per second, 2 per multiply-add whatever the precision: GFLOP/s for fp32 layers,
// GOP/s (of uint8 x int8 products and int32 sums) for int8 ones.
inline double gops(std::uint64_t macs, double ms) { return ms > 0 ? 2.0 * double(macs) / (ms * 1e6) : 0.0; }

// `macs` in `ms` as a share of `threads` cores at `peak`, in percent.
inline double percent_of_peak(std::uint64_t macs, double ms, const PeakSetting& peak, int threads) {
  return ms > 0 ? 100.0 * double(macs) / (ms * 1e6) / (peak.gmacs_per_core * threads) : 0.0;
}

// The whole network's "% of peak" in a time `ms` (its median, or the sum of its layers' medians) when its
// layers run in different precisions: the time its MACs would take with each at the peak of its own
// precision (fp32 MACs at the fp32 peak, int8 MACs at the int8 peak) as a share of `ms`. In one precision
// this is MACs/s against that precision's peak (a bf16 or fp16 network: every layer at its 16-bit peak).
inline double network_percent_of_peak(const NetworkLatency& n, const Peaks& peaks, double ms) {
  if (!(ms > 0)) return 0.0;
  const double fp32_macs = double(n.macs - n.int8_macs), int8_macs = double(n.int8_macs);
  const Precision others = n.precision == Precision::int8 ? Precision::fp32 : n.precision;
  const double ideal_ms = (fp32_macs / peaks.of(others).gmacs_per_core + int8_macs / peaks.int8.gmacs_per_core) /
                          (1e6 * double(n.threads));
  return 100.0 * ideal_ms / ms;
}

// "fp32 on avx512", "int8 on avx512+vnni": how a network ran, in the summary, the SVG title and the JSON.
inline std::string execution_name(const NetworkLatency& n) {
  return std::string(precision_name(n.precision)) + " on " + n.kernel_set;
}

inline double total_median_ms(const NetworkLatency& n) {
  double total = 0.0;
  for (const auto& l : n.layers) total += l.median_ms;
  return total;
}

inline std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

inline std::string layers_csv(const NetworkLatency& n, const Peaks& peaks = {}) {
  const double total = total_median_ms(n);
  std::ostringstream out;
  out << "name,kind,precision,in_shape,out_shape,macs,params,median_ms,min_ms,share,gops,pct_peak\n";
  for (const auto& l : n.layers) {
    const auto& s = l.stats;
    out << csv_field(l.name) << ',' << mobileone::layer_kind_name(s.desc.kind) << ',' << precision_name(l.precision) << ','
        << shape(s.in_height, s.in_width, s.in_channels) << ',' << shape(s.out_height, s.out_width, s.out_channels) << ','
        << s.macs << ',' << s.params << ',' << format("%.6f", l.median_ms) << ',' << format("%.6f", l.min_ms) << ','
        << format("%.5f", total > 0 ? l.median_ms / total : 0.0) << ',' << format("%.3f", gops(s.macs, l.median_ms))
        << ',' << format("%.2f", percent_of_peak(s.macs, l.median_ms, peaks.of(l.precision), n.threads)) << '\n';
  }
  return out.str();
}

inline std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", unsigned(c));
      out += escaped;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

inline std::string network_json(const NetworkLatency& n, const Peaks& peaks = {}) {
  std::ostringstream out;
  out << "{\n  \"name\": " << json_string(n.name) << ",\n  \"isa\": \"" << mobileone::isa_name(n.isa)
      << "\",\n  \"precision\": \"" << precision_name(n.precision) << "\",\n  \"kernels\": " << json_string(n.kernel_set)
      << ",\n  \"threads\": " << n.threads << ",\n  \"input\": [" << n.height << ", " << n.width
      << "],\n  \"warmup\": " << n.warmup << ",\n  \"iterations\": " << n.iterations
      << ",\n  \"cold_ms\": " << format("%.6f", n.cold_ms) << ",\n  \"min_ms\": " << format("%.6f", n.min_ms)
      << ",\n  \"median_ms\": " << format("%.6f", n.median_ms) << ",\n  \"macs\": " << n.macs
      << ",\n  \"int8_macs\": " << n.int8_macs << ",\n  \"params\": " << n.params
      << ",\n  \"gmacs_per_second\": " << format("%.3f", double(n.macs) / (n.median_ms * 1e6))
      << ",\n  \"gops\": " << format("%.3f", gops(n.macs, n.median_ms))
      << ",\n  \"pct_peak\": " << format("%.3f", network_percent_of_peak(n, peaks, n.median_ms))
      << ",\n  \"peak_gmacs_per_core\": " << format("%.3f", peaks.fp32.gmacs_per_core)
      << ",\n  \"peak_int8_gmacs_per_core\": " << format("%.3f", peaks.int8.gmacs_per_core)
      << ",\n  \"workspace_bytes\": " << n.workspace_bytes << ",\n  \"packed_weight_bytes\": " << n.packed_weight_bytes
      << ",\n  \"peak_resident_bytes\": " << peak_resident_bytes() << ",\n  \"layers\": [";
  for (std::size_t i = 0; i < n.layers.size(); ++i) {
    const auto& l = n.layers[i];
    const auto& s = l.stats;
    out << (i ? ",\n    " : "\n    ") << "{\"name\": " << json_string(l.name) << ", \"kind\": \""
        << mobileone::layer_kind_name(s.desc.kind) << "\", \"precision\": \"" << precision_name(l.precision)
        << "\", \"in\": [" << s.in_height << ", " << s.in_width << ", "
        << s.in_channels << "], \"out\": [" << s.out_height << ", " << s.out_width << ", " << s.out_channels
        << "], \"macs\": " << s.macs << ", \"params\": " << s.params << ", \"median_ms\": " << format("%.6f", l.median_ms)
        << ", \"min_ms\": " << format("%.6f", l.min_ms) << ", \"gops\": " << format("%.3f", gops(s.macs, l.median_ms))
        << ", \"pct_peak\": " << format("%.3f", percent_of_peak(s.macs, l.median_ms, peaks.of(l.precision), n.threads))
        << "}";
  }
  out << (n.layers.empty() ? "]\n}\n" : "\n  ]\n}\n");
  return out.str();
}

}  // namespace mobileone::bench
