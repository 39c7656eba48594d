# Runs builds of one program in order on one version file and checks what each reports.
#   cmake -DWORKDIR=<dir> -DFUNCTION=<name> -DSTEPS="<exe>=<expected>;..." -P sequence.cmake
file(REMOVE_RECURSE "${WORKDIR}")
file(MAKE_DIRECTORY "${WORKDIR}")
set(version_file "${WORKDIR}/version.txt")
set(step 0)
foreach(entry IN LISTS STEPS)
  math(EXPR step "${step} + 1")
  string(FIND "${entry}" "=" eq REVERSE)
  string(SUBSTRING "${entry}" 0 ${eq} exe)
  math(EXPR after "${eq} + 1")
  string(SUBSTRING "${entry}" ${after} -1 expected)
  execute_process(COMMAND "${exe}" "${FUNCTION}" "${version_file}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  get_filename_component(build "${exe}" NAME)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step ${step} (${build}): exit ${rc}\n${err}")
  endif()
  if(NOT out STREQUAL expected)
    message(FATAL_ERROR "step ${step} (${build}): ${FUNCTION} is ${out}, expected ${expected}")
  endif()
  message(STATUS "step ${step} (${build}): ${FUNCTION} ${out}")
endforeach()
