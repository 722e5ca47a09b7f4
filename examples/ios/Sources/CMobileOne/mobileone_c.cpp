// The C API's implementation, compiled once for the Swift package (include/mobileone and kernels are
// symbolic links into the repository: SwiftPM reads no header outside the package).
#include "mobileone/mobileone_c_impl.hpp"
