// Two processes share results through a store (docs/stores.md). The first process runs a small
// sweep with an SQLite store: each result is written to shared.db as it is made. A second process
// (this program again, with --second-run) opens the same file and makes the same calls: every
// one is a hit, nothing runs and nothing is written. The store needs the CMake target
// desync::sqlite; a team would put desync::tiered(local, desync::redis_store(url)) in its place
// to share results between machines too.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <desync/desync.hpp>
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

int main(int argc, char** argv) {
    const char* file = "shared.db";
    bool const second = argc > 1 && std::string_view(argv[1]) == "--second-run";
    if (!second) {  // a fresh start, so that the counts below are the same at every run
        for (const char* end : {"", "-wal", "-shm"})
            std::filesystem::remove(std::string(file) + end);
    }
    desync::sqlite_store store(file);
    sweep.set_store(store);
    long const best = sweep(20);  // its end makes what it wrote durable
    sweep.set_store({});
    desync::store_stats const s = store.stats();
    std::printf(
        "%s process: sweep(20) = %ld; simulate ran %d times; the store: %llu hits, "
        "%llu writes\n",
        second ? "second" : "first", best, simulations.load(),
        static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.writes));
    if (second) return simulations == 0 && s.writes == 0 && s.hits == 20 ? 0 : 1;
    if (simulations != 20 || s.writes != 20) return 1;
    std::fflush(stdout);  // before the second process writes to the same output
    std::string const again = "\"" + std::string(argv[0]) + "\" --second-run";
    return std::system(again.c_str()) == 0 ? 0 : 1;
}
