// Stores, each against a peer measured in the same run: an SQLite store hit against a raw prepared
// SELECT of the same blob (what any SQLite lookup must do); a Redis store hit, asked from this
// thread and answered from the store's I/O thread, against a raw hiredis GET on a connection to
// the same server socket; and 1000 lookups queued at once, which the store pipelines, against 1000
// GETs one after another. The Redis server is the benchmark's own (tests/support/redis_server.hpp).
// Then the store as a run meets it: a run of 10^5 memoized 1-us calls writing every new result to
// an SQLite store against the same run without one (and 10^4 calls of 100 us, a cost at which
// the store's writer thread keeps up); and the rerun of those 10^5 calls from a
// fresh memory, all hits from the SQLite store, against all hits from the run's saved cache file
// (each side opening its store or loading its file inside the timed run).
#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <desync/desync.hpp>
#include <desync/store/redis.hpp>
#include <desync/store/sqlite.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/files.hpp"
#include "support/redis_server.hpp"
#include "support/store_records.hpp"

namespace {

constexpr int batch = 1000;

/// One lookup's answer, waited for by spinning, then sleeping.
class waited final : public desync::detail::store_lookup {
public:
    void found(std::string record) noexcept override {
        record_ = std::move(record);
        finish();
    }
    void missing() noexcept override { finish(); }
    void failed(std::exception_ptr) noexcept override { finish(); }
    void reset() { done_.store(false, std::memory_order_relaxed); }
    const std::string& wait() {
        auto const until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
        while (!done_.load(std::memory_order_acquire)) {
            if (std::chrono::steady_clock::now() < until) {
                std::this_thread::yield();
            } else {
                done_.wait(false, std::memory_order_acquire);
            }
        }
        return record_;
    }

private:
    void finish() {
        done_.store(true, std::memory_order_release);
        done_.notify_one();
    }
    std::string record_;
    std::atomic<bool> done_{false};
};

const desync::test::temp_dir& scratch() {
    static const desync::test::temp_dir dir;
    return dir;
}

std::string payload(std::int64_t bytes) {
    return std::string(static_cast<std::size_t>(bytes), 'v');
}

// ---- SQLite: a hit against a prepared SELECT of the same blob

const desync::store& sqlite_with(std::int64_t bytes) {
    static std::vector<std::unique_ptr<desync::store>> stores;
    static std::vector<std::int64_t> sizes;
    for (std::size_t i = 0; i < sizes.size(); ++i)
        if (sizes[i] == bytes) return *stores[i];
    auto s = std::make_unique<desync::store>(
        desync::sqlite_store(scratch() / ("store" + std::to_string(bytes) + ".db")));
    s->backend()->write(desync::test::key_of(1), payload(bytes), nullptr);
    s->flush();
    sizes.push_back(bytes);
    stores.push_back(std::move(s));
    return *stores.back();
}

void sqlite_hit_desync(benchmark::State& state) {
    const desync::store& s = sqlite_with(state.range(0));
    desync::hash128 const key = desync::test::key_of(1);
    waited answer;
    for (auto _ : state) {
        answer.reset();
        s.backend()->lookup(key, answer);
        benchmark::DoNotOptimize(answer.wait().data());
    }
    if (s.stats().hits == 0) state.SkipWithError("the store missed");
}

void sqlite_hit_select(benchmark::State& state) {
    std::string const path = scratch() / ("raw" + std::to_string(state.range(0)) + ".db");
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, "
                 "v BLOB NOT NULL)",
                 nullptr, nullptr, nullptr);
    desync::hash128 const key = desync::test::key_of(1);
    std::string const value = payload(state.range(0));
    sqlite3_stmt* put = nullptr;
    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO kv VALUES (?1, ?2)", -1, &put, nullptr);
    sqlite3_bind_blob(put, 1, &key, sizeof key, SQLITE_STATIC);
    sqlite3_bind_blob(put, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    sqlite3_step(put);
    sqlite3_finalize(put);
    sqlite3_stmt* get = nullptr;
    sqlite3_prepare_v3(db, "SELECT v FROM kv WHERE k = ?1", -1, SQLITE_PREPARE_PERSISTENT, &get,
                       nullptr);
    std::string record;
    for (auto _ : state) {
        sqlite3_bind_blob(get, 1, &key, sizeof key, SQLITE_STATIC);
        if (sqlite3_step(get) == SQLITE_ROW) {
            auto const* blob = static_cast<const char*>(sqlite3_column_blob(get, 0));
            record.assign(blob, static_cast<std::size_t>(sqlite3_column_bytes(get, 0)));
        }
        sqlite3_reset(get);
        benchmark::DoNotOptimize(record.data());
    }
    sqlite3_finalize(get);
    sqlite3_close(db);
}

// ---- Redis

const desync::test::redis_server& server() {
    static const desync::test::redis_server s;
    return s;
}

const desync::store& redis_store() {
    static const desync::store s = [] {
        desync::store made = desync::redis_store(server().url());
        for (std::uint64_t i = 0; i < batch; ++i)
            made.backend()->write(desync::test::key_of(i), payload(64), nullptr);
        made.flush();
        return made;
    }();
    return s;
}

std::string redis_key(std::uint64_t i) {
    auto const space = desync::detail::store_namespace::of_this_build("");
    return "desync:" + desync::hash128{space.id(), 0}.to_hex().substr(16) + ":" +
           desync::test::key_of(i).to_hex();
}

void redis_hit_desync(benchmark::State& state) {
    const desync::store& s = redis_store();
    desync::hash128 const key = desync::test::key_of(1);
    static waited answer;  // the I/O thread may still be notifying it when wait() returns
    for (auto _ : state) {
        answer.reset();
        s.backend()->lookup(key, answer);
        benchmark::DoNotOptimize(answer.wait().data());
    }
    if (s.stats().errors != 0) state.SkipWithError("the store went off");
}

void redis_hit_get(benchmark::State& state) {
    redis_store();  // the same value, written
    desync::test::redis_connection raw(server().socket());
    std::string const key = redis_key(1);
    std::string record;
    for (auto _ : state) {
        desync::test::redis_reply r = raw({"GET", key});
        record.assign(r->str, r->len);
        benchmark::DoNotOptimize(record.data());
    }
}

void redis_batch_desync(benchmark::State& state) {
    const desync::store& s = redis_store();
    static std::vector<waited> answers(batch);  // as above
    std::vector<desync::hash128> keys;
    for (std::uint64_t i = 0; i < batch; ++i) keys.push_back(desync::test::key_of(i));
    for (auto _ : state) {
        for (int i = 0; i < batch; ++i) {
            answers[i].reset();
            s.backend()->lookup(keys[i], answers[i]);
        }
        for (waited& a : answers) benchmark::DoNotOptimize(a.wait().data());
    }
    state.SetItemsProcessed(state.iterations() * batch);
}

void redis_batch_get(benchmark::State& state) {
    redis_store();
    desync::test::redis_connection raw(server().socket());
    std::vector<std::string> keys;
    for (std::uint64_t i = 0; i < batch; ++i) keys.push_back(redis_key(i));
    std::string record;
    for (auto _ : state) {
        for (const std::string& key : keys) {
            desync::test::redis_reply r = raw({"GET", key});
            record.assign(r->str, r->len);
            benchmark::DoNotOptimize(record.data());
        }
    }
    state.SetItemsProcessed(state.iterations() * batch);
}

}  // namespace

