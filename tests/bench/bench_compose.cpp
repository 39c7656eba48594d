// Composition: a ten-step `then` chain and `when_all` over 1000 lazies, each against the same
// work written by hand with asio::post on a pool of the same size, in the same run.
#include <desync/desync.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <functional>
#include <future>
#include <thread>
#include <vector>

namespace {

unsigned threads() { return std::max(1u, std::thread::hardware_concurrency()); }

int add_one(int v) { return v + 1; }

// --- ten continuations, each run on the pool after the previous one

void then_chain_desync(benchmark::State& state) {
    for (auto _ : state) {
        auto l = desync::async(add_one, 0);
        for (int step = 1; step < 10; ++step) l = l.then(add_one);
        benchmark::DoNotOptimize(l.get());
    }
}

// Each step posts the next; the last fulfils a promise the caller waits on.
void post_chain(boost::asio::thread_pool& pool, int value, int steps, std::promise<int>& done) {
    boost::asio::post(pool, [&pool, value, steps, &done] {
        int next = add_one(value);
        if (steps == 1)
            done.set_value(next);
        else
            post_chain(pool, next, steps - 1, done);
    });
}

void then_chain_asio(benchmark::State& state) {
    boost::asio::thread_pool pool(threads());
    for (auto _ : state) {
        std::promise<int> done;
        post_chain(pool, 0, 10, done);
        benchmark::DoNotOptimize(done.get_future().get());
    }
    pool.join();
}

// --- 1000 calls, then one value made of all of theirs

constexpr int fan = 1000;

void when_all_desync(benchmark::State& state) {
    std::vector<desync::lazy<int>> parts(fan);
    for (auto _ : state) {
        for (int i = 0; i < fan; ++i)
            parts[static_cast<std::size_t>(i)] = desync::async(add_one, i);
        auto all = desync::when_all(parts);
        benchmark::DoNotOptimize(all.get().size());
    }
}

// The hand-written join: each task stores its result, the last to finish fulfils the promise.
void when_all_asio(benchmark::State& state) {
    boost::asio::thread_pool pool(threads());
    std::vector<int> results(fan);
    for (auto _ : state) {
        std::atomic<int> left{fan};
        std::promise<void> done;
        for (int i = 0; i < fan; ++i)
            boost::asio::post(pool, [&, i] {
                results[static_cast<std::size_t>(i)] = add_one(i);
                if (left.fetch_sub(1, std::memory_order_acq_rel) == 1) done.set_value();
            });
        done.get_future().get();
        benchmark::DoNotOptimize(results.data());
    }
    pool.join();
}

}  // namespace

BENCHMARK(then_chain_desync)->Name("then_chain10/desync")->UseRealTime();
BENCHMARK(then_chain_asio)->Name("then_chain10/peer:asio_post_chain")->UseRealTime();
BENCHMARK(when_all_desync)->Name("when_all1000/desync")->UseRealTime();
BENCHMARK(when_all_asio)->Name("when_all1000/peer:asio_post+counter")->UseRealTime();
