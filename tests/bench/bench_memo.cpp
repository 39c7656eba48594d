// The memo table and the cache file, each against a peer measured in the same run: a memo hit
// (one int argument, made by a root's body, then by a memoizable body, which also notes the key
// as its child) against a std::unordered_map lookup keyed by XXH3 of the same bytes; saving and
// loading 1,000,000 small results against raw fwrite / fread of a file of the same size, and the
// save against the textbook durable replace of the same bytes (write, fsync, rename, fsync the
// directory), which is what the save must do once its records are made. Then the paths a sweep
// takes at scale, each section saying its peer: bytes per recorded result, first hits of
// distinct keys, a rerun that hits everything, a pending call's bytes, and a sweep of 10^7
// calls with its save, load and rerun, with the process's memory.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <desync/desync.hpp>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

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

// The process's resident size now (VmRSS) and its peak since reset_peak() (VmHWM), in MB.
double status_mb(const char* field) {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    double kb = 0;
    std::size_t const n = std::strlen(field);
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, field, n) == 0 && std::sscanf(line + n, ":%lf kB", &kb) == 1) break;
    std::fclose(f);
    return kb / 1024;
}
double rss_mb() { return status_mb("VmRSS"); }
double peak_mb() { return status_mb("VmHWM"); }

// Resets the peak to the resident size now (Linux: clear_refs 5).
void reset_peak() {
    if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
        std::fputs("5", f);
        std::fclose(f);
    }
}

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

// The results a save row writes, and the file they were saved to once (its size is what the
// peers write and read): the million above, or the 10^7 sweep's below.
using results_fn = const desync::cache& (*)();
using file_fn = const std::filesystem::path& (*)();

// The file `results` were saved to, under `name`, written at the first call.
template <results_fn results>
const std::filesystem::path& saved_once(const char* name) {
    static const std::filesystem::path file = [&] {
        auto f = bench_file(name);
        results().save(f);
        return f;
    }();
    return file;
}

const std::filesystem::path& saved_file() { return saved_once<million_results>("million.cache"); }

