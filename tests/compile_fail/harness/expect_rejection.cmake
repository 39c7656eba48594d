# cmake -DSOURCE=... -DFLAGS_FILE=... -DCHECK=<check.cmake> -DREASON=<regex> -P expect_rejection.cmake
# Runs the compile-fail check on a file it must reject, and succeeds only if it rejects it for
# REASON (so a harness broken in some other way does not pass this test either).
execute_process(COMMAND "${CMAKE_COMMAND}" "-DSOURCE=${SOURCE}" "-DFLAGS_FILE=${FLAGS_FILE}"
                        -P "${CHECK}"
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(status EQUAL 0)
  message(FATAL_ERROR "the compile-fail harness accepted ${SOURCE}; it must reject it:\n${output}")
endif()
if(NOT output MATCHES "${REASON}")
  message(FATAL_ERROR "the compile-fail harness rejected ${SOURCE}, but not because "
                      "`${REASON}`:\n${output}")
endif()
message("the compile-fail harness rejected ${SOURCE} as it should:\n${output}")
