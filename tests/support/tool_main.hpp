// main() of the command-line tools (mobileone-classify, mobileone-bench, mobileone-make-model): an
// exception becomes one "program: error: what" line on stderr and exit status 1.
#pragma once

#include <exception>
#include <iostream>

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

}  // namespace mobileone