template <results_fn results>
void save_desync(benchmark::State& state) {
    const desync::cache& c = results();
    auto file = bench_file("save.cache");
    reset_peak();
    for (auto _ : state) benchmark::DoNotOptimize(c.save(file).written);
    state.counters["peak_MB"] = peak_mb();
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
template <file_fn saved>
void save_atomic_replace(benchmark::State& state) {
    auto const size = std::filesystem::file_size(saved());
    std::unique_ptr<char[]> data(new char[size]);
    {
        std::FILE* f = std::fopen(saved().c_str(), "rb");
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

template <file_fn saved>
void load_desync(benchmark::State& state) {
    const auto& file = saved();
    reset_peak();
    for (auto _ : state) benchmark::DoNotOptimize(desync::cache::load(file).size());
    state.counters["peak_MB"] = peak_mb();
    state.SetBytesProcessed(state.iterations() *
                            static_cast<std::int64_t>(std::filesystem::file_size(file)));
}

template <file_fn saved>
void load_fread(benchmark::State& state) {
    const auto& file = saved();
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

// The results of sweep(n), saved once to a file of its own.
template <class Sweep>
std::filesystem::path saved_sweep(const Sweep& sweep, long n, const char* name) {
    sweep(n).get();
    auto f = bench_file(name);
    sweep.get_cache().save(f);
    sweep.clear_cache();
    return f;
}

// Each iteration installs what `file` holds (not timed), then sweep(n) hits each result once.
template <class Sweep>
void first_hits_from(benchmark::State& state, const Sweep& sweep, long n,
                     const std::filesystem::path& file) {
    for (auto _ : state) {
        state.PauseTiming();
        sweep.set_cache(desync::cache::load(file));
        state.ResumeTiming();
        benchmark::DoNotOptimize(sweep(n).get());
        state.PauseTiming();
        sweep.clear_cache();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * n);
}

void first_hit_subtree_desync(benchmark::State& state) {
    static const auto file = saved_sweep(sub_sweep, first_hits, "subtree.cache");
    first_hits_from(state, sub_sweep, first_hits, file);
}

XXH128_hash_t key128_long(long v) {
    unsigned char bytes[24];
    const std::uint64_t head[2] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full};
    std::memcpy(bytes, head, sizeof head);
    std::memcpy(bytes + 16, &v, sizeof v);
    return XXH3_128bits(bytes, sizeof bytes);
}

// The peer of first hits: a probe of a map of state.range(0) distinct keys, each once.
void first_hit_unordered_map(benchmark::State& state) {
    long const n = state.range(0);
    std::unordered_map<XXH128_hash_t, long, key128_hash, key128_eq> table;
    table.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) table[key128_long(i)] = i * 3 + 3;
    for (auto _ : state) {
        long sum = 0;
        for (long i = 0; i < n; ++i) sum += table.find(key128_long(i))->second;
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * n);
}

// --- bytes per recorded result: n long -> long results recorded by a run (its body makes them in
// batches of 1000), against a std::unordered_map from the same 128-bit keys to long. Heap bytes
// from mallinfo2; the process's resident size (VmRSS) printed with them, in MB.

DESYNC_FN(bytes_leaf, [](long v) { return v + 7; });
DESYNC_FN(bytes_batch, [](long first) {
    for (long i = first; i < first + 1000; ++i) bytes_leaf(i);
});
DESYNC_FN(bytes_root, [](long n) {
    for (long i = 0; i < n; i += 1000) bytes_batch(i);
});

// Bytes allocated: from the heap's arenas, and in chunks of their own (mmap'ed: large arrays).
std::size_t heap_in_use() {
    struct mallinfo2 const m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

void bytes_per_result_desync(benchmark::State& state) {
    long const n = state.range(0);
    double per_result = 0, rss = 0;
    for (auto _ : state) {
        bytes_root.clear_cache();
        malloc_trim(0);
        std::size_t const before = heap_in_use();
        bytes_root(n).get();
        std::size_t const after = heap_in_use();
        per_result = static_cast<double>(after - before) / static_cast<double>(n);
        rss = rss_mb();
    }
    bytes_root.clear_cache();
    malloc_trim(0);
    state.counters["bytes_per_result"] = per_result;
    state.counters["rss_MB"] = rss;
}

void bytes_per_result_unordered_map(benchmark::State& state) {
    long const n = state.range(0);
    double per_result = 0, rss = 0;
    for (auto _ : state) {
        malloc_trim(0);
        std::size_t const before = heap_in_use();
        std::unordered_map<XXH128_hash_t, long, key128_hash, key128_eq> table;
        for (long i = 0; i < n; ++i) table.emplace(key128_long(i), i + 7);
        per_result = static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
        rss = rss_mb();
        benchmark::DoNotOptimize(table.size());
    }
    malloc_trim(0);
    state.counters["bytes_per_result"] = per_result;
    state.counters["rss_MB"] = rss;
}

// --- first hits of distinct keys: 10^6 long -> long results loaded from a cache file, each hit
// once by a root's loop, against a probe of a std::unordered_map holding the same keys.

constexpr long flat_results = 1000000;

DESYNC_FN(flat_leaf, [](long v) { return v * 5 + 1; });
DESYNC_FN(flat_sweep, [](long n) {
    long sum = 0;
    for (long i = 0; i < n; ++i) sum += flat_leaf(i).get();
    return sum;
});

void first_hit_flat_desync(benchmark::State& state) {
    static const auto file = saved_sweep(flat_sweep, flat_results, "flat.cache");
    first_hits_from(state, flat_sweep, flat_results, file);
}

// --- a rerun that hits everything, against the first run that computed it: 10^6 calls of a
// function that costs about 1 microsecond, made 1000 at a time by a root's body.

constexpr long rerun_calls = 1000000;

long spin_1us(long v) {
    auto const until = std::chrono::steady_clock::now() + std::chrono::microseconds(1);
    while (std::chrono::steady_clock::now() < until) benchmark::ClobberMemory();
    return v ^ 0x2545F491;
}
DESYNC_FN(rerun_leaf, [](long v) { return spin_1us(v); });
DESYNC_FN(rerun_root, [](long n) {
    long sum = 0;
    std::vector<desync::lazy<long>> batch;
    batch.reserve(1000);
    for (long i = 0; i < n; i += 1000) {
        batch.clear();
        for (long j = i; j < i + 1000 && j < n; ++j) batch.push_back(rerun_leaf(j));
        for (auto& l : batch) sum += l.get();
    }
    return sum;
});

void rerun_hits_desync(benchmark::State& state) {
    static const desync::cache computed = [] {
        rerun_root(rerun_calls).get();
        return rerun_root.get_cache();
    }();
    for (auto _ : state) {
        state.PauseTiming();
        rerun_root.set_cache(computed);
        state.ResumeTiming();
        benchmark::DoNotOptimize(rerun_root(rerun_calls).get());
        state.PauseTiming();
        rerun_root.clear_cache();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * rerun_calls);
}

void rerun_first_run(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(rerun_root(rerun_calls).get());
        state.PauseTiming();
        rerun_root.clear_cache();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * rerun_calls);
}

// --- a sweep of 10^7 memoized long -> long calls (10^4 memoizable batches of 1000), with a
// cache installed so that every call probes the table; the sweep's cache saved and loaded; and
// a rerun from the loaded file, whose batches all hit and record their subtrees. What it costs
// the process's memory: peak_MB is its peak resident size during the row (reset before it),
// rss_before_MB its size then, get_cache_added_MB what taking the sweep's cache adds at its
// peak. The peers: the same sweep with nothing installed, the textbook durable replace of the
// file's bytes, fread of them, and the sweep's first run.

constexpr long sweep_calls = 10000000;

DESYNC_FN(sweep_leaf, [](long v) { return v * 3 + 1; });
DESYNC_FN(sweep_batch, [](long first) {
    for (long i = first; i < first + 1000; ++i) sweep_leaf(i);
});
DESYNC_FN(sweep_root, [](long n) {
    for (long i = 0; i < n; i += 1000) sweep_batch(i);
});

// Times sweep_root(sweep_calls) after `setup` (not timed), with the memory counters.
template <class Setup>
void sweep_with(benchmark::State& state, Setup setup) {
    for (auto _ : state) {
        state.PauseTiming();
        sweep_root.clear_cache();
        setup();
        malloc_trim(0);
        state.counters["rss_before_MB"] = rss_mb();
        reset_peak();
        state.ResumeTiming();
        sweep_root(sweep_calls).get();
        state.PauseTiming();
        state.counters["peak_MB"] = peak_mb();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * sweep_calls);
}

void sweep_installed_desync(benchmark::State& state) {
    sweep_with(state, [] {
        sweep_root(1000).get();  // one batch's results, installed
        sweep_root.set_cache(sweep_root.get_cache());
    });
    // Then (not timed) what taking the sweep's cache adds to the process at its peak.
    malloc_trim(0);
    double const before = rss_mb();
    reset_peak();
    desync::cache const taken = sweep_root.get_cache();
    state.counters["get_cache_added_MB"] = peak_mb() - before;
}

void sweep_nothing_installed(benchmark::State& state) {
    sweep_with(state, [] {});
}

// What the sweep recorded (run here if its row did not run), then kept by this cache alone.
desync::cache& sweep_results_held() {
    static desync::cache c;
    return c;
}
const desync::cache& sweep_results() {
    desync::cache& c = sweep_results_held();
    if (c.size() < static_cast<std::size_t>(sweep_calls)) {
        c = sweep_root.get_cache();
        if (c.size() < static_cast<std::size_t>(sweep_calls)) {
            sweep_root(sweep_calls).get();
            c = sweep_root.get_cache();
        }
        sweep_root.clear_cache();
    }
    return c;
}

const std::filesystem::path& sweep_file() { return saved_once<sweep_results>("sweep.cache"); }

// Installs the loaded file and reruns the sweep: the load is timed with the hits.
void rerun_from_file_desync(benchmark::State& state) {
    const auto& file = sweep_file();
    sweep_results_held().clear();  // only the file is left
    for (auto _ : state) {
        state.PauseTiming();
        sweep_root.clear_cache();
        malloc_trim(0);
        state.counters["rss_before_MB"] = rss_mb();
        reset_peak();
        state.ResumeTiming();
        sweep_root.set_cache(desync::cache::load(file));
        sweep_root(sweep_calls).get();
        state.PauseTiming();
        state.counters["peak_MB"] = peak_mb();
        sweep_root.clear_cache();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * sweep_calls);
}

// --- bytes a pending call holds: a root's body makes 10^5 calls that are not run yet (the
// pool's threads wait at a gate), against as many std::packaged_task + std::future pairs.

constexpr long pending_calls = 100000;
std::atomic<bool> gate_open{false};

DESYNC_FN(pending_leaf, [](long v) {
    gate_open.wait(false);
    return v;
});
DESYNC_FN(pending_root, [](long n) {
    std::vector<desync::lazy<long>> calls;
    calls.reserve(static_cast<std::size_t>(n));
    std::size_t const before = heap_in_use();
    for (long i = 0; i < n; ++i) calls.push_back(pending_leaf(i));
    double const per_call = static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
    gate_open.store(true);
    gate_open.notify_all();
    long sum = 0;
    for (auto& l : calls) sum += l.get();
    benchmark::DoNotOptimize(sum);
    return per_call;
});

void pending_call_desync(benchmark::State& state) {
    double per_call = 0;
    for (auto _ : state) {
        gate_open.store(false);
        malloc_trim(0);
        per_call = pending_root(pending_calls).get();
        pending_root.clear_cache();
    }
    state.counters["bytes_per_call"] = per_call;
}

void pending_call_packaged_task(benchmark::State& state) {
    double per_call = 0;
    for (auto _ : state) {
        std::vector<std::packaged_task<long()>> tasks;
        std::vector<std::future<long>> futures;
        tasks.reserve(pending_calls);
        futures.reserve(pending_calls);
        malloc_trim(0);
        std::size_t const before = heap_in_use();
        for (long i = 0; i < pending_calls; ++i) {
            tasks.emplace_back([i] { return i; });
            futures.push_back(tasks.back().get_future());
        }
        per_call = static_cast<double>(heap_in_use() - before) / pending_calls;
        for (auto& t : tasks) t();
        long sum = 0;
        for (auto& f : futures) sum += f.get();
        benchmark::DoNotOptimize(sum);
    }
    state.counters["bytes_per_call"] = per_call;
}

struct remove_saved_file {
    ~remove_saved_file() {
        std::error_code ignored;
        std::filesystem::remove(bench_file("million.cache"), ignored);
        std::filesystem::remove(bench_file("subtree.cache"), ignored);
        std::filesystem::remove(bench_file("flat.cache"), ignored);
        std::filesystem::remove(bench_file("sweep.cache"), ignored);
    }
} cleanup;

}  // namespace

BENCHMARK(memo_hit_desync)->Name("memo_hit_int/desync")->UseRealTime();
BENCHMARK(memo_hit_unordered_map)->Name("memo_hit_int/peer:unordered_map")->UseRealTime();
BENCHMARK(memo_hit_in_body_desync)->Name("memo_hit_int_in_body/desync")->UseRealTime();
BENCHMARK(memo_hit_unordered_map)->Name("memo_hit_int_in_body/peer:unordered_map")->UseRealTime();
BENCHMARK(memo_hit_locked_map128)->Name("memo_hit_int/peer:locked_map128")->UseRealTime();
BENCHMARK(save_desync<million_results>)
    ->Name("save_1M/desync")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(save_fwrite<false>)
    ->Name("save_1M/peer:fwrite")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(save_fwrite<true>)
    ->Name("save_1M/peer:fwrite+fsync")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(save_atomic_replace<saved_file>)
    ->Name("save_1M/peer:atomic-replace")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(load_desync<saved_file>)
    ->Name("load_1M/desync")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(load_fread<saved_file>)
    ->Name("load_1M/peer:fread")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(first_hit_subtree_desync)
    ->Name("first_hit_subtree_100k/desync")
    ->Arg(first_hits)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(first_hit_unordered_map)
    ->Name("first_hit_subtree_100k/peer:unordered_map")
    ->Arg(first_hits)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(first_hit_flat_desync)
    ->Name("first_hit_1e6/desync")
    ->Arg(flat_results)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(first_hit_unordered_map)
    ->Name("first_hit_1e6/peer:unordered_map")
    ->Arg(flat_results)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(rerun_hits_desync)
    ->Name("rerun_1e6_1us/desync")
    ->UseRealTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(rerun_first_run)
    ->Name("rerun_1e6_1us/peer:first_run")
    ->UseRealTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);
