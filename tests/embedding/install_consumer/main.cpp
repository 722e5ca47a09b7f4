// The install_consumer test's program: the C++ engine and the C API's implementation from the installed
// headers, while this project's own kernels/ is first on the include path.
#include <cstdio>

#include <mobileone/mobileone.hpp>
#include <mobileone/mobileone_c_impl.hpp>

int main() {
  const unsigned char not_a_blob[64] = {};
  try {
    mobileone::Model::from_buffer(not_a_blob, sizeof not_a_blob);
  } catch (const mobileone::Error& e) {
    std::printf("mobileone %s: %s\n", mobileone_version(), e.what());
    return 0;
  }
  return 1;
}
