// unsync's `then` chain: ten calls of 0.1 s, each continued by another 0.1 s call. They run
// concurrently, so the whole takes about 0.2 s and gives {0: 2, 1: 4, ..., 9: 20}.
#include <desync/desync.hpp>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

DESYNC_FN(
    initiate,
    [](int i) {
        std::this_thread::sleep_for(100ms);
        return i + 1;
    },
    desync::blocking, desync::uncached);
DESYNC_FN(
    process,
    [](int v) {
        std::this_thread::sleep_for(100ms);
        return v * 2;
    },
    desync::blocking, desync::uncached);

int main() {
    auto start = std::chrono::steady_clock::now();
    std::vector<desync::lazy<int>> results;
    for (int i = 0; i < 10; ++i) results.push_back(initiate(i).then(process));
    std::printf("{");
    for (int i = 0; i < 10; ++i) std::printf("%s%d: %d", i ? ", " : "", i, results[i].get());
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("}\ntook %.2f s\n", took.count());
}
