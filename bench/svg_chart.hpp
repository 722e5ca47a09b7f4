// SVG charts of measured latencies: per layer (bars in network order, and latency vs MACs on log-log axes)
// and per network (latency vs MACs). Header-only, dependency-free; the output is a self-contained SVG 1.1
// document that any browser shows, with a <title> tooltip on every bar and point, the layers' names under their
// bars, and one mark shape and colour per layer kind (with legends).
//
// Output is deterministic: numbers are formatted by hand (printf's %f would follow LC_NUMERIC and could write
// decimal commas), and everything is laid out from the data alone. All text is XML-escaped, and bytes that
// are not valid UTF-8 or not allowed in XML become '?', so that any layer name gives a well-formed document.
// Values that cannot be drawn (non-finite, negative; zero latency on a log axis) are skipped and counted in
// a note under the chart.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace mobileone::bench {

// Longest name drawn under a bar, in characters: longer ones are cut to 21 characters and "…" (the tooltip
// keeps the whole name).
inline constexpr std::size_t kAxisLabelLength = 22;

struct ChartLayer {
  std::string name;           // in the tooltip, e.g. layer_label(): "stage2.3/dw3x3_s1/C128_28x28"
  std::string kind;           // layer_kind_name(): conv3x3, dw3x3, pw1x1, se, avgpool, linear (else "other")
  double milliseconds = 0;    // measured latency
  double macs = 0;            // multiply-adds (0 for avgpool: drawn in a separate "0 MACs" column)
  double params = 0;
  std::string axis_label;     // under the bar, e.g. layer_name(): "stage2.3" (empty: `name`)
};

struct ChartNetwork {
  std::string name;  // e.g. "s0"
  double milliseconds = 0;
  double macs = 0;
  double params = 0;
};

namespace svg_detail {

inline constexpr double kWidth = 960;
inline constexpr double kPlotLeft = 80;
inline constexpr double kPlotRight = 940;
// On a log-log scatter, points without MACs sit in a column of their own, left of the log axis.
inline constexpr double kZeroColumnWidth = 56;
inline constexpr double kLogAxisOffsetAfterZeroColumn = 88;
// Layer names under the bars: 9 px text, rotated; at 9 px DejaVu Sans's digits are 5.7 px wide, '.' 2.9 and
// lower case letters 2.5 to 8.6 ("stage3.19.se" takes 57 px), so 5.2 per character leaves room; one name per
// slot, or every k-th if slots are narrower than kAxisLabelSpacing.
inline constexpr double kAxisLabelFontSize = 9;
inline constexpr double kAxisLabelCharWidth = 5.2;
inline constexpr double kAxisLabelSpacing = 11;

struct KindStyle {
  const char* kind;
  const char* color;
  const char* mark;  // SVG path data of the kind's scatter mark, centred on (0, 0)
};

inline constexpr const char* kCircleMark = "M-4,0A4,4 0 1,0 4,0A4,4 0 1,0 -4,0Z";

// Okabe-Ito colours: distinguishable with the common forms of colour blindness; and a mark shape per kind, so
// that kinds stay apart without colour too: square, triangle up, circle, diamond, triangle down, plus, cross.
inline constexpr KindStyle kKindStyles[] = {
    {"conv3x3", "#E69F00", "M-3.6,-3.6H3.6V3.6H-3.6Z"},
    {"dw3x3", "#56B4E9", "M0,-5L4.6,3.4H-4.6Z"},
    {"pw1x1", "#0072B2", kCircleMark},
    {"se", "#009E73", "M0,-5L5,0L0,5L-5,0Z"},
    {"avgpool", "#CC79A7", "M0,5L4.6,-3.4H-4.6Z"},
    {"linear", "#D55E00", "M-1.6,-5H1.6V-1.6H5V1.6H1.6V5H-1.6V1.6H-5V-1.6H-1.6Z"},
    {"other", "#999999", "M-4.7,-2.4L-2.4,-4.7L0,-2.3L2.4,-4.7L4.7,-2.4L2.3,0L4.7,2.4L2.4,4.7L0,2.3L-2.4,4.7L-4.7,2.4L-2.3,0Z"},
};
inline constexpr std::size_t kOtherKind = std::size(kKindStyles) - 1;

inline std::size_t kind_index(std::string_view kind) {
  for (std::size_t i = 0; i < kOtherKind; ++i)
    if (kind == kKindStyles[i].kind) return i;
  return kOtherKind;
}

// Length of the valid UTF-8 sequence starting at text[i], or 0 if there is none (truncated, overlong,
// surrogate, beyond U+10FFFF, or a non-character XML forbids).
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const unsigned char lead = static_cast<unsigned char>(text[i]);
  std::size_t length = 0;
  std::uint32_t code = 0, smallest = 0;
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code = lead & 0x1Fu;
    smallest = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code = lead & 0x0Fu;
    smallest = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code = lead & 0x07u;
    smallest = 0x10000;
  } else {
    return 0;
  }
  if (text.size() - i < length) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    const unsigned char next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3Fu);
  }
  if (code < smallest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF) || code == 0xFFFE || code == 0xFFFF)
    return 0;
  return length;
}

