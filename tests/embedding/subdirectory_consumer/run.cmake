# The capi_subdirectory_consumer test (cmake -P): configures the project in this directory, which adds the
# engine at SOURCE_DIR with add_subdirectory, in a fresh WORK_DIR with stb's directory STB_DIR hidden from
# every find_*() (any search for stb would fail the configuration), builds it and runs its C app on MODEL.
foreach(var SOURCE_DIR WORK_DIR C_COMPILER CXX_COMPILER GENERATOR MODEL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${command}\n${output}")
  endif()
  set(output "${output}" PARENT_SCOPE)
endfunction()

# Debug: the engine compiles in half the time it takes with optimization, and runs one image fast enough.
file(REMOVE_RECURSE ${WORK_DIR})
run(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR} -B ${WORK_DIR} -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Debug
  -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DMOBILEONE_SOURCE_DIR=${SOURCE_DIR}
  "-DCMAKE_IGNORE_PATH=${STB_DIR}")
run(${CMAKE_COMMAND} --build ${WORK_DIR} --config Debug)
if(output MATCHES "stb_image|mobileone-classify|mobileone_image_file")
  message(FATAL_ERROR "the build compiled an image decoder or a tool:\n${output}")
endif()
find_program(app minimal_classify PATHS ${WORK_DIR} ${WORK_DIR}/Debug NO_DEFAULT_PATH NO_CACHE REQUIRED)
run(${app} ${MODEL})
message(STATUS "${output}")
if(NOT output MATCHES "^mobileone_s0: class [0-9]+ ")
  message(FATAL_ERROR "minimal_classify did not classify with ${MODEL}")
endif()
