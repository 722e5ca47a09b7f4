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

inline double gflops(std::uint64_t macs, double ms) { return ms > 0 ? 2.0 * double(macs) / (ms * 1e6) : 0.0; }

inline std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

inline std::string layers_csv(const NetworkLatency& n) {
  double total = 0.0;
  for (const auto& l : n.layers) total += l.median_ms;
  std::ostringstream out;
  out << "name,kind,in_shape,out_shape,macs,params,median_ms,min_ms,share,gflops\n";
  for (const auto& l : n.layers) {
    const auto& s = l.stats;
    out << csv_field(l.name) << ',' << mobileone::layer_kind_name(s.desc.kind) << ','
        << shape(s.in_height, s.in_width, s.in_channels) << ',' << shape(s.out_height, s.out_width, s.out_channels) << ','
        << s.macs << ',' << s.params << ',' << format("%.6f", l.median_ms) << ',' << format("%.6f", l.min_ms) << ','
        << format("%.5f", total > 0 ? l.median_ms / total : 0.0) << ',' << format("%.3f", gflops(s.macs, l.median_ms))
        << '\n';
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

inline std::string network_json(const NetworkLatency& n, const PeakSetting& peak) {
  std::ostringstream out;
  out << "{\n  \"name\": " << json_string(n.name) << ",\n  \"isa\": \"" << mobileone::isa_name(n.isa)
      << "\",\n  \"threads\": " << n.threads << ",\n  \"input\": [" << n.height << ", " << n.width
      << "],\n  \"warmup\": " << n.warmup << ",\n  \"iterations\": " << n.iterations
      << ",\n  \"cold_ms\": " << format("%.6f", n.cold_ms) << ",\n  \"min_ms\": " << format("%.6f", n.min_ms)
      << ",\n  \"median_ms\": " << format("%.6f", n.median_ms) << ",\n  \"macs\": " << n.macs
      << ",\n  \"params\": " << n.params << ",\n  \"gmacs_per_second\": " << format("%.3f", double(n.macs) / (n.median_ms * 1e6))
      << ",\n  \"peak_gmacs_per_core\": " << format("%.3f", peak.gmacs_per_core)
      << ",\n  \"workspace_bytes\": " << n.workspace_bytes << ",\n  \"packed_weight_bytes\": " << n.packed_weight_bytes
      << ",\n  \"peak_resident_bytes\": " << peak_resident_bytes() << ",\n  \"layers\": [";
  for (std::size_t i = 0; i < n.layers.size(); ++i) {
    const auto& l = n.layers[i];
    const auto& s = l.stats;
    out << (i ? ",\n    " : "\n    ") << "{\"name\": " << json_string(l.name) << ", \"kind\": \""
        << mobileone::layer_kind_name(s.desc.kind) << "\", \"in\": [" << s.in_height << ", " << s.in_width << ", "
        << s.in_channels << "], \"out\": [" << s.out_height << ", " << s.out_width << ", " << s.out_channels
        << "], \"macs\": " << s.macs << ", \"params\": " << s.params << ", \"median_ms\": " << format("%.6f", l.median_ms)
        << ", \"min_ms\": " << format("%.6f", l.min_ms) << "}";
  }
  out << (n.layers.empty() ? "]\n}\n" : "\n  ]\n}\n");
  return out.str();
}

}  // namespace mobileone::bench
