# The capi_install_consumer test (cmake -P): installs the build tree BUILD_DIR into a scratch prefix under
# WORK_DIR, then builds classify.c against the installed C library four ways, with find_package(mobileone)
# (mobileone::c, mobileone::c_static: the CMake project in this directory) and with pkg-config
# (mobileone-c.pc: `--cflags --libs`, and `--static` for the static library), and checks that each
# classifies IMAGE with MODEL as "Egyptian cat". Also checks that README.md shows classify.c's example
# verbatim, and that the shared library exports the C API only.
foreach(var BUILD_DIR WORK_DIR C_COMPILER GENERATOR MODEL IMAGE STB_DIR README)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: -D${var}=... is required")
  endif()
endforeach()

# run(OUTPUT_VARIABLE|"" COMMAND...): runs a command, fails the test if it fails.
function(run out)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE output)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${command}\n${output}")
  endif()
  if(out)
    set(${out} "${output}" PARENT_SCOPE)
  endif()
endfunction()

# classifies(NAME COMMAND...): the program's top-1 must be Egyptian cat.
function(classifies name)
  run(output ${ARGN} ${MODEL} ${IMAGE})
  message(STATUS "${name}:\n${output}")
  if(NOT output MATCHES "^ *[0-9.]+%  Egyptian cat \\(285\\)\n")
    message(FATAL_ERROR "${name}: the top-1 class of ${IMAGE} is not Egyptian cat")
  endif()
endfunction()

# needs_shared_library(EXECUTABLE YES|NO): whether it loads libmobileone_c.so (checked where readelf exists).
function(needs_shared_library executable expected)
  if(READELF)
    run(dynamic ${READELF} -d ${executable})
    if(dynamic MATCHES "NEEDED[^\n]*libmobileone_c" AND NOT expected)
      message(FATAL_ERROR "${executable} loads libmobileone_c.so, but it should have the static library")
    elseif(NOT dynamic MATCHES "NEEDED[^\n]*libmobileone_c" AND expected)
      message(FATAL_ERROR "${executable} does not load libmobileone_c.so")
    endif()
  endif()
endfunction()

# README.md's C example is classify.c's, between its README markers, less the function body's indent.
file(READ ${CMAKE_CURRENT_LIST_DIR}/classify.c source)
string(REGEX MATCH "/\\* README: begin \\*/\n(.*)\n *\\/\\* README: end \\*/" excerpt "${source}")
string(REPLACE "\n    " "\n" excerpt "\n${CMAKE_MATCH_1}")
string(SUBSTRING "${excerpt}" 1 -1 excerpt)
file(READ ${README} readme)
string(FIND "${readme}" "\n${excerpt}\n```\n" at)
if(excerpt STREQUAL "" OR at EQUAL -1)
  message("The C example, verbatim:\n${excerpt}")
  message(FATAL_ERROR "${README} does not show the C example of classify.c (above)")
endif()

include(${CMAKE_CURRENT_LIST_DIR}/../install_tree.cmake)
install_build_tree()

# The installed layout: the header, both libraries and the pkg-config file in one library directory.
file(GLOB_RECURSE pc_file LIST_DIRECTORIES false ${prefix}/*/mobileone-c.pc)
if(NOT pc_file)
  message(FATAL_ERROR "no mobileone-c.pc installed under ${prefix}")
endif()
get_filename_component(pc_dir ${pc_file} DIRECTORY)
get_filename_component(libdir ${pc_dir} DIRECTORY)
foreach(file ${prefix}/include/mobileone/mobileone.h ${libdir}/libmobileone_c.a ${libdir}/libmobileone_c.so)
  if(NOT EXISTS ${file})
    message(FATAL_ERROR "${file} is not installed")
  endif()
endforeach()
if(NM)  # only the C API's functions are exported
  run(symbols ${NM} -D --defined-only ${libdir}/libmobileone_c.so)
  string(REGEX MATCHALL "[^\n]+" others "${symbols}")
  list(FILTER others EXCLUDE REGEX " T mobileone_[a-z0-9_]+$")
  if(others OR NOT symbols MATCHES " T mobileone_context_classify\n")
    string(REPLACE ";" "\n" others "${others}")
    message(FATAL_ERROR "libmobileone_c.so exports other symbols than the C API's functions:\n${others}")
  endif()
endif()

# find_package(mobileone): a C-only project.
run("" ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR} -B ${WORK_DIR}/build -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_PREFIX_PATH=${prefix} -DMOBILEONE_STB_DIR=${STB_DIR})
run("" ${CMAKE_COMMAND} --build ${WORK_DIR}/build ${install_config_args})
foreach(library c c_static)
  find_program(classify_${library} classify_${library} PATHS ${WORK_DIR}/build ${WORK_DIR}/build/Release
    NO_DEFAULT_PATH NO_CACHE REQUIRED)
  classifies("mobileone::${library}" ${classify_${library}})
endforeach()
needs_shared_library(${classify_c} YES)
needs_shared_library(${classify_c_static} NO)

# pkg-config, as a Makefile would use it.
if(NOT PKG_CONFIG)
  message(STATUS "pkg-config: not found, its consumers are skipped")
  return()
endif()
set(pkg_config ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir} ${PKG_CONFIG})
set(compile ${C_COMPILER} -std=c99 -Wall -Wextra -pedantic -Werror -isystem ${STB_DIR} ${CMAKE_CURRENT_LIST_DIR}/classify.c)
run(flags ${pkg_config} --cflags --libs mobileone-c)
separate_arguments(flags UNIX_COMMAND "${flags}")
run("" ${compile} ${flags} -lm -o ${WORK_DIR}/classify_pkg_config)  # -lm: stb_image's
needs_shared_library(${WORK_DIR}/classify_pkg_config YES)
classifies("pkg-config --cflags --libs mobileone-c" ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir}
  ${WORK_DIR}/classify_pkg_config)
# A static executable: --static adds Libs.private (the C++ runtime) for it.
run(flags ${pkg_config} --cflags --libs --static mobileone-c)
separate_arguments(flags UNIX_COMMAND "${flags}")
run("" ${compile} ${flags} -lm -static -o ${WORK_DIR}/classify_pkg_config_static)
needs_shared_library(${WORK_DIR}/classify_pkg_config_static NO)
classifies("pkg-config --static --cflags --libs mobileone-c" ${WORK_DIR}/classify_pkg_config_static)
