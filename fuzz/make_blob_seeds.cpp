// Writes the seeds of fuzz_blob and fuzz_capi: tiny valid models covering every layer kind (stem,
// depthwise with stride 1 and 2, pointwise, squeeze-excite on both, pool, linear), 2-7 KB each, int8
// versions of two of them (format version 2: int8 and int32 tensors, uint8 hand-offs), and golden
// self-check data (format version 3) on the float and the int8 two-stage model; fuzz_capi's seeds put 32
// control bytes (see fuzz_capi.cpp) before a blob, one per pixel format.
//
//   fuzz_make_blob_seeds DIR     (DIR/fuzz_blob and DIR/fuzz_capi must exist; ctest runs it into the build tree)
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "support/blob_writer.hpp"
#include "support/golden_blob.hpp"
#include "support/int8_blob.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  using mobileone::Architecture;
  struct Seed {
    const char* file;
    Architecture arch;
    int input_size;
  };
  const Seed seeds[] = {
      {"two_stages.mone", {"two_stages", 4, {1, 2}, {8, 12}, {0, 0}, 3}, 8},
      {"one_stage.mone", {"one_stage", 3, {1}, {5}, {0}, 2}, 6},
      // SE needs >= 16 channels (hidden = channels / 16).
      {"squeeze_excite.mone", {"squeeze_excite", 16, {1}, {16}, {1}, 2}, 4},
  };
  auto write = [](const std::string& path, const std::vector<unsigned char>& bytes) {
    std::ofstream file(path, std::ios::binary);
    file.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!file.flush()) {
      std::fprintf(stderr, "fuzz_make_blob_seeds: error: cannot write %s\n", path.c_str());
      std::exit(1);
    }
    std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
  };
  const std::string root = argv[1];
  for (const Seed& seed : seeds) {
    const auto blob = mobileone::random_model_blob(seed.arch, 1, seed.input_size);
    write(root + "/fuzz_blob/" + seed.file, blob);
    if (seed.arch.name != "one_stage")
      write(root + "/fuzz_blob/int8_" + seed.file, mobileone::int8_blob_from(blob, 1, seed.input_size));
    if (seed.arch.name == "two_stages") {  // a 9x7 golden input: odd sizes down to the last stage's 3x2
      write(root + "/fuzz_blob/golden_" + seed.file, mobileone::with_golden(blob, 9, 7));
      write(root + "/fuzz_blob/golden_int8_" + seed.file,
            mobileone::with_golden(mobileone::int8_blob_from(blob, 1, seed.input_size), 9, 7));
    }
  }

  // fuzz_capi: control bytes chosen to pass every argument check (fuzz_capi.cpp's pick() lists), one seed
  // per pixel format, on the smallest model.
  const auto blob = mobileone::random_model_blob(seeds[1].arch, 1, seeds[1].input_size);
  for (unsigned char format = 0; format < 7; ++format) {
    // Zero picks the first (valid) choice of every pick() list. Bytes 0..2: the stored input size (5x5,
    // resize 6); byte 15 (after the queries on the one-stage model): the pixel format's index.
    std::vector<unsigned char> control(32, 0);
    control[0] = control[1] = 4;
    control[2] = 5;
    control[15] = format;
    control.insert(control.end(), blob.begin(), blob.end());
    write(root + "/fuzz_capi/format" + std::to_string(format) + ".bin", control);
  }
  return 0;
}
