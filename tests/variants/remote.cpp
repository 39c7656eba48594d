#include "remote.hpp"

#if REMOTE == 1
DESYNC_DEFINE(remote, [](int v) { return v * 3; });
#else
DESYNC_DEFINE(remote, [](int v) { return v * 4; });
#endif
