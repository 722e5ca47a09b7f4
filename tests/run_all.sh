#!/usr/bin/env bash
# Runs every test, one CMake workflow preset after another (what .ci/run runs):
#   release   the host build: every test on every ISA this CPU has (scalar, AVX2, AVX-512), converter tests
#   aarch64   cross-compiled, the whole suite under qemu-aarch64 (NEON and scalar)
#   sanitize  ASan+UBSan (gcc -O1): the whole suite
#   tsan      ThreadSanitizer: thread pool, concurrent contexts, the C API's concurrency test
#   fuzz      the libFuzzer harnesses (clang-14, ASan+UBSan): seeds, regression inputs, then
#             MOBILEONE_FUZZ_SECONDS (60) of fuzzing each; a crash, leak, hang or 2 GB allocation fails
#   tests/run_all.sh PRESET...   just those workflow presets (e.g. tests/run_all.sh release)
# Stops at the first failure. Build time: every test, tool, benchmark and fuzzer links the layers of all
# kernel sets from one static library (cmake/kernel_sets.cmake, MOBILEONE_PREBUILT_KERNEL_SETS) instead of
# compiling them in each translation unit; the C library, the footprint probe and the consumer tests still
# build the engine header-only. Each preset builds one target (or all), so make uses both cores.
set -euo pipefail
cd "$(dirname "$0")/.."

selected=(release aarch64 sanitize tsan fuzz)
if (($#)); then
  selected=("$@")
fi

available=$(cmake --list-presets=workflow 2>/dev/null | sed -n 's/^ *"\([^"]*\)".*/\1/p')
for preset in "${selected[@]}"; do
  grep -qx "$preset" <<<"$available" || { echo "no workflow preset '$preset'" >&2; exit 1; }
  echo "=== workflow preset: $preset"
  # Wall time, and the CPU time of everything it ran (on a shared machine the wall time alone says little).
  TIMEFORMAT="=== $preset took %0R s (CPU: %0U s user, %0S s system)"
  time cmake --workflow --preset "$preset"
  echo "=== $preset passed"
done
