// mobileone-footprint: the run-time memory of a model, as examples/README.md reports it for S0..S4.
//
//   mobileone-footprint write-random VARIANT FILE   a .mone of MobileOne-VARIANT (s0..s4) with random weights
//   mobileone-footprint measure FILE                load FILE, classify one 224x224 RGB image, print memory
//
// `measure` runs in a process of its own so that its peak resident set is the engine's: the model's bytes,
// its packed weights, one context's workspace and thread pool, on top of the process's baseline.
#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <mobileone/mobileone.hpp>

#include "support/blob_writer.hpp"

namespace {

const char* const kUsage =
    "usage: mobileone-footprint write-random VARIANT FILE\n"
    "       mobileone-footprint measure FILE\n"
    "\n"
    "The run-time memory of a model, as examples/README.md reports it for S0..S4 (examples/capi/\n"
    "measure_footprint.sh runs both commands for each variant).\n"
    "\n"
    "  write-random VARIANT FILE   write FILE, a .mone of MobileOne-VARIANT (s0..s4) with random weights\n"
    "                              (seed 1, 224x224)\n"
    "  measure FILE                load FILE, classify one 224x224 RGB image with one context (threads: the\n"
    "                              engine's default, the hardware threads up to 4), print the blob, packed-\n"
    "                              weight and workspace sizes and the peak resident memory\n"
    "  -h, --help                  this text\n"
    "\n"
    "There are no other options (so no other defaults).\n"
    "\n"
    "examples:\n"
    "  mobileone-footprint write-random s0 s0.mone\n"
    "  mobileone-footprint measure s0.mone\n";

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // KiB on Linux
}

void write_random(const std::string& variant, const std::string& path) {
  const std::vector<unsigned char> blob = mobileone::random_model_blob(mobileone::Architecture::variant(variant), 1);
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(blob.data()), std::streamsize(blob.size()));
  if (!file) throw mobileone::Error(path + ": cannot write");
}

void measure(const std::string& path) {
  const long baseline = peak_rss_kib();
  const mobileone::Model model = mobileone::Model::load(path);
  mobileone::Context context(model);
  const std::vector<std::uint8_t> pixels(224 * 224 * 3, 128);
  context.run(mobileone::ImageView{pixels.data(), 224, 224, 0, mobileone::PixelFormat::rgb8});
  const double mib = 1024.0 * 1024.0;
  std::printf("%s: blob %.1f MiB, packed weights %.1f MiB, workspace %.1f MiB (224x224), threads %d, "
              "peak RSS %.1f MiB (process baseline %.1f MiB)\n",
              std::string(model.name()).c_str(), double(model.blob_bytes()) / mib, double(context.packed_weight_bytes()) / mib,
              double(context.workspace_bytes()) / mib, context.threads(), double(peak_rss_kib()) / 1024.0,
              double(baseline) / 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h")) std::cout << kUsage;
    else if (args.size() == 3 && args[0] == "write-random") write_random(args[1], args[2]);
    else if (args.size() == 2 && args[0] == "measure") measure(args[1]);
    else {
      std::cerr << kUsage;
      return 2;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "mobileone-footprint: error: " << e.what() << "\n";
    return 1;
  }
}
