# The repository's own programs (tests, tools, benchmarks, fuzzers) link the layers of every kernel set
# precompiled: built header-only, a Context instantiates every kernel set of the registry
# (include/mobileone/dispatch.hpp) in each translation unit that constructs one. Apps are unaffected:
# without MOBILEONE_PREBUILT_KERNEL_SETS the engine stays header-only.
#
# mobileone_add_kernel_set_library(<name>) - a static library with detail::KernelSetLayers instantiated for
# every kernel set (tests/support/kernel_set_layers.cpp, compiled once per shard so that the sets build in
# parallel). Linking it defines MOBILEONE_PREBUILT_KERNEL_SETS for the consumer. Compile options added to
# the library (a fuzzer's instrumentation) are the caller's to set, like any target's.
set(MOBILEONE_KERNEL_SET_SHARDS 4 CACHE STRING "Translation units the kernel-set library is split into")
get_filename_component(MOBILEONE_KERNEL_SET_SOURCE ${CMAKE_CURRENT_LIST_DIR}/../tests/support/kernel_set_layers.cpp ABSOLUTE)

function(mobileone_add_kernel_set_library name)
  set(sources)
  math(EXPR last "${MOBILEONE_KERNEL_SET_SHARDS} - 1")
  foreach(shard RANGE ${last})
    set(source ${CMAKE_CURRENT_BINARY_DIR}/${name}/shard_${shard}.cpp)
    file(CONFIGURE OUTPUT ${source} CONTENT
      "#define MOBILEONE_KERNEL_SET_SHARD ${shard}\n#define MOBILEONE_KERNEL_SET_SHARDS ${MOBILEONE_KERNEL_SET_SHARDS}\n#include \"${MOBILEONE_KERNEL_SET_SOURCE}\"\n")
    list(APPEND sources ${source})
  endforeach()
  add_library(${name} STATIC ${sources})
  target_link_libraries(${name} PUBLIC mobileone::mobileone)
  target_compile_definitions(${name} INTERFACE MOBILEONE_PREBUILT_KERNEL_SETS)
endfunction()
