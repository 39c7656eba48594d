# cmake -DSOURCE=<file.cpp> -DFLAGS_FILE=<compile_fail_flags.cmake> -P check.cmake
# Succeeds only when SOURCE fails to compile with output matching its `// expect: <regex>` line.
file(READ "${SOURCE}" head LIMIT 4096)
if(NOT head MATCHES "^// expect: ([^\r\n]+)")
  message("desync compile-fail: ${SOURCE}: the first line must be `// expect: <regex>`")
  message(FATAL_ERROR "desync compile-fail: malformed test")
endif()
set(expect "${CMAKE_MATCH_1}")
include("${FLAGS_FILE}")

set(ENV{LC_ALL} C)  # plain ASCII quotes in diagnostics, whatever the caller's locale
execute_process(COMMAND "${DESYNC_CF_COMPILER}" ${DESYNC_CF_ARGS} "${SOURCE}"
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
# Plain message() prints verbatim; FATAL_ERROR text would be re-wrapped.
if(status EQUAL 0)
  message("desync compile-fail: ${SOURCE} compiled without error; it must fail with output "
          "matching: ${expect}")
  message(FATAL_ERROR "desync compile-fail: compiled")
endif()
if(NOT output MATCHES "${expect}")
  message("desync compile-fail: ${SOURCE} failed to compile, but its output does not match: "
          "${expect}\n--- compiler output ---\n${output}")
  message(FATAL_ERROR "desync compile-fail: wrong message")
endif()
message("desync compile-fail: ${SOURCE} was refused as expected (matched: ${expect})")
