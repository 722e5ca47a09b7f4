# install_build_tree(): installs BUILD_DIR (configuration CONFIG, if set) into a fresh ${WORK_DIR}/prefix and
# sets `prefix` to it in the caller. Shared by install_consumer/run.cmake and c_consumer/run.cmake.
macro(install_build_tree)
  set(prefix ${WORK_DIR}/prefix)
  file(REMOVE_RECURSE ${WORK_DIR})
  set(install_config_args)
  if(CONFIG)
    set(install_config_args --config ${CONFIG})
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${install_config_args}
                  RESULT_VARIABLE install_rc)
  if(NOT install_rc EQUAL 0)
    message(FATAL_ERROR "cmake --install ${BUILD_DIR} --prefix ${prefix} failed (${install_rc})")
  endif()
endmacro()
