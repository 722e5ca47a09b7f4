// What the Google Benchmark programs of bench/ share around their own code: Google Benchmark gets the
// arguments our flag parser left, the settings every program records as JSON/console context, and an
// exception becomes one "program: error: ..." line with exit status 1.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace mobileone::bench {

// A peak as context: <key>_gmacs_per_core and <key>_source.
inline void add_peak_context(const std::string& key, const PeakSetting& peak) {
  char text[64];
  std::snprintf(text, sizeof text, "%.2f", peak.gmacs_per_core);
  benchmark::AddCustomContext(key + "_gmacs_per_core", text);
  benchmark::AddCustomContext(key + "_source", peak.source);
}

inline void add_benchmark_context(const PeakSetting& peak, int size, std::uint64_t seed) {
  add_peak_context("mobileone_peak", peak);
  benchmark::AddCustomContext("mobileone_input", "1x3x" + std::to_string(size) + "x" + std::to_string(size));
  benchmark::AddCustomContext("mobileone_weights", "random_model_blob seed " + std::to_string(seed));
}

// `setup(argc, argv)` parses our flags, registers the benchmarks and returns the arguments left for
// Google Benchmark (argv[0] first).
template <class Setup>
int run_google_benchmark(const char* program, int argc, char** argv, const Setup& setup) {
  try {
    std::vector<std::string> args = setup(argc, argv);
    std::vector<char*> cargs;
    for (std::string& a : args) cargs.push_back(a.data());
    int cargc = int(cargs.size());
    cargs.push_back(nullptr);
    benchmark::Initialize(&cargc, cargs.data());
    if (benchmark::ReportUnrecognizedArguments(cargc, cargs.data())) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << program << ": error: " << e.what() << "\n";
    return 1;
  }
}

// main() of a benchmark program: `setup(argc, argv, settings)` parses into a Settings that lives until the
// registered benchmarks (which refer to it) have run.
template <class Settings, class Setup>
int benchmark_main(const char* program, int argc, char** argv, const Setup& setup) {
  Settings settings;
  return run_google_benchmark(program, argc, argv, [&](int c, char** v) { return setup(c, v, settings); });
}

}  // namespace mobileone::bench
