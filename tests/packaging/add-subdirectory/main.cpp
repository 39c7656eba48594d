#include <cstdio>
#include <cstring>
#include <desync/desync.hpp>

#define APP_STR2(x) #x
#define APP_STR(x) APP_STR2(x)

DESYNC_FN(twice, [](int v) { return 2 * v; });
DESYNC_FN(sum_of_twice, [](int a, int b) { return twice(a).get() + twice(b).get(); });

// `app`: checks the version; `app separate`: also that the run time was compiled separately
// (desync_compiled, DESYNC_SEPARATE_COMPILATION). Both make a nested call.
int main(int argc, char** argv) {
    const char* version = APP_STR(DESYNC_VERSION_MAJOR) "." APP_STR(
        DESYNC_VERSION_MINOR) "." APP_STR(DESYNC_VERSION_PATCH);
    const bool separate = !DESYNC_HEADER_ONLY;
    std::printf("desync %s (DESYNC_VERSION %d), %s\n", version, DESYNC_VERSION,
                separate ? "separately compiled" : "header-only");
    if (argc > 1 && std::strcmp(argv[1], "separate") == 0 && !separate) return 1;
    if (sum_of_twice(3, 4).get() != 14) return 1;
    return std::strcmp(version, DESYNC_EXPECTED_VERSION) == 0 ? 0 : 1;
}