// `text` cut to at most `limit` characters (code points), the last of them then "…"; bytes that are not valid
// UTF-8 count as one character each (xml_escape writes them as '?').
inline std::string abbreviate(std::string_view text, std::size_t limit) {
  std::size_t characters = 0, i = 0, cut = 0;
  while (i < text.size()) {
    if (characters + 1 == limit) cut = i;
    if (characters == limit) return std::string(text.substr(0, cut)) + "\xE2\x80\xA6";
    const std::size_t length = utf8_sequence_length(text, i);
    i += length == 0 ? 1 : length;
    ++characters;
  }
  return std::string(text);
}

inline std::size_t character_count(std::string_view text) {
  std::size_t characters = 0;
  for (std::size_t i = 0; i < text.size(); ++characters) {
    const std::size_t length = utf8_sequence_length(text, i);
    i += length == 0 ? 1 : length;
  }
  return characters;
}

inline std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      out += '?';
      ++i;
      continue;
    }
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else if (c == '\'') out += "&apos;";
    else if (length == 1 && static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') out += '?';
    else out.append(text, i, length);
    i += length;
  }
  return out;
}

// value with the given number of decimals (0..6), locale-independent; "n/a" if not finite. Values too large
// for 64-bit integer arithmetic at that precision are written as mantissa and exponent ("2.500e21").
inline std::string number(double value, int decimals) {
  if (!std::isfinite(value)) return "n/a";
  std::uint64_t unit = 1;
  for (int i = 0; i < decimals; ++i) unit *= 10;
  if (std::fabs(value) * double(unit) >= 1e18) {
    const int exponent = int(std::floor(std::log10(std::fabs(value))));
    return number(value / std::pow(10.0, exponent), 3) + "e" + std::to_string(exponent);
  }
  const long long scaled = std::llround(value * double(unit));
  const std::uint64_t magnitude = scaled < 0 ? std::uint64_t(0) - std::uint64_t(scaled) : std::uint64_t(scaled);
  std::string out = scaled < 0 ? "-" : "";
  out += std::to_string(magnitude / unit);
  if (decimals > 0) {
    const std::string fraction = std::to_string(magnitude % unit);
    out += "." + std::string(std::size_t(decimals) - fraction.size(), '0') + fraction;
  }
  return out;
}

// Coordinates: two decimals are far below a pixel.
inline std::string px(double value) { return number(value, 2); }

inline std::string text(double x, double y, std::string_view content, std::string_view attributes = "") {
  return "<text x=\"" + px(x) + "\" y=\"" + px(y) + "\"" + (attributes.empty() ? "" : " ") + std::string(attributes) +
         ">" + xml_escape(content) + "</text>\n";
}

