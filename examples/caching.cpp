// The seed's caching example: the first call of twice(0) runs slow_inc twice, about
// 4 s; after twice.set_cache(twice.get_cache()) the same call is two memo hits, about 0 s. Then
// the cache is saved, and a second process (this program again, with --second-run) loads it
// and makes the call without running slow_inc at all.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <desync/desync.hpp>
#include <desync/trace_env.hpp>  // lets DESYNC_TRACE=run.svg trace this program (tools/pictures)
#include <string>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;

std::atomic<int> slow_calls{0};

DESYNC_FN(slow_inc, [](int value) {
    ++slow_calls;
    std::this_thread::sleep_for(2s);
    return value + 1;
});
DESYNC_FN(twice, [](int value) { return slow_inc(slow_inc(value)); });

template <class F>
int timed(const char* what, F&& f) {
    auto start = std::chrono::steady_clock::now();
    int result = f();
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("%-44s = %d in %.2f s (slow_inc ran %d times so far)\n", what, result, took.count(),
                slow_calls.load());
    return result;
}

int main(int argc, char** argv) {
    const char* file = "twice.cache";
    if (argc > 1 && std::string_view(argv[1]) == "--second-run") {
        desync::cache loaded = desync::cache::load(file);
        std::printf("second process: loaded %zu results from %s\n", loaded.size(), file);
        twice.set_cache(loaded);
        return timed("second process: twice(0)", [] { return twice(0); }) == 2 ? 0 : 1;
    }
    timed("twice(0)", [] { return twice(0); });  // ~4 s: slow_inc(0), then slow_inc(1)
    twice.set_cache(twice.get_cache());
    timed("twice(0) after set_cache(get_cache())", [] { return twice(0); });  // ~0 s
    desync::save_report saved = twice.get_cache().save(file);
    std::printf("saved %zu results to %s (%zu could not be saved)\n", saved.written, file,
                saved.skipped);
    std::fflush(stdout);  // before the second process writes to the same output
    std::string again = "\"" + std::string(argv[0]) + "\" --second-run";
    return std::system(again.c_str()) == 0 ? 0 : 1;
}
