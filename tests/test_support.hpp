// Helpers shared by the tests: where the shared data and fixtures are, and reading raw tensors.
#pragma once

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <mobileone/error.hpp>

namespace mobileone::testing {

// ../shared beside the project (MOBILEONE_SHARED overrides, as the shared README suggests).
inline std::string shared_dir() {
  const char* env = std::getenv("MOBILEONE_SHARED");
  return env && *env ? env : MOBILEONE_SHARED_DIR;
}

inline std::string fixture_dir() { return MOBILEONE_FIXTURE_DIR; }

// Whether this build's tests run under an emulator (the AArch64 build under qemu, 20-50x slower). The scalar
// reference kernels are the same C++ on every architecture and the host build runs them in full, so the
// slowest network-level checks leave them out or shrink their inputs there (tests/CMakeLists.txt sets it).
inline constexpr bool kEmulated = MOBILEONE_TESTS_EMULATED;

inline std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(path + ": cannot open");
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(file), {});
}

inline std::vector<float> read_floats(const std::string& path) {
  const std::vector<unsigned char> bytes = read_bytes(path);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

}  // namespace mobileone::testing