inline std::string line(double x1, double y1, double x2, double y2, std::string_view attributes) {
  return "<line x1=\"" + px(x1) + "\" y1=\"" + px(y1) + "\" x2=\"" + px(x2) + "\" y2=\"" + px(y2) + "\" " +
         std::string(attributes) + "/>\n";
}

inline std::string vertical_title(double x, double y, std::string_view content) {
  return "<text transform=\"translate(" + px(x) + "," + px(y) + ") rotate(-90)\" text-anchor=\"middle\">" +
         xml_escape(content) + "</text>\n";
}

inline std::string tooltip(std::string_view name, double milliseconds, double macs, double params) {
  return std::string(name) + ": " + number(milliseconds, 3) + " ms, " + number(macs / 1e6, 2) + " MMACs, " +
         number(params / 1e6, 3) + " M params";
}

struct Box {
  double left, top, right, bottom;
};

inline std::string frame(const Box& box) {
  return "<rect x=\"" + px(box.left) + "\" y=\"" + px(box.top) + "\" width=\"" + px(box.right - box.left) +
         "\" height=\"" + px(box.bottom - box.top) + "\" fill=\"none\" stroke=\"#444444\"/>\n";
}

inline std::string empty_message(const Box& box, std::string_view message) {
  return text((box.left + box.right) / 2, (box.top + box.bottom) / 2, message,
              "text-anchor=\"middle\" font-size=\"14\" fill=\"#666666\"");
}

// Axis title under a plot (`below` its bottom), at its right end, which leaves the left end free for a
// skipped_note.
inline std::string x_axis_title(const Box& box, std::string_view title, double below = 36) {
  return text(box.right, box.bottom + below, title, "text-anchor=\"end\"");
}

// Under a plot, at its left end: how many items (layers, networks) could not be drawn, and why.
inline std::string skipped_note(const Box& box, std::size_t skipped, std::string_view item, std::string_view why,
                                double below = 36) {
  if (skipped == 0) return "";
  return text(box.left, box.bottom + below,
              std::to_string(skipped) + " " + std::string(item) + (skipped == 1 ? "" : "s") + " not drawn (" +
                  std::string(why) + ")",
              "fill=\"#aa0000\"");
}

// 1, 2 or 5 times a power of ten, so that about `target` steps cover `span`.
inline double nice_step(double span, double target) {
  const double rough = span / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  const double mantissa = rough / magnitude;
  return (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10) * magnitude;
}

// Tick label of 10^exponent on a latency axis (ms): "0.01", "1", "100"; far decades as "1e-9".
inline std::string decade_label_ms(int exponent) {
  if (exponent >= 0 && exponent <= 5) return "1" + std::string(std::size_t(exponent), '0');
  if (exponent < 0 && exponent >= -6) return "0." + std::string(std::size_t(-exponent - 1), '0') + "1";
  return "1e" + std::to_string(exponent);
}

// Tick label of 10^exponent MACs with SI prefixes: "100k", "1M", "10G".
inline std::string decade_label_macs(int exponent) {
  static constexpr const char* kPrefixes[] = {"", "k", "M", "G", "T"};
  if (exponent < 0 || exponent >= 15) return "1e" + std::to_string(exponent);
  return "1" + std::string(std::size_t(exponent % 3), '0') + kPrefixes[exponent / 3];
}

// Whole decades around [smallest, largest] (both > 0), at least one decade wide.
struct Decades {
  int low, high;
  // Where a value with this base-10 logarithm goes when the decades span from..to.
  double position(double log10_value, double from, double to) const {
    return from + (log10_value - low) / (high - low) * (to - from);
  }
};

inline Decades decades_around(double smallest, double largest) {
  Decades d{int(std::floor(std::log10(smallest))), int(std::ceil(std::log10(largest)))};
  if (d.high <= d.low) d.high = d.low + 1;
  return d;
}

struct ScatterPoint {
  double x, y;  // x = 0 goes to the zero column
  const char* color;
  const char* mark;  // path data centred on (0, 0)
  std::string tooltip;
  std::string label;  // drawn beside the point if not empty
};

