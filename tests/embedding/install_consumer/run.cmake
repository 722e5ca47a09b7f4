# The install_consumer test (cmake -P): installs the build tree BUILD_DIR into a scratch prefix under
# WORK_DIR, checks the installed layout, then configures, builds and runs the consumer project in this
# directory against it with find_package(mobileone).
foreach(var BUILD_DIR WORK_DIR SHADOW_DIR CXX GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${command}")
  endif()
endfunction()

include(${CMAKE_CURRENT_LIST_DIR}/../install_tree.cmake)
install_build_tree()

# The kernels are real files beside the public headers (not the source tree's symbolic link), and the
# test-only generators (tests/support/) are not installed.
set(include ${prefix}/include/mobileone)
if(IS_SYMLINK ${include}/kernels OR NOT EXISTS ${include}/kernels/pack.hpp)
  message(FATAL_ERROR "${include}/kernels is not a directory of the kernel headers")
endif()
foreach(header blob_writer.hpp architecture.hpp)
  if(EXISTS ${include}/${header})
    message(FATAL_ERROR "${include}/${header} is installed: it is test support, not API")
  endif()
endforeach()

run(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR} -B ${WORK_DIR}/build -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${prefix} -DMOBILEONE_SHADOW_DIR=${SHADOW_DIR})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build ${install_config_args})
find_program(consumer consumer PATHS ${WORK_DIR}/build ${WORK_DIR}/build/Release NO_DEFAULT_PATH REQUIRED)
run(${consumer})
