// The memo table and the cache file, each against a peer measured in the same run: a memo hit
// (one int argument, made by a root's body, then by a memoizable body, which also notes the key
// as its child) against a std::unordered_map lookup keyed by XXH3 of the same bytes; saving and
// loading 1,000,000 small results against raw fwrite / fread of a file of the same size, and the
// save against the textbook durable replace of the same bytes (write, fsync, rename, fsync the
// directory), which is what the save must do once its records are made.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <desync/desync.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace {

constexpr int hits_per_iteration = 100000;
constexpr int distinct_keys = 1024;

// --- memo hits: a body makes 100,000 calls whose results are installed

DESYNC_FN(hit_leaf, [](int v) { return v + 1; });
DESYNC_FN(hit_loop, [](int n) {
    long sum = 0;
    for (int i = 0; i < n; ++i) sum += hit_leaf(i & (distinct_keys - 1)).get();
    return sum;
});

void memo_hit_desync(benchmark::State& state) {
    hit_loop(distinct_keys).get();
    hit_loop.set_cache(hit_loop.get_cache());
    for (auto _ : state) benchmark::DoNotOptimize(hit_loop(hits_per_iteration).get());
    state.SetItemsProcessed(state.iterations() * hits_per_iteration);
}

// The same hits made by a memoizable body, which a root calls: the body runs every time (its own
// result is recorded, never installed), and each hit is also noted as one of its children, for a
// later hit of the body to record in turn (docs/memo.md).
DESYNC_FN(hit_body, [](int n) {
    long sum = 0;
    for (int i = 0; i < n; ++i) sum += hit_leaf(i & (distinct_keys - 1)).get();
    return sum;
});
DESYNC_FN(hit_body_root, [](int n) { return hit_body(n).get(); });

void memo_hit_in_body_desync(benchmark::State& state) {
    // Installs the leaves' results (and hit_body(1024)'s) only: a cache taken after a timed run
    // would hold hit_body(100000) too, and the whole body would be one hit.
    static const desync::cache leaves = [] {
        hit_body_root(distinct_keys).get();
        return hit_body_root.get_cache();
    }();
    hit_body_root.set_cache(leaves);
    for (auto _ : state) benchmark::DoNotOptimize(hit_body_root(hits_per_iteration).get());
    state.SetItemsProcessed(state.iterations() * hits_per_iteration);
}

void memo_hit_unordered_map(benchmark::State& state) {
    std::unordered_map<std::uint64_t, int> table;
    for (int i = 0; i < distinct_keys; ++i) table[XXH3_64bits(&i, sizeof i)] = i + 1;
    for (auto _ : state) {
        long sum = 0;
        for (int i = 0; i < hits_per_iteration; ++i) {
            int const key = i & (distinct_keys - 1);
            sum += table.find(XXH3_64bits(&key, sizeof key))->second;
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * hits_per_iteration);
}

// A thread-safe table with desync's key: XXH3-128 of the callee's hash, the call's signature
// and the argument (the same 20 bytes), behind a mutex. What a hit cannot do without.
struct key128_hash {
    std::size_t operator()(const XXH128_hash_t& k) const noexcept { return k.low64; }
};
struct key128_eq {
    bool operator()(const XXH128_hash_t& a, const XXH128_hash_t& b) const noexcept {
        return a.low64 == b.low64 && a.high64 == b.high64;
    }
};

XXH128_hash_t key128(int v) {
    unsigned char bytes[20];
    const std::uint64_t head[2] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full};
    std::memcpy(bytes, head, sizeof head);
    std::memcpy(bytes + 16, &v, sizeof v);
    return XXH3_128bits(bytes, sizeof bytes);
}

