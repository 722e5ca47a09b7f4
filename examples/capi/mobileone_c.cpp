// The prebuilt C library `mobileone_c`: the C API's implementation, compiled once for C, Swift and JNI users.
#include <mobileone/mobileone_c_impl.hpp>
