#include <cstdio>
#include <cstring>
#include <desync/desync.hpp>

#define APP_STR2(x) #x
#define APP_STR(x) APP_STR2(x)

int main() {
    const char* version = APP_STR(DESYNC_VERSION_MAJOR) "." APP_STR(
        DESYNC_VERSION_MINOR) "." APP_STR(DESYNC_VERSION_PATCH);
    std::printf("desync %s (DESYNC_VERSION %d)\n", version, DESYNC_VERSION);
    return std::strcmp(version, DESYNC_EXPECTED_VERSION) == 0 ? 0 : 1;
}