// A mark centred on (x, y): <g class=...  transform="translate(x,y)"><title/><path/></g>.
inline std::string mark(double x, double y, const char* point_class, const char* color, const char* path,
                        std::string_view tooltip) {
  return "<g class=\"" + std::string(point_class) + "\" transform=\"translate(" + px(x) + "," + px(y) + ")\">" +
         (tooltip.empty() ? std::string() : "<title>" + xml_escape(tooltip) + "</title>") + "<path d=\"" + path +
         "\" fill=\"" + color + "\" fill-opacity=\"0.85\" stroke=\"#333333\" stroke-width=\"0.6\"/></g>\n";
}

// A log-log scatter in `box`: x in MACs (axis titled x_title), y in ms. Points with x == 0 go to a column of
// their own on the left, titled zero_column_title.
inline std::string log_log_scatter(const Box& box, const std::vector<ScatterPoint>& points, std::string_view x_title,
                                   std::string_view zero_column_title, std::string_view empty_text,
                                   const char* point_class, const char* zero_point_class) {
  std::string out = frame(box);
  out += vertical_title(box.left - 56, (box.top + box.bottom) / 2, "latency (ms)");
  out += x_axis_title(box, x_title);
  if (points.empty()) return out + empty_message(box, empty_text);

  double x_min = std::numeric_limits<double>::infinity(), x_max = 0;
  double y_min = std::numeric_limits<double>::infinity(), y_max = 0;
  bool any_zero_x = false;
  for (const ScatterPoint& p : points) {
    if (p.x > 0) {
      x_min = std::min(x_min, p.x);
      x_max = std::max(x_max, p.x);
    } else {
      any_zero_x = true;
    }
    y_min = std::min(y_min, p.y);
    y_max = std::max(y_max, p.y);
  }
  const bool any_positive_x = x_max > 0;
  const Decades x_decades = any_positive_x ? decades_around(x_min, x_max) : Decades{0, 1};
  const Decades y_decades = decades_around(y_min, y_max);
  const double x_from = box.left + (any_zero_x ? kLogAxisOffsetAfterZeroColumn : 12);
  const double x_to = box.right - 12;
  const double y_from = box.bottom - 10, y_to = box.top + 10;

  // Label at most about 12 decades, so that labels never collide on a huge range.
  const int y_label_every = std::max(1, (y_decades.high - y_decades.low + 11) / 12);
  for (int e = y_decades.low; e <= y_decades.high; ++e) {
    const double y = y_decades.position(e, y_from, y_to);
    out += line(box.left, y, box.right, y, "stroke=\"#dddddd\"");
    if ((e - y_decades.low) % y_label_every == 0)
      out += text(box.left - 6, y + 4, decade_label_ms(e), "text-anchor=\"end\"");
    for (int k = 2; k <= 9 && e < y_decades.high; ++k) {
      const double minor = y_decades.position(e + std::log10(k), y_from, y_to);
      out += line(box.left, minor, box.left + 4, minor, "stroke=\"#444444\"");
    }
  }
  if (any_positive_x) {
    const int x_label_every = std::max(1, (x_decades.high - x_decades.low + 11) / 12);
    for (int e = x_decades.low; e <= x_decades.high; ++e) {
      const double x = x_decades.position(e, x_from, x_to);
      out += line(x, box.top, x, box.bottom, "stroke=\"#dddddd\"");
      if ((e - x_decades.low) % x_label_every == 0)
        out += text(x, box.bottom + 16, decade_label_macs(e), "text-anchor=\"middle\"");
      for (int k = 2; k <= 9 && e < x_decades.high; ++k) {
        const double minor = x_decades.position(e + std::log10(k), x_from, x_to);
        out += line(minor, box.bottom - 4, minor, box.bottom, "stroke=\"#444444\"");
      }
    }
  }
  const double zero_column_x = box.left + kZeroColumnWidth / 2;
  if (any_zero_x) {
    const double separator = box.left + (kZeroColumnWidth + kLogAxisOffsetAfterZeroColumn) / 2;
    out += line(separator, box.top, separator, box.bottom, "stroke=\"#888888\" stroke-dasharray=\"4,3\"");
    out += text(zero_column_x, box.bottom + 16, zero_column_title, "text-anchor=\"middle\"");
  }

  for (const ScatterPoint& p : points) {
    const double cx = p.x > 0 ? x_decades.position(std::log10(p.x), x_from, x_to) : zero_column_x;
    const double cy = y_decades.position(std::log10(p.y), y_from, y_to);
    out += mark(cx, cy, p.x > 0 ? point_class : zero_point_class, p.color, p.mark, p.tooltip);
    if (!p.label.empty()) {
      const bool left_of_point = cx > box.right - 80;  // keep the label inside the plot
      out += text(left_of_point ? cx - 7 : cx + 7, cy + 4, p.label, left_of_point ? "text-anchor=\"end\"" : "");
    }
  }
  return out;
}

