// Two processes share results through a store (docs/stores.md), first an SQLite file, then a
// Redis server. The first process runs a small sweep with the store: each result is written as it
// is made. A second process (this program again, with --second-run) opens the same store and
// makes the same calls: every one is a hit, nothing runs and nothing is written.
//   shared_cache                              SQLite (shared.db here), then Redis if
//                                             DESYNC_REDIS_URL names a server
//   DESYNC_REDIS_URL=unix:///tmp/redis.sock shared_cache
// The stores need the CMake targets desync::sqlite and desync::redis. A team would give each
// machine desync::tiered(local, shared): hits from its own file first, then from the server.
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <desync/desync.hpp>
#include <desync/store/redis.hpp>
#include <desync/store/sqlite.hpp>
#include <filesystem>
#include <string>
#include <string_view>

std::atomic<int> simulations{0};

DESYNC_FN(simulate, [](int seed) {  // stands for an hour of work
    ++simulations;
    auto x = static_cast<std::uint64_t>(seed);
    for (int i = 0; i < 1000; ++i) x = x * 6364136223846793005u + 1442695040888963407u;
    return static_cast<long>(x >> 40) % 1000;
});
DESYNC_FN(sweep, [](int n) {
    long best = 0;
    for (int seed = 0; seed < n; ++seed) best = std::max(best, simulate(seed).get());
    return best;
});

const char* const file = "shared.db";

// The store of `kind` ("sqlite" or "redis"); `salt` keeps a run's Redis results apart from
// those of earlier runs on the same server, so that the counts below hold at every run.
desync::store open(std::string_view kind, const std::string& salt) {
    if (kind == "sqlite") return desync::sqlite_store(file);
    desync::redis_options options;
    options.salt = salt;
    options.required = true;  // a server that cannot answer is an error here, not a quiet miss
    return desync::redis_store(std::getenv("DESYNC_REDIS_URL"), options);
}

// One process's sweep through the store; true if it ran and wrote what it should have.
bool run(std::string_view kind, const std::string& salt, bool second) {
    simulations = 0;
    desync::store store = open(kind, salt);
    sweep.set_store(store);
    long const best = sweep(20);  // its end makes what it wrote durable
    sweep.set_store({});
    desync::store_stats const s = store.stats();
    std::printf(
        "%s process, %s: sweep(20) = %ld; simulate ran %d times; the store: %llu hits, "
        "%llu writes\n",
        second ? "second" : "first", std::string(kind).c_str(), best, simulations.load(),
        static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.writes));
    std::fflush(stdout);  // before the second process writes to the same output
    if (second) return simulations == 0 && s.writes == 0 && s.hits == 20;
    return simulations == 20 && s.writes == 20;
}

int main(int argc, char** argv) {
    if (argc == 4 && std::string_view(argv[1]) == "--second-run")
        return run(argv[2], argv[3], true) ? 0 : 1;

    for (const char* end : {"", "-wal", "-shm"})  // a fresh start: the same counts at every run
        std::filesystem::remove(std::string(file) + end);
    std::string const salt = "shared_cache example, process " + std::to_string(getpid());
    bool const redis = std::getenv("DESYNC_REDIS_URL") != nullptr;
    if (!redis) std::printf("(set DESYNC_REDIS_URL to share through a Redis server as well)\n");
    for (std::string_view kind : {"sqlite", "redis"}) {
        if (kind == "redis" && !redis) break;
        sweep.clear_cache();  // this process's tables: the store alone shares the results
        if (!run(kind, salt, false)) return 1;
        std::string const again = "\"" + std::string(argv[0]) + "\" --second-run " +
                                  std::string(kind) + " \"" + salt + "\"";
        if (std::system(again.c_str()) != 0) return 1;
    }
    return 0;
}
