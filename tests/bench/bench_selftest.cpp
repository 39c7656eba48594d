// Exercises the benchmark machinery (ratio_main.cpp): a hand-written loop stands in for desync,
// against std::accumulate as the peer, over the same vector.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <numeric>
#include <vector>

namespace {

std::vector<std::int64_t> numbers(benchmark::State& state) {
    std::vector<std::int64_t> v(static_cast<std::size_t>(state.range(0)));
    std::iota(v.begin(), v.end(), 0);
    return v;
}

void sum_loop(benchmark::State& state) {
    const auto v = numbers(state);
    for (auto _ : state) {
        std::int64_t sum = 0;
        for (std::int64_t x : v) sum += x;
        benchmark::DoNotOptimize(sum);
    }
}

void sum_accumulate(benchmark::State& state) {
    const auto v = numbers(state);
    for (auto _ : state) {
        benchmark::DoNotOptimize(std::accumulate(v.begin(), v.end(), std::int64_t{0}));
    }
}

}  // namespace

BENCHMARK(sum_loop)->Name("selftest_sum/desync")->Arg(1 << 10)->Arg(1 << 16);
BENCHMARK(sum_accumulate)->Name("selftest_sum/peer:std::accumulate")->Arg(1 << 10)->Arg(1 << 16);