inline std::string document(double height, std::string_view title, const std::string& body) {
  const std::string h = px(height);
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + px(kWidth) + "\" height=\"" + h +
         "\" viewBox=\"0 0 " + px(kWidth) + " " + h + "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"11\">\n" +
         "<rect x=\"0\" y=\"0\" width=\"" + px(kWidth) + "\" height=\"" + h + "\" fill=\"#ffffff\"/>\n" +
         text(20, 26, title, "font-size=\"16\" font-weight=\"bold\"") + body + "</svg>\n";
}

}  // namespace svg_detail

// Two charts of one network's layers, stacked: (a) latency per layer as bars in network order, coloured by
// kind, with a legend and each layer's axis_label (or name) under its bar, rotated (every k-th layer's only
// when the bars get narrower than a line of text; class "layer-label"); (b) latency vs MACs, log-log, one mark
// per layer whose shape and colour give its kind (legend entries: class "legend"), the layers without MACs
// (global pooling) in a "0 MACs" column. The title gets ": total X ms": `total_ms` if it is given (e.g. the
// whole network's median), else the sum of the layers' latencies; the heading of (a) gives that sum too.
// Every bar (class "bar") and point (class "point", or "point-zero-macs": a <g> translated to the point) carries
// a <title> tooltip "name: 0.123 ms, 7.23 MMACs, 0.010 M params". Layers whose latency is not finite or
// negative are left out of both charts (their slot in (a) stays empty); (b) also leaves out zero latencies and
// MACs that are not finite or negative. Both say how many they left out.
inline std::string per_layer_svg(const std::string& title, const std::vector<ChartLayer>& layers,
                                 double total_ms = std::numeric_limits<double>::quiet_NaN()) {
  namespace d = svg_detail;
  const auto has_bar = [](const ChartLayer& layer) {
    return std::isfinite(layer.milliseconds) && layer.milliseconds >= 0;
  };
  // Names under the bars: every layer's, or every k-th one's if the slots are narrower than a line of text.
  const double slot = layers.empty() ? 0 : (d::kPlotRight - d::kPlotLeft) / double(layers.size());
  const std::size_t label_every =
      slot > 0 ? std::max<std::size_t>(1, std::size_t(std::ceil(d::kAxisLabelSpacing / slot - 1e-9))) : 1;
  std::vector<std::string> labels(layers.size());
  std::size_t longest = 0;
  for (std::size_t i = 0; i < layers.size(); i += label_every) {
    const ChartLayer& layer = layers[i];
    labels[i] = d::abbreviate(layer.axis_label.empty() ? layer.name : layer.axis_label, kAxisLabelLength);
    longest = std::max(longest, d::character_count(labels[i]));
  }
  const double label_band = longest == 0 ? 0 : 10 + double(longest) * d::kAxisLabelCharWidth;

  const d::Box bars{d::kPlotLeft, 96, d::kPlotRight, 336};
  const double scatter_heading = bars.bottom + label_band + 60;
  const d::Box scatter{d::kPlotLeft, scatter_heading + 34, d::kPlotRight, scatter_heading + 314};
  const double height = scatter.bottom + 52;
  std::string body;

  // (a) Bars.
  double sum_ms = 0;
  std::size_t timed = 0;
  for (const ChartLayer& layer : layers)
    if (has_bar(layer)) {
      sum_ms += layer.milliseconds;
      ++timed;
    }
  body += d::text(20, 52,
                  "Latency per layer, in network order (" + std::to_string(timed) + (timed == 1 ? " layer, " : " layers, ") +
                      d::number(sum_ms, 3) + " ms in all)",
                  "font-size=\"13\" font-weight=\"bold\"");
  bool kind_present[std::size(d::kKindStyles)] = {};
  double max_ms = 0;
  std::size_t bars_skipped = 0;
  for (const ChartLayer& layer : layers) {
    if (has_bar(layer)) {
      kind_present[d::kind_index(layer.kind)] = true;
      max_ms = std::max(max_ms, layer.milliseconds);
    } else {
      ++bars_skipped;
    }
  }
  double legend_x = bars.left;
  for (std::size_t k = 0; k < std::size(d::kKindStyles); ++k) {
    if (!kind_present[k]) continue;
    body += "<rect x=\"" + d::px(legend_x) + "\" y=\"63\" width=\"10\" height=\"10\" fill=\"" +
            d::kKindStyles[k].color + "\"/>\n";
    body += d::text(legend_x + 14, 72, d::kKindStyles[k].kind);
    legend_x += 30 + 7 * double(std::string_view(d::kKindStyles[k].kind).size());
  }
  body += d::frame(bars);
  body += d::vertical_title(bars.left - 56, (bars.top + bars.bottom) / 2, "latency (ms)");
  body += d::x_axis_title(bars, "layer", label_band + 20);
  if (bars_skipped == layers.size()) {
    body += d::empty_message(bars, layers.empty() ? "no layers" : "no layer has a finite latency");
  } else {
    const double axis_max = max_ms > 0 ? max_ms : 1;  // all-zero latencies still get an axis
    const double step = d::nice_step(axis_max, 5);
    const int tick_count = int(std::ceil(axis_max / step - 1e-9));
    const double top_ms = tick_count * step;
    const int decimals = std::clamp(-int(std::floor(std::log10(step) + 1e-9)), 0, 6);
    const double plot_top = bars.top + 8;
    for (int t = 0; t <= tick_count; ++t) {
      const double y = bars.bottom - t * step / top_ms * (bars.bottom - plot_top);
      body += d::line(bars.left, y, bars.right, y, "stroke=\"#dddddd\"");
      body += d::text(bars.left - 6, y + 4, d::number(t * step, decimals), "text-anchor=\"end\"");
    }
    const double bar_width = slot >= 3 ? slot * 0.8 : slot;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const ChartLayer& layer = layers[i];
      if (!has_bar(layer)) continue;
      const double bar_height = layer.milliseconds / top_ms * (bars.bottom - plot_top);
      body += "<rect class=\"bar\" x=\"" + d::px(bars.left + double(i) * slot + (slot - bar_width) / 2) + "\" y=\"" +
              d::px(bars.bottom - bar_height) + "\" width=\"" + d::px(bar_width) + "\" height=\"" + d::px(bar_height) +
              "\" fill=\"" + d::kKindStyles[d::kind_index(layer.kind)].color + "\"><title>" +
              d::xml_escape(d::tooltip(layer.name, layer.milliseconds, layer.macs, layer.params)) + "</title></rect>\n";
    }
  }
  // Read bottom to top, ending just under the axis; the baseline sits right of the slot's centre so that the
  // glyphs (which stand left of it once rotated) are centred on it.
  for (std::size_t i = 0; i < layers.size(); i += label_every) {
    const double x = bars.left + (double(i) + 0.5) * slot;
    body += d::line(x, bars.bottom, x, bars.bottom + 4, "stroke=\"#444444\"");
    body += "<text class=\"layer-label\" transform=\"translate(" + d::px(x + 0.35 * d::kAxisLabelFontSize) + "," +
            d::px(bars.bottom + 7) + ") rotate(-90)\" text-anchor=\"end\" font-size=\"" +
            d::px(d::kAxisLabelFontSize) + "\">" + d::xml_escape(labels[i]) + "</text>\n";
  }
  body += d::skipped_note(bars, bars_skipped, "layer", "latency not finite or negative", label_band + 20);

  // (b) Latency vs MACs, a mark per kind.
  body += d::text(20, scatter_heading, "Latency vs MACs per layer (log-log)", "font-size=\"13\" font-weight=\"bold\"");
  std::vector<d::ScatterPoint> points;
  bool kind_in_scatter[std::size(d::kKindStyles)] = {};
  for (const ChartLayer& layer : layers)
    if (std::isfinite(layer.milliseconds) && layer.milliseconds > 0 && std::isfinite(layer.macs) && layer.macs >= 0) {
      const std::size_t k = d::kind_index(layer.kind);
      kind_in_scatter[k] = true;
      points.push_back({layer.macs, layer.milliseconds, d::kKindStyles[k].color, d::kKindStyles[k].mark,
                        d::tooltip(layer.name, layer.milliseconds, layer.macs, layer.params), ""});
    }
  legend_x = scatter.left + 5;
  for (std::size_t k = 0; k < std::size(d::kKindStyles); ++k) {
    if (!kind_in_scatter[k]) continue;
    body += "<g class=\"legend\" transform=\"translate(" + d::px(legend_x) + "," + d::px(scatter_heading + 16) +
            ")\"><path d=\"" + d::kKindStyles[k].mark + "\" fill=\"" + d::kKindStyles[k].color +
            "\" fill-opacity=\"0.85\" stroke=\"#333333\" stroke-width=\"0.6\"/>" + d::text(9, 4, d::kKindStyles[k].kind) +
            "</g>\n";
    legend_x += 34 + 7 * double(std::string_view(d::kKindStyles[k].kind).size());
  }
  body += d::log_log_scatter(scatter, points, "MACs", "0 MACs",
                             layers.empty() ? "no layers" : "no layer has a positive latency and finite MACs", "point",
                             "point-zero-macs");
  body += d::skipped_note(scatter, layers.size() - points.size(), "layer",
                          "latency not positive, or MACs negative or not finite");
  const bool given = std::isfinite(total_ms) && total_ms >= 0;
  return d::document(height,
                     title + ": total " + d::number(given ? total_ms : sum_ms, 3) + " ms" + (given ? "" : " (sum of layers)"),
                     body);
}

// Whole networks (e.g. S0..S4): latency vs MACs, log-log, one labelled point (class "point") per network with
// a tooltip like per_layer_svg's. Networks with a latency that is not positive and finite, or MACs that are
// not positive and finite, are left out and counted.
inline std::string networks_svg(const std::string& title, const std::vector<ChartNetwork>& networks) {
  namespace d = svg_detail;
  const d::Box scatter{d::kPlotLeft, 56, d::kPlotRight, 456};
  std::vector<d::ScatterPoint> points;
  for (const ChartNetwork& network : networks)
    if (std::isfinite(network.milliseconds) && network.milliseconds > 0 && std::isfinite(network.macs) &&
        network.macs > 0)
      points.push_back({network.macs, network.milliseconds, d::kKindStyles[d::kOtherKind].color, d::kCircleMark,
                        d::tooltip(network.name, network.milliseconds, network.macs, network.params), network.name});
  std::string body = d::log_log_scatter(scatter, points, "MACs", "",
                                        networks.empty() ? "no networks" : "no network has a positive latency and MACs",
                                        "point", "point");
  body += d::skipped_note(scatter, networks.size() - points.size(), "network",
                          "latency or MACs not positive and finite");
  return d::document(510, title, body);
}

}  // namespace mobileone::bench
