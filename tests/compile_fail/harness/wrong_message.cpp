// expect: a message no compiler prints
// Fails to compile, but not with the expected message: the harness must reject it.
#include <desync/config.hpp>

static_assert(DESYNC_VERSION < 0, "desync: harness self-test");
