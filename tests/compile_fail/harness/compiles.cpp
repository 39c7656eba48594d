// expect: .*
// Compiles cleanly: the harness must reject it (see expect_rejection.cmake).
#include <desync/config.hpp>

static_assert(DESYNC_VERSION >= 0, "desync: harness self-test");