void memo_hit_locked_map128(benchmark::State& state) {
    std::unordered_map<XXH128_hash_t, int, key128_hash, key128_eq> table;
    std::mutex lock;
    for (int i = 0; i < distinct_keys; ++i) table[key128(i)] = i + 1;
    for (auto _ : state) {
        long sum = 0;
        for (int i = 0; i < hits_per_iteration; ++i) {
            XXH128_hash_t const k = key128(i & (distinct_keys - 1));
            std::lock_guard g(lock);
            sum += table.find(k)->second;
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * hits_per_iteration);
}

// --- a cache of 1,000,000 int -> int results, saved and loaded

constexpr int entries = 1000000;

DESYNC_FN(entry_leaf, [](int v) { return v ^ 0x5bd1e995; });
DESYNC_FN(thousand, [](int first) {
    for (int i = 0; i < 1000; ++i) entry_leaf(first + i);
});
DESYNC_FN(million, [](int n) {
    for (int i = 0; i < n; i += 1000) thousand(i);
});

std::filesystem::path bench_file(const char* name) {
    return std::filesystem::temp_directory_path() /
           ("desync-bench-" + std::to_string(::getpid()) + "-" + name);
}

const desync::cache& million_results() {
    static const desync::cache c = [] {
        million(entries).get();
        return million.get_cache();
    }();
    return c;
}

// The saved file, written once: its size is what the peers write and read.
const std::filesystem::path& saved_file() {
    static const std::filesystem::path file = [] {
        auto f = bench_file("million.cache");
        million_results().save(f);
        return f;
    }();
    return file;
}

void save_desync(benchmark::State& state) {
    const desync::cache& c = million_results();
    auto file = bench_file("save.cache");
    for (auto _ : state) benchmark::DoNotOptimize(c.save(file).written);
    state.SetBytesProcessed(state.iterations() *
                            static_cast<std::int64_t>(std::filesystem::file_size(file)));
    std::filesystem::remove(file);
}

template <bool sync>
void save_fwrite(benchmark::State& state) {
    auto const size = std::filesystem::file_size(saved_file());
    std::unique_ptr<char[]> data(new char[size]());
    auto file = bench_file("fwrite.bin");
    for (auto _ : state) {
        std::FILE* f = std::fopen(file.c_str(), "wb");
        benchmark::DoNotOptimize(std::fwrite(data.get(), 1, size, f));
        std::fflush(f);
        if (sync) ::fsync(::fileno(f));
        std::fclose(f);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
    std::filesystem::remove(file);
}

// The saved file's own bytes, already in memory, replacing a file as a save must: a new file
// written whole and fsync'ed, renamed over the target, the directory fsync'ed. No encoding, no
// checksums: what the disk asks of any save that a crash cannot leave half-written.
void save_atomic_replace(benchmark::State& state) {
    auto const size = std::filesystem::file_size(saved_file());
    std::unique_ptr<char[]> data(new char[size]);
    {
        std::FILE* f = std::fopen(saved_file().c_str(), "rb");
        if (!f || std::fread(data.get(), 1, size, f) != size) state.SkipWithError("cannot read");
        if (f) std::fclose(f);
    }
    auto const file = bench_file("replace.bin");
    auto const temp = bench_file("replace.bin.tmp");
    auto const dir = file.parent_path();
    for (auto _ : state) {
        int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        bool ok = fd >= 0;
        for (std::size_t done = 0; ok && done < size;) {
            ssize_t const n = ::write(fd, data.get() + done, size - done);
            ok = n > 0;
            done += ok ? static_cast<std::size_t>(n) : 0;
        }
        ok = ok && ::fsync(fd) == 0;
        if (fd >= 0) ::close(fd);
        ok = ok && ::rename(temp.c_str(), file.c_str()) == 0;
        int const d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ok = ok && d >= 0 && ::fsync(d) == 0;
        if (d >= 0) ::close(d);
        if (!ok) state.SkipWithError("cannot replace the file");
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
    std::filesystem::remove(temp, ignored);
}

void load_desync(benchmark::State& state) {
    const auto& file = saved_file();
    for (auto _ : state) benchmark::DoNotOptimize(desync::cache::load(file).size());
    state.SetBytesProcessed(state.iterations() *
                            static_cast<std::int64_t>(std::filesystem::file_size(file)));
}

void load_fread(benchmark::State& state) {
    const auto& file = saved_file();
    auto const size = std::filesystem::file_size(file);
    for (auto _ : state) {
        std::unique_ptr<char[]> data(new char[size]);
        std::FILE* f = std::fopen(file.c_str(), "rb");
        benchmark::DoNotOptimize(std::fread(data.get(), 1, size, f));
        std::fclose(f);
        benchmark::DoNotOptimize(data.get());
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

// --- first hits: distinct keys, each hit once, from a cache loaded from a file. Each result
// stands for a recorded subtree of three calls (top -> mid -> leaf), which the hit records too.

constexpr long first_hits = 100000;

DESYNC_FN(sub_leaf, [](long v) { return v * 3; });
DESYNC_FN(sub_mid, [](long v) { return sub_leaf(v).get() + 1; });
DESYNC_FN(sub_top, [](long v) { return sub_mid(v).get() + 2; });
DESYNC_FN(sub_sweep, [](long n) {
    long sum = 0;
    for (long i = 0; i < n; ++i) sum += sub_top(i).get();
    return sum;
});

const std::filesystem::path& subtree_file() {
    static const std::filesystem::path file = [] {
        sub_sweep(first_hits).get();
        auto f = bench_file("subtree.cache");
        sub_sweep.get_cache().save(f);
        sub_sweep.clear_cache();
        return f;
    }();
    return file;
}

void first_hit_subtree_desync(benchmark::State& state) {
    const auto& file = subtree_file();
    for (auto _ : state) {
        state.PauseTiming();
        sub_sweep.set_cache(desync::cache::load(file));
        state.ResumeTiming();
        benchmark::DoNotOptimize(sub_sweep(first_hits).get());
        state.PauseTiming();
        sub_sweep.clear_cache();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * first_hits);
}

XXH128_hash_t key128_long(long v) {
    unsigned char bytes[24];
    const std::uint64_t head[2] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full};
    std::memcpy(bytes, head, sizeof head);
    std::memcpy(bytes + 16, &v, sizeof v);
    return XXH3_128bits(bytes, sizeof bytes);
}

void first_hit_unordered_map(benchmark::State& state) {
    std::unordered_map<XXH128_hash_t, long, key128_hash, key128_eq> table;
    table.reserve(first_hits);
    for (long i = 0; i < first_hits; ++i) table[key128_long(i)] = i * 3 + 3;
    for (auto _ : state) {
        long sum = 0;
        for (long i = 0; i < first_hits; ++i) sum += table.find(key128_long(i))->second;
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * first_hits);
}

// --- bytes per recorded result: 1,000,000 long -> long results recorded by a run, against a
// std::unordered_map from the same 128-bit keys to long. Heap bytes from mallinfo2.

constexpr long recorded_results = 1000000;

DESYNC_FN(bytes_leaf, [](long v) { return v + 7; });
DESYNC_FN(bytes_batch, [](long first) {
    for (long i = first; i < first + 1000; ++i) bytes_leaf(i);
});
DESYNC_FN(bytes_root, [](long n) {
    for (long i = 0; i < n; i += 1000) bytes_batch(i);
});

std::size_t heap_in_use() { return mallinfo2().uordblks; }

void bytes_per_result_desync(benchmark::State& state) {
    double per_result = 0;
    for (auto _ : state) {
        bytes_root.clear_cache();
        malloc_trim(0);
        std::size_t const before = heap_in_use();
        bytes_root(recorded_results).get();
        std::size_t const after = heap_in_use();
        per_result = static_cast<double>(after - before) / recorded_results;
    }
    bytes_root.clear_cache();
    state.counters["bytes_per_result"] = per_result;
}

void bytes_per_result_unordered_map(benchmark::State& state) {
    double per_result = 0;
    for (auto _ : state) {
        std::size_t const before = heap_in_use();
        std::unordered_map<XXH128_hash_t, long, key128_hash, key128_eq> table;
        for (long i = 0; i < recorded_results; ++i) table.emplace(key128_long(i), i + 7);
        per_result = static_cast<double>(heap_in_use() - before) / recorded_results;
        benchmark::DoNotOptimize(table.size());
    }
    state.counters["bytes_per_result"] = per_result;
}

struct remove_saved_file {
    ~remove_saved_file() {
        std::error_code ignored;
        std::filesystem::remove(bench_file("million.cache"), ignored);
        std::filesystem::remove(bench_file("subtree.cache"), ignored);
    }
} cleanup;

}  // namespace

BENCHMARK(memo_hit_desync)->Name("memo_hit_int/desync")->UseRealTime();
BENCHMARK(memo_hit_unordered_map)->Name("memo_hit_int/peer:unordered_map")->UseRealTime();
BENCHMARK(memo_hit_in_body_desync)->Name("memo_hit_int_in_body/desync")->UseRealTime();
BENCHMARK(memo_hit_unordered_map)->Name("memo_hit_int_in_body/peer:unordered_map")->UseRealTime();
BENCHMARK(memo_hit_locked_map128)->Name("memo_hit_int/peer:locked_map128")->UseRealTime();
BENCHMARK(save_desync)->Name("save_1M/desync")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(save_fwrite<false>)
    ->Name("save_1M/peer:fwrite")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(save_fwrite<true>)
    ->Name("save_1M/peer:fwrite+fsync")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(save_atomic_replace)
    ->Name("save_1M/peer:atomic-replace")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(load_desync)->Name("load_1M/desync")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(load_fread)->Name("load_1M/peer:fread")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(first_hit_subtree_desync)
    ->Name("first_hit_subtree_100k/desync")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(first_hit_unordered_map)
    ->Name("first_hit_subtree_100k/peer:unordered_map")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bytes_per_result_desync)
    ->Name("record_1M/desync")
    ->UseRealTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bytes_per_result_unordered_map)
    ->Name("record_1M/peer:unordered_map")
    ->UseRealTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);
