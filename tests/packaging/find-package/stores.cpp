// Built (not run) by the packaging tests: the store targets bring their headers and libraries.
#include <desync/store/redis.hpp>
#include <desync/store/sqlite.hpp>

int main(int argc, char** argv) {
    if (argc < 3) return 0;
    desync::sqlite_store local(argv[1]);
    desync::redis_store shared(argv[2]);
    return static_cast<int>(desync::tiered(local, shared).size());
}
