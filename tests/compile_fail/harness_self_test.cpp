// expect: desync: harness self-test
// Proves the harness sees a real desync header and matches the compiler's message.
#include <desync/config.hpp>

static_assert(DESYNC_VERSION < 0, "desync: harness self-test");