// ---- A run of 10^5 memoized 1-us calls (and of 10^4 100-us calls), with and without a store

constexpr long run_calls = 100'000;

// A call that takes `micros` microseconds of this thread's time.
DESYNC_FN(spin, [](long i, long micros) {
    auto const until = std::chrono::steady_clock::now() + std::chrono::microseconds(micros);
    long x = i;
    while (std::chrono::steady_clock::now() < until) x = x * 6364136223846793005L + 1;
    return x;
});
// The calls spin(base .. base + calls - 1, micros), read in batches of 1000.
DESYNC_FN(sweep_run, [](long base, long calls, long micros) {
    long sum = 0;
    std::vector<desync::lazy<long>> batch_calls;
    for (long i = 0; i < calls; i += 1000) {
        batch_calls.clear();
        for (long k = i; k < i + 1000; ++k) batch_calls.push_back(spin(base + k, micros));
        for (auto& l : batch_calls) sum += l.get();
    }
    return sum;
});

namespace {

long next_base = 0;  // each timed run makes calls no run made before: all misses

// Arguments: how many calls, and the microseconds of each.
void write_through_desync(benchmark::State& state) {
    long const calls = state.range(0), micros = state.range(1);
    desync::sqlite_store store(scratch() / ("write_through" + std::to_string(micros) + ".db"));
    sweep_run.set_store(store);
    for (auto _ : state) {
        sweep_run.clear_cache();
        benchmark::DoNotOptimize(sweep_run(next_base += calls, calls, micros).get());
    }
    sweep_run.set_store({});
    sweep_run.clear_cache();
    if (store.stats().writes < static_cast<std::uint64_t>(calls))
        state.SkipWithError("the store was not written");
    state.SetItemsProcessed(state.iterations() * calls);
}

void write_through_none(benchmark::State& state) {
    long const calls = state.range(0), micros = state.range(1);
    for (auto _ : state) {
        sweep_run.clear_cache();
        benchmark::DoNotOptimize(sweep_run(next_base += calls, calls, micros).get());
    }
    sweep_run.clear_cache();
    state.SetItemsProcessed(state.iterations() * calls);
}

// The first run, once: its results in rerun.db and in rerun.cache.
long rerun_base() {
    static const long base = [] {
        long const b = next_base += run_calls;
        {
            desync::sqlite_store store(scratch() / "rerun.db");
            sweep_run.set_store(store);
            sweep_run.clear_cache();
            (void)sweep_run(b, run_calls, 1).get();
            sweep_run.set_store({});
        }
        sweep_run.get_cache().save(scratch() / "rerun.cache");
        sweep_run.clear_cache();
        return b;
    }();
    return base;
}

void rerun_from_sqlite(benchmark::State& state) {
    long const base = rerun_base();
    std::uint64_t hits = 0;
    for (auto _ : state) {
        sweep_run.clear_cache();
        desync::sqlite_store store(scratch() / "rerun.db");
        sweep_run.set_store(store);
        benchmark::DoNotOptimize(sweep_run(base, run_calls, 1).get());
        sweep_run.set_store({});
        hits += store.stats().hits;
    }
    sweep_run.clear_cache();
    if (hits != static_cast<std::uint64_t>(state.iterations() * run_calls))
        state.SkipWithError("the rerun did not hit every call in the store");
    state.SetItemsProcessed(state.iterations() * run_calls);
}

void rerun_from_file(benchmark::State& state) {
    long const base = rerun_base();
    for (auto _ : state) {
        sweep_run.clear_cache();
        sweep_run.set_cache(desync::cache::load(scratch() / "rerun.cache"));
        benchmark::DoNotOptimize(sweep_run(base, run_calls, 1).get());
    }
    sweep_run.clear_cache();
    state.SetItemsProcessed(state.iterations() * run_calls);
}

}  // namespace

