// Calls: the cost of an empty call (spawn + join), recursive fib, and the speed-up of 1000
// independent CPU-bound calls, each against a peer measured in the same run.
#include <desync/desync.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#ifdef DESYNC_HAVE_TBB
#include <tbb/global_control.h>
#include <tbb/task_group.h>
#endif

#include <chrono>
#include <cstdint>
#include <future>
#include <thread>
#include <vector>

namespace {

constexpr int calls_per_iteration = 1000;

unsigned threads() { return std::max(1u, std::thread::hardware_concurrency()); }

// --- empty calls: a body makes 1000 calls that do nothing; its join waits for all of them

DESYNC_FN(
    nothing, [] {}, desync::uncached);
DESYNC_FN(
    make_empty_calls,
    [](int n) {
        for (int i = 0; i < n; ++i) nothing();
    },
    desync::uncached);

void empty_desync(benchmark::State& state) {
    for (auto _ : state) make_empty_calls(calls_per_iteration).get();
    state.SetItemsProcessed(state.iterations() * calls_per_iteration);
}

void empty_asio_promise(benchmark::State& state) {
    boost::asio::thread_pool pool(threads());
    std::vector<std::future<void>> done(calls_per_iteration);
    for (auto _ : state) {
        for (auto& f : done) {
            std::promise<void> p;
            f = p.get_future();
            boost::asio::post(pool, [p = std::move(p)]() mutable { p.set_value(); });
        }
        for (auto& f : done) f.get();
    }
    state.SetItemsProcessed(state.iterations() * calls_per_iteration);
    pool.join();
}

#ifdef DESYNC_HAVE_TBB
void empty_tbb(benchmark::State& state) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads());
    for (auto _ : state) {
        tbb::task_group g;
        for (int i = 0; i < calls_per_iteration; ++i) g.run([] {});
        g.wait();
    }
    state.SetItemsProcessed(state.iterations() * calls_per_iteration);
}
#endif

// --- recursive fib(30), no cut-off: 2.7 million calls

DESYNC_DECLARE(fib, long(int));
DESYNC_DEFINE(
    fib,
    [](int n) -> long {
        if (n < 2) return n;
        auto a = fib(n - 1);
        auto b = fib(n - 2);
        return a + b;
    },
    desync::uncached);

void fib_desync(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(fib(static_cast<int>(state.range(0))).get());
}

#ifdef DESYNC_HAVE_TBB
long fib_tbb_rec(int n) {
    if (n < 2) return n;
    long a = 0, b = 0;
    tbb::task_group g;
    g.run([&] { a = fib_tbb_rec(n - 1); });
    g.run([&] { b = fib_tbb_rec(n - 2); });
    g.wait();
    return a + b;
}

void fib_tbb(benchmark::State& state) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads());
    for (auto _ : state) benchmark::DoNotOptimize(fib_tbb_rec(static_cast<int>(state.range(0))));
}
#endif

// --- 1000 independent CPU-bound calls of about 1 ms each, against the same work in sequence

std::uint64_t burn(std::uint64_t rounds) {
    std::uint64_t x = 0x9E3779B97F4A7C15ull;
    for (std::uint64_t i = 0; i < rounds; ++i) x = (x ^ (x >> 29)) * 0xBF58476D1CE4E5B9ull + i;
    return x;
}

std::uint64_t rounds_per_ms() {
    static const std::uint64_t rounds = [] {
        std::uint64_t n = 1 << 16;
        for (;;) {
            auto start = std::chrono::steady_clock::now();
            benchmark::DoNotOptimize(burn(n));
            auto took = std::chrono::steady_clock::now() - start;
            if (took > std::chrono::milliseconds(20))
                return static_cast<std::uint64_t>(
                    static_cast<double>(n) /
                    std::chrono::duration<double, std::milli>(took).count());
            n *= 2;
        }
    }();
    return rounds;
}

DESYNC_FN(
    work_1ms, [](std::uint64_t rounds) { return burn(rounds); }, desync::uncached);
DESYNC_FN(
    thousand_calls,
    [](std::uint64_t rounds) {
        std::vector<desync::lazy<std::uint64_t>> parts;
        parts.reserve(1000);
        for (int i = 0; i < 1000; ++i) parts.push_back(work_1ms(rounds + (i & 1)));
        std::uint64_t sum = 0;
        for (auto& p : parts) sum += p.get();
        return sum;
    },
    desync::uncached);

void cpu_desync(benchmark::State& state) {
    const auto rounds = rounds_per_ms();
    for (auto _ : state) benchmark::DoNotOptimize(thousand_calls(rounds).get());
}

void cpu_sequential(benchmark::State& state) {
    const auto rounds = rounds_per_ms();
    for (auto _ : state) {
        std::uint64_t sum = 0;
        for (int i = 0; i < 1000; ++i) sum += burn(rounds + (i & 1));
        benchmark::DoNotOptimize(sum);
    }
}

}  // namespace

BENCHMARK(empty_desync)->Name("empty_call_x1000/desync")->UseRealTime();
BENCHMARK(empty_asio_promise)->Name("empty_call_x1000/peer:asio_post+promise")->UseRealTime();
#ifdef DESYNC_HAVE_TBB
BENCHMARK(empty_tbb)->Name("empty_call_x1000/peer:tbb_task_group")->UseRealTime();
#endif
BENCHMARK(fib_desync)->Name("fib/desync")->Arg(30)->UseRealTime()->Unit(benchmark::kMillisecond);
#ifdef DESYNC_HAVE_TBB
BENCHMARK(fib_tbb)
    ->Name("fib/peer:tbb_task_group")
    ->Arg(30)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
#endif
BENCHMARK(cpu_desync)->Name("cpu_1ms_x1000/desync")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(cpu_sequential)
    ->Name("cpu_1ms_x1000/peer:sequential")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
