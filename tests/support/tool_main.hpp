// main() of the command-line tools (mobileone-classify, mobileone-bench, mobileone-make-model,
// mobileone-quantize): an exception becomes one "program: error: what" line on stderr and exit status 1;
// and the JSON string quoting their outputs share.
#pragma once

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>

namespace mobileone {

template <class Run>
int run_tool(const char* program, int argc, char** argv, const Run& run) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return 1;
  }
}

// `text` as a JSON string literal (quotes, backslashes and control characters escaped).
inline std::string json_string(std::string_view text) {
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

}  // namespace mobileone