BENCHMARK(sqlite_hit_desync)->Name("sqlite_hit/desync")->Arg(64)->Arg(4096)->UseRealTime();
BENCHMARK(sqlite_hit_select)
    ->Name("sqlite_hit/peer:prepared SELECT")
    ->Arg(64)
    ->Arg(4096)
    ->UseRealTime();
BENCHMARK(redis_hit_desync)->Name("redis_hit/desync")->UseRealTime();
BENCHMARK(redis_hit_get)->Name("redis_hit/peer:hiredis GET")->UseRealTime();
BENCHMARK(redis_batch_desync)->Name("redis_1000_hits/desync")->UseRealTime();
BENCHMARK(redis_batch_get)->Name("redis_1000_hits/peer:one GET at a time")->UseRealTime();
BENCHMARK(write_through_desync)
    ->Name("run_1e5_1us_calls, SQLite store/desync")
    ->Args({run_calls, 1})
    ->Iterations(5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(write_through_none)
    ->Name("run_1e5_1us_calls, SQLite store/peer:no store")
    ->Args({run_calls, 1})
    ->Iterations(5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(write_through_desync)
    ->Name("run_1e4_100us_calls, SQLite store/desync")
    ->Args({run_calls / 10, 100})
    ->Iterations(5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(write_through_none)
    ->Name("run_1e4_100us_calls, SQLite store/peer:no store")
    ->Args({run_calls / 10, 100})
    ->Iterations(5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(rerun_from_sqlite)
    ->Name("rerun_1e5_hits from SQLite/desync")
    ->Iterations(5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(rerun_from_file)
    ->Name("rerun_1e5_hits from SQLite/peer:from a loaded cache file")
    ->Iterations(5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