// Rows of the 10^7 sweep: one iteration each (the suite's smoke run leaves them out).
#define DESYNC_BENCH_ONCE(function, name) \
    BENCHMARK(function)->Name(name)->UseRealTime()->Iterations(1)->Unit(benchmark::kMillisecond)
DESYNC_BENCH_ONCE(sweep_installed_desync, "sweep_1e7_installed/desync");
DESYNC_BENCH_ONCE(sweep_nothing_installed, "sweep_1e7_installed/peer:nothing_installed");
DESYNC_BENCH_ONCE(save_desync<sweep_results>, "save_1e7/desync");
DESYNC_BENCH_ONCE(save_atomic_replace<sweep_file>, "save_1e7/peer:atomic-replace");
DESYNC_BENCH_ONCE(load_desync<sweep_file>, "load_1e7/desync");
DESYNC_BENCH_ONCE(load_fread<sweep_file>, "load_1e7/peer:fread");
DESYNC_BENCH_ONCE(rerun_from_file_desync, "rerun_1e7_from_file/desync");
DESYNC_BENCH_ONCE(sweep_nothing_installed, "rerun_1e7_from_file/peer:first_run");
BENCHMARK(pending_call_desync)
    ->Name("pending_call/desync")
    ->UseRealTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(pending_call_packaged_task)
    ->Name("pending_call/peer:packaged_task+future")
    ->UseRealTime()
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond);
// Bytes per recorded result at 10^4, 10^6 and 10^7 results (the last about 2 GB; the suite's
// smoke run leaves it out).
#define DESYNC_BENCH_RECORD(label, n, times)          \
    BENCHMARK(bytes_per_result_desync)                \
        ->Name("record_" label "/desync")             \
        ->Arg(n)                                      \
        ->UseRealTime()                               \
        ->Iterations(times)                           \
        ->Unit(benchmark::kMillisecond);              \
    BENCHMARK(bytes_per_result_unordered_map)         \
        ->Name("record_" label "/peer:unordered_map") \
        ->Arg(n)                                      \
        ->UseRealTime()                               \
        ->Iterations(times)                           \
        ->Unit(benchmark::kMillisecond)
DESYNC_BENCH_RECORD("1e4", 10000, 20);
DESYNC_BENCH_RECORD("1e6", 1000000, 3);
DESYNC_BENCH_RECORD("1e7", 10000000, 1);
