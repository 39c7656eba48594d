# FindxxHash: locate the xxHash headers (desync uses xxHash header-only, through XXH_INLINE_ALL).
# Debian's libxxhash-dev ships no CMake package: try a config package first, then pkg-config,
# then a plain header search. Defines the imported target xxHash::xxhash.
include(FindPackageHandleStandardArgs)

if(NOT TARGET xxHash::xxhash)
  find_package(xxHash CONFIG QUIET NO_MODULE)
endif()
if(TARGET xxHash::xxhash)
  set(xxHash_FOUND TRUE)
  return()
endif()

find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_xxHash QUIET libxxhash)
endif()
find_path(xxHash_INCLUDE_DIR NAMES xxhash.h HINTS ${PC_xxHash_INCLUDE_DIRS})

if(xxHash_INCLUDE_DIR AND EXISTS "${xxHash_INCLUDE_DIR}/xxhash.h")
  file(STRINGS "${xxHash_INCLUDE_DIR}/xxhash.h" _xxh_lines
       REGEX "^#define XXH_VERSION_(MAJOR|MINOR|RELEASE)[ \t]+[0-9]+")
  foreach(part MAJOR MINOR RELEASE)
    string(REGEX MATCH "XXH_VERSION_${part}[ \t]+([0-9]+)" _ "${_xxh_lines}")
    set(_xxh_${part} "${CMAKE_MATCH_1}")
  endforeach()
  set(xxHash_VERSION "${_xxh_MAJOR}.${_xxh_MINOR}.${_xxh_RELEASE}")
endif()

find_package_handle_standard_args(xxHash
  REQUIRED_VARS xxHash_INCLUDE_DIR
  VERSION_VAR xxHash_VERSION)

if(xxHash_FOUND AND NOT TARGET xxHash::xxhash)
  add_library(xxHash::xxhash INTERFACE IMPORTED)
  set_target_properties(xxHash::xxhash PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${xxHash_INCLUDE_DIR}")
endif()
mark_as_advanced(xxHash_INCLUDE_DIR)
