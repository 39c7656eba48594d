# cmake -DBUILD_DIR=<desync build tree> -DPREFIX=<stage dir> -P stage_install.cmake
# A fresh install of the build tree into PREFIX, so no file from an earlier run lingers.
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}"
                COMMAND_ERROR_IS_FATAL ANY)
foreach(file include/desync/config.hpp share/cmake/desync/desyncConfig.cmake
             share/cmake/desync/desyncConfigVersion.cmake share/cmake/desync/desyncTargets.cmake
             share/cmake/desync/FindxxHash.cmake)
  if(NOT EXISTS "${PREFIX}/${file}")
    message(FATAL_ERROR "staged install lacks ${file}")
  endif()
endforeach()
