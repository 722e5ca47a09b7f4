// The C API's implementation, compiled once for the Swift package (include/mobileone is a symbolic link
// into the repository: SwiftPM reads no header outside the package).
#include "mobileone/mobileone_c_impl.hpp"
