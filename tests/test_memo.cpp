// The memo table (docs/memo.md): every property proven by counting executions, never by timing.
// The cache file has its own program, test_cache_file.cpp.

#include <atomic>
#include <bit>
#include <cstdint>
#include <desync/desync.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/meeting.hpp"

// Two compute threads whatever the machine, so the sharing tests can block one of them.
static const bool configured = (desync::configure({.compute_threads = 2}), true);

namespace {

std::atomic<int> slow_runs{0};
std::atomic<int> stage_runs[3];
std::atomic<int> side_runs{0};
std::atomic<int> fail_runs{0};
std::atomic<int> handle_runs{0};
std::atomic<int> leaf_runs{0};
std::atomic<int> lru_runs{0};

}  // namespace

// ---- the seed's caching example, without the sleeps

DESYNC_FN(slow_inc, [](int value) {
    ++slow_runs;
    return value + 1;
});
DESYNC_FN(twice, [](int value) { return slow_inc(slow_inc(value)); });

TEST_CASE("the seed example: the second call of twice runs no inner call", "[memo]") {
    REQUIRE(configured);
    slow_runs = 0;
    int a = twice(0);
    REQUIRE(a == 2);
    REQUIRE(slow_runs == 2);  // a fresh function has nothing installed: every call runs
    twice.set_cache(twice.get_cache());
    int b = twice(0);
    REQUIRE(b == 2);
    REQUIRE(slow_runs ==
            2);  // slow_inc(0) on the calling thread, slow_inc(1) once its input was ready
}

TEST_CASE("new inputs miss, a call whose arguments were seen hits", "[memo]") {
    slow_runs = 0;
    twice(10).get();
    twice.set_cache(twice.get_cache());
    slow_runs = 0;
    REQUIRE(twice(11).get() == 13);  // slow_inc(11) was recorded by twice(10), slow_inc(12) was not
    REQUIRE(slow_runs == 1);
    REQUIRE(twice(20).get() == 22);
    REQUIRE(slow_runs == 3);
}

TEST_CASE("installing an empty cache makes every call run again", "[memo]") {
    twice(30).get();
    twice.set_cache(twice.get_cache());
    twice.set_cache(desync::cache{});
    slow_runs = 0;
    twice(30).get();
    REQUIRE(slow_runs == 2);
}

TEST_CASE("root calls are never memoized", "[memo]") {
    twice(40).get();
    slow_inc.set_cache(twice.get_cache());
    slow_inc.set_cache(slow_inc.get_cache());
    slow_runs = 0;
    REQUIRE(slow_inc(40).get() == 41);
    REQUIRE(slow_runs == 1);
}

// ---- caches move between functions: keys name the callee, not the root (the original's
// test_resume)

DESYNC_FN(stage_a, [](int x) {
    ++stage_runs[0];
    return x * 2;
});
DESYNC_FN(stage_b, [](int x) {
    ++stage_runs[1];
    return x + 3;
});
DESYNC_FN(stage_c, [](int x) {
    ++stage_runs[2];
    return x - 1;
});
DESYNC_FN(pipeline_v1, [](int x) { return stage_b(stage_a(x)); });
DESYNC_FN(pipeline_v2, [](int x) { return stage_c(stage_a(x)); });

TEST_CASE("a cache moves between functions: the steps they share are reused", "[memo]") {
    for (auto& r : stage_runs) r = 0;
    REQUIRE(pipeline_v1(5).get() == 13);
    pipeline_v2.set_cache(pipeline_v1.get_cache());
    REQUIRE(pipeline_v2(5).get() == 9);
    REQUIRE(stage_runs[0] == 1);  // stage_a(5): shared, not run again
    REQUIRE(stage_runs[1] == 1);
    REQUIRE(stage_runs[2] == 1);
}

TEST_CASE("hits are recorded: the cache after a run of hits holds what it used", "[memo]") {
    pipeline_v1(6).get();
    pipeline_v2.set_cache(pipeline_v1.get_cache());
    pipeline_v2(6).get();  // stage_a(6) hits, stage_c(12) runs
    desync::cache used = pipeline_v2.get_cache();
    pipeline_v2.set_cache(used);
    for (auto& r : stage_runs) r = 0;
    pipeline_v2(6).get();
    REQUIRE(stage_runs[0] == 0);
    REQUIRE(stage_runs[2] == 0);
}

// ---- a hit uses what its result was made from: the results below it are recorded too

std::atomic<int> tree_runs{0};
DESYNC_FN(tree_leaf, [](int v) {
    ++tree_runs;
    return v + 1;
});
DESYNC_FN(tree_mid, [](int v) {
    ++tree_runs;
    return tree_leaf(v).get() * 2;
});
DESYNC_FN(tree_top, [](int v) {
    ++tree_runs;
    return tree_mid(v).get() + 1;
});
DESYNC_FN(tree_root, [](int v) { return tree_top(v); });
DESYNC_FN(mid_root, [](int v) { return tree_mid(v); });

TEST_CASE("after a run of hits, get_cache holds the whole tree of each hit", "[memo]") {
    tree_runs = 0;
    tree_root(2).get();
    desync::cache first = tree_root.get_cache();
    tree_root.clear_cache();
    tree_root.set_cache(first);
    REQUIRE(tree_root(2).get() == 7);  // tree_top(2) hits: its body does not run
    REQUIRE(tree_runs == 3);
    desync::cache after_hits = tree_root.get_cache();
    REQUIRE(after_hits.size() == 3);  // tree_top(2), and tree_mid(2) and tree_leaf(2) below it
    mid_root.set_cache(after_hits);
    REQUIRE(mid_root(2).get() == 6);
    REQUIRE(tree_runs == 3);
}

// ---- what is never memoized

DESYNC_FN(
    side_effect,
    [](int x) {
        ++side_runs;
        return x;
    },
    desync::uncached);
DESYNC_FN(calls_side_effect, [](int x) { return side_effect(x); });

inline const auto with_state = desync::desync(DESYNC_SOURCE([offset = 1](int x) {
    ++side_runs;
    return x + offset;
}));
DESYNC_FN(calls_with_state, [](int x) { return with_state(x); });

inline const auto without_source = desync::desync([](int x) {
    ++side_runs;
    return x;
});
DESYNC_FN(calls_without_source, [](int x) { return without_source(x); });

template <class Root>
int runs_twice_with_cache(const Root& root) {
    side_runs = 0;
    root(1).get();
    root.set_cache(root.get_cache());
    root(1).get();
    return side_runs;
}

TEST_CASE("uncached, capturing and sourceless callables are never memoized", "[memo]") {
    REQUIRE(runs_twice_with_cache(calls_side_effect) == 2);
    REQUIRE(runs_twice_with_cache(calls_with_state) == 2);
    REQUIRE(runs_twice_with_cache(calls_without_source) == 2);
    REQUIRE(calls_side_effect.get_cache().empty());
}

DESYNC_FN(may_fail, [](int x) {
    ++fail_runs;
    if (x < 0) throw std::runtime_error("negative");
    return x;
});
DESYNC_FN(calls_may_fail, [](int x) { return may_fail(x); });

TEST_CASE("a call that throws is not cached", "[memo]") {
    fail_runs = 0;
    REQUIRE_THROWS_AS(calls_may_fail(-1).get(), std::runtime_error);
    calls_may_fail.set_cache(calls_may_fail.get_cache());
    REQUIRE(calls_may_fail.get_cache().empty());
    REQUIRE_THROWS_AS(calls_may_fail(-1).get(), std::runtime_error);
    REQUIRE(fail_runs == 2);
}

// A result that can be copied but not saved: it stays in memory.
struct handle {
    const int* where;
    int value;
};
DESYNC_FN(make_handle, [](int x) {
    ++handle_runs;
    return handle{nullptr, x};
});
DESYNC_FN(calls_make_handle, [](int x) {
    handle h = make_handle(x);
    return h.value + slow_inc(x).get();
});

TEST_CASE("results that cannot be encoded are kept in memory and skipped by save", "[memo]") {
    static_assert(!desync::detail::is_encodable_v<handle>);
    handle_runs = 0;
    REQUIRE(calls_make_handle(7).get() == 15);
    calls_make_handle.set_cache(calls_make_handle.get_cache());
    REQUIRE(calls_make_handle(7).get() == 15);
    REQUIRE(handle_runs == 1);
    auto file = desync::test::scratch_dir("memo") / "skipped.cache";
    desync::save_report report = calls_make_handle.get_cache().save(file);
    REQUIRE(report.written == 1);  // slow_inc(7)
    REQUIRE(report.skipped == 1);  // make_handle(7)
    REQUIRE(desync::cache::load(file).size() == 1);
    std::filesystem::remove(file);
}

DESYNC_FN(ready_probe, [](int x) {
    auto l = slow_inc(x);
    return l.ready();  // a hit is ready when the call returns: no trip to the pool
});

TEST_CASE("a hit whose arguments are values is found on the calling thread", "[memo]") {
    ready_probe(50).get();
    ready_probe.set_cache(ready_probe.get_cache());
    REQUIRE(ready_probe(50).get());
}

// ---- share_results: reuse within the run, identical calls in flight run once

desync::test::gate entered, release;

DESYNC_FN(shared_leaf, [](int v) {
    ++leaf_runs;
    entered.open();
    release.wait();
    return v * 2;
});
DESYNC_FN(
    hundred_calls,
    [](int v) {
        auto first = shared_leaf(v);
        entered.wait();  // the first call is running
        std::vector<desync::lazy<int>> rest;
        for (int i = 0; i < 99; ++i) rest.push_back(shared_leaf(v));
        release.open();
        int sum = first;
        for (auto& r : rest) sum += r;
        return sum;
    },
    desync::share_results);

TEST_CASE("share_results: 100 identical calls run the callee once", "[memo][share]") {
    leaf_runs = 0;
    REQUIRE(hundred_calls(21).get() == 100 * 42);
    REQUIRE(leaf_runs == 1);
}

DESYNC_FN(quick_leaf, [](int v) {
    ++leaf_runs;
    return v + 100;
});
DESYNC_FN(
    hundred_at_once,
    [](int v) {
        std::vector<desync::lazy<int>> all;
        for (int i = 0; i < 100; ++i) all.push_back(quick_leaf(v));
        int sum = 0;
        for (auto& r : all) sum += r;
        return sum;
    },
    desync::share_results);

// Identical calls made before the first one starts: each registers as it is made, so the
// other 99 share the first.
TEST_CASE("share_results: identical calls made before the first starts run once", "[memo][share]") {
    leaf_runs = 0;
    REQUIRE(hundred_at_once(1).get() == 100 * 101);
    REQUIRE(leaf_runs == 1);
}

DESYNC_FN(reuse_twice, [](int v) {
    int a = quick_leaf(v);
    int b = quick_leaf(v);  // recorded by the first call in this run
    return a + b;
});
DESYNC_FN(
    reuse_twice_shared,
    [](int v) {
        int a = quick_leaf(v);
        int b = quick_leaf(v);
        return a + b;
    },
    desync::share_results);

TEST_CASE("share_results reuses what this run recorded, without it the call runs again",
          "[memo][share]") {
    leaf_runs = 0;
    REQUIRE(reuse_twice(3).get() == 206);
    REQUIRE(leaf_runs == 2);
    leaf_runs = 0;
    REQUIRE(reuse_twice_shared(4).get() == 208);
    REQUIRE(leaf_runs == 1);
}

desync::test::gate fail_entered, fail_release;
DESYNC_FN(failing_leaf, [](int) -> int {
    ++fail_runs;
    fail_entered.open();
    fail_release.wait();
    throw std::runtime_error("leaf failed");
});
DESYNC_FN(
    two_failures,
    [](int v) {
        auto first = failing_leaf(v);
        fail_entered.wait();
        auto second = failing_leaf(v);  // shares the first
        fail_release.open();
        int caught = 0;
        for (auto* l : {&first, &second}) {
            try {
                l->get();
            } catch (const std::runtime_error&) {
                ++caught;
            }
        }
        return caught;
    },
    desync::share_results);
DESYNC_FN(
    two_unread_failures,
    [](int v) {
        failing_leaf(v);
        fail_entered.wait();
        failing_leaf(v);
        fail_release.open();
    },
    desync::share_results);

TEST_CASE("share_results: a shared failure is reported once to each caller", "[memo][share]") {
    fail_runs = 0;
    REQUIRE(two_failures(1).get() == 2);
    REQUIRE(fail_runs == 1);
    fail_entered.reset(), fail_release.reset();
    fail_runs = 0;
    try {
        two_unread_failures(2).get();
        FAIL("the join reported nothing");
    } catch (const desync::exception_list& all) {
        REQUIRE(all.size() == 2);  // two calls failed, one ran
    }
    REQUIRE(fail_runs == 1);
}

// A call whose input is still running when it is made: its key waits for the input's value.
// (Keyed at once, it hashed whatever the input's storage held: with the memory of an earlier
// call reused, leaf(held(7)) was served leaf(5)'s result.)
desync::test::gate input_release;
std::atomic<int> times_ten_runs{0};
DESYNC_FN(held, [](int v) {
    input_release.wait();
    return v;
});
DESYNC_FN(times_ten, [](int v) {
    ++times_ten_runs;
    return v * 10;
});
DESYNC_FN(
    late_inputs,
    [](int v) {
        int const first = times_ten(held(5));
        input_release.reset();
        auto second = times_ten(held(v));  // held(v) waits at the gate: no value yet
        input_release.open();
        return first * 1000 + second.get();
    },
    desync::share_results);
DESYNC_FN(direct_times_ten, [](int v) { return times_ten(v); });

TEST_CASE("share_results: a call with a running input is keyed by the input's value",
          "[memo][share]") {
    input_release.open();  // for held(5)
    times_ten_runs = 0;
    REQUIRE(late_inputs(7).get() == 50 * 1000 + 70);
    REQUIRE(times_ten_runs == 2);
    // Recorded under its own key: a tree given this cache finds times_ten(7) without running it.
    direct_times_ten.set_cache(late_inputs.get_cache());
    times_ten_runs = 0;
    REQUIRE(direct_times_ten(7).get() == 70);
    REQUIRE(times_ten_runs == 0);
}

inline desync::pool single_thread(1);
std::atomic<int> fib_runs{0};
DESYNC_DECLARE(shared_fib, long(int));
DESYNC_DEFINE(
    shared_fib,
    [](int n) -> long {
        ++fib_runs;
        if (n < 2) return n;
        auto a = shared_fib(n - 1);
        auto b = shared_fib(n - 2);
        return a + b;
    },
    desync::on(single_thread));
DESYNC_FN(
    fib_root, [](int n) { return shared_fib(n); }, desync::share_results);

TEST_CASE("share_results: overlapping recursion on a pool of one thread finishes",
          "[memo][share]") {
    fib_runs = 0;
    REQUIRE(fib_root(25).get() == 75025);
    REQUIRE(fib_runs <= 2 * 26);  // without sharing: 242785 calls
}

// ---- bounded tables

DESYNC_FN(lru_leaf, [](int v) {
    ++lru_runs;
    return v;
});
DESYNC_FN(lru_text, [](int v) {
    ++lru_runs;
    return std::string(100, static_cast<char>('a' + v));  // encodes to 108 bytes
});
DESYNC_FN(lru_root, [](std::vector<int> keys) {
    long sum = 0;
    for (int k : keys) sum += lru_leaf(k);  // one after the other: a known order of use
    return sum;
});
DESYNC_FN(lru_text_root, [](std::vector<int> keys) {
    std::size_t sum = 0;
    for (int k : keys) sum += lru_text(k).get().size();
    return sum;
});

// Runs 1, 2, 3; uses 1 again; then 4 must evict 2, the least recently used.
template <class Root>
void check_lru(const Root& root) {
    root(std::vector{1, 2, 3}).get();
    root.set_cache(root.get_cache());
    lru_runs = 0;
    root(std::vector{1}).get();
    root(std::vector{4}).get();
    REQUIRE(lru_runs == 1);
    REQUIRE(root.get_cache().size() == 3);
    root.set_cache(root.get_cache());
    lru_runs = 0;
    root(std::vector{1, 3, 4}).get();
    REQUIRE(lru_runs == 0);
    root(std::vector{2}).get();
    REQUIRE(lru_runs == 1);
}

TEST_CASE("a table bounded by entries evicts the least recently used", "[memo][lru]") {
    lru_root.set_cache_limit({.entries = 3});
    check_lru(lru_root);
}

TEST_CASE("a table bounded by bytes evicts the least recently used", "[memo][lru]") {
    lru_text_root.set_cache_limit({.entries = 0, .bytes = 350});  // three results of 108 bytes
    check_lru(lru_text_root);
}

TEST_CASE("a bound set after hits evicts what this run used least recently", "[memo][lru]") {
    lru_root.set_cache_limit({});
    lru_root.clear_cache();
    lru_root(std::vector{1, 2}).get();  // recorded: 1, then 2
    desync::cache const both = lru_root.get_cache();
    lru_root.clear_cache();
    lru_root.set_cache(both);  // installed: 1, then 2
    lru_runs = 0;
    lru_root(std::vector{1}).get();  // a hit on 1, while the table has no bound
    REQUIRE(lru_runs == 0);
    lru_root.set_cache_limit({.entries = 1});  // 1 was used, 2 only installed: 2 goes
    REQUIRE(lru_root.get_cache().size() == 1);
    lru_root(std::vector{1}).get();
    REQUIRE(lru_runs == 0);
    lru_root(std::vector{2}).get();
    REQUIRE(lru_runs == 1);
    lru_root.set_cache_limit({});
    lru_root.clear_cache();
}

DESYNC_FN(lru_pair, [](int v) { return lru_leaf(v).get() + lru_leaf(v + 1).get(); });
DESYNC_FN(lru_pair_root, [](int v) { return lru_pair(v).get(); });

TEST_CASE("a hit is more recent than the children it records", "[memo][lru]") {
    lru_pair_root.clear_cache();
    REQUIRE(lru_pair_root(10).get() == 21);  // recorded: lru_pair(10) and its two leaves
    desync::cache const all = lru_pair_root.get_cache();
    REQUIRE(all.size() == 3);
    lru_pair_root.clear_cache();
    lru_pair_root.set_cache(all);
    lru_runs = 0;
    REQUIRE(lru_pair_root(10).get() == 21);  // a hit, which records the leaves after it
    REQUIRE(lru_runs == 0);
    lru_pair_root.set_cache_limit({.entries = 1});  // the hit is what this run used last
    lru_pair_root.set_cache(lru_pair_root.get_cache());
    REQUIRE(lru_pair_root(10).get() == 21);
    REQUIRE(lru_runs == 0);
    lru_pair_root.set_cache_limit({});
    lru_pair_root.clear_cache();
}

DESYNC_FN(
    bounded_root,
    [](int n) {
        for (int i = 0; i < n; ++i) lru_leaf(100 + i).get();
    },
    desync::cache_limit{.entries = 4});
DESYNC_FN(unbounded_root, [](int first, int n) {
    for (int i = 0; i < n; ++i) lru_leaf(first + i).get();
});

TEST_CASE("desync::cache_limit bounds a function's table from the start", "[memo][lru]") {
    bounded_root(10);
    REQUIRE(bounded_root.get_cache().size() == 4);
    unbounded_root.set_cache(bounded_root.get_cache());
    lru_runs = 0;
    unbounded_root(106, 4);  // the four most recent
    REQUIRE(lru_runs == 0);
    unbounded_root(105, 1);
    REQUIRE(lru_runs == 1);
}

// ---- the cache value

DESYNC_FN(merge_v1, [](int x) { return stage_b(stage_a(x)); });
DESYNC_FN(merge_v2, [](int x) { return stage_c(stage_a(x)); });

TEST_CASE("caches are values: copies are independent, merge adds what is missing", "[memo]") {
    merge_v1(70).get();
    desync::cache a = merge_v1.get_cache();
    REQUIRE(a.size() == 2);
    desync::cache copy = a;
    copy.clear();
    REQUIRE(copy.empty());
    REQUIRE(a.size() == 2);
    merge_v2(71).get();
    desync::cache merged = a;
    merged.merge(merge_v2.get_cache());
    merged.merge(merge_v2.get_cache());  // nothing new the second time
    merged.merge(a);
    REQUIRE(merged.size() == 4);
    merge_v2.set_cache(merged);
    for (auto& r : stage_runs) r = 0;
    merge_v2(70).get();  // stage_a(70) from a; stage_c(140) runs
    merge_v2(71).get();  // both from merge_v2's own run
    REQUIRE(stage_runs[0] == 0);
    REQUIRE(stage_runs[2] == 1);
}

// ---- counting (while counting is on)

DESYNC_FN(counted_root, [](int v) { return slow_inc(slow_inc(v)); });

TEST_CASE("hits, misses and time saved are counted while counting is on", "[memo]") {
    desync::trace::count(true);
    auto before = slow_inc.counters();
    counted_root(80).get();
    counted_root.set_cache(counted_root.get_cache());
    counted_root(80).get();
    auto after = slow_inc.counters();
    desync::trace::count(false);
    REQUIRE(after.misses - before.misses == 2);
    REQUIRE(after.hits - before.hits == 2);
}

// ---- thread safety: caches installed and taken while calls run

DESYNC_FN(
    busy_root,
    [](int n) {
        long sum = 0;
        for (int i = 0; i < n; ++i) sum += lru_leaf(i % 50);
        return sum;
    },
    desync::share_results);

TEST_CASE("get_cache, set_cache and set_cache_limit are safe while calls run", "[memo][threads]") {
    std::atomic<bool> stop{false};
    std::thread meddler([&] {
        for (int i = 0; !stop; ++i) {
            busy_root.set_cache(busy_root.get_cache());
            busy_root.set_cache_limit({.entries = static_cast<std::size_t>(i % 3 == 0 ? 10 : 0)});
        }
    });
    for (int round = 0; round < 20; ++round) REQUIRE(busy_root(500).get() == 10 * 1225);
    stop = true;
    meddler.join();
}

namespace {
std::atomic<int> text_runs{0};
}
DESYNC_FN(text_length, [](const std::string& s) {
    ++text_runs;
    return s.size();
});
DESYNC_FN(measure_literal, [] { return text_length("abc"); });

TEST_CASE("a string literal given to a std::string parameter is memoized", "[memo]") {
    text_runs = 0;
    REQUIRE(measure_literal().get() == 3);
    measure_literal.set_cache(measure_literal.get_cache());
    REQUIRE(measure_literal().get() == 3);
    REQUIRE(text_runs == 1);  // kept as a std::string, so hashable: the second call hit
}

// ---- hits without the lock (detail/memo_quick.hpp): a small installed value is copied from a
// cell that probes only read; they must never see a value the table no longer holds.

namespace {
std::atomic<int> cell_base{0};  // the leaf's result depends on it, as on a changed callee
std::atomic<int> cell_runs{0};
std::atomic<int> cell_wrong{0};
}  // namespace

DESYNC_FN(cell_leaf, [](int v) {
    ++cell_runs;
    return v + cell_base.load();
});
// n hits on 8 keys; each value checked against what either installed cache holds.
DESYNC_FN(cell_sum, [](int n) {
    long sum = 0;
    for (int i = 0; i < n; ++i) {
        int const got = cell_leaf(i % 8).get();
        if (got - i % 8 != 1000 && got - i % 8 != 2000) ++cell_wrong;
        sum += got;
    }
    return sum;
});

namespace {
// The cache `root`(n) records, from nothing, when the leaves add `base`.
template <class Root>
desync::cache recorded_with(Root& root, int n, int base) {
    cell_base = base;
    root.clear_cache();
    root(n).get();
    return root.get_cache();
}
desync::cache cell_cache_with(int base) { return recorded_with(cell_sum, 8, base); }

// What `root`(n) gives twice (filling cells, then reading them) under the cache `root`(keys)
// records with base 1000, then twice under the one with base 2000, and how many leaf calls
// ran meanwhile (none should: a leaf that runs now adds 5000, which neither cache holds).
template <class Root>
auto under_each_cache(Root& root, int keys, int n) {
    desync::cache const a = recorded_with(root, keys, 1000);
    desync::cache const b = recorded_with(root, keys, 2000);
    cell_base = 5000;
    cell_runs = 0;
    cell_wrong = 0;
    root.set_cache(a);
    auto const first_a = root(n).get();
    auto const with_a = root(n).get();
    root.set_cache(b);
    auto const first_b = root(n).get();
    auto const with_b = root(n).get();
    CHECK(first_a == with_a);
    CHECK(first_b == with_b);
    return std::tuple{with_a, with_b, cell_runs.load()};
}
long cell_expected(int base, int n) { return long{base} * n + (n / 8) * 28; }
}  // namespace

TEST_CASE("quick hits follow set_cache, clear_cache and bounds", "[memo][quick]") {
    desync::cache const a = cell_cache_with(1000), b = cell_cache_with(2000);
    cell_base = 5000;  // a call that runs now returns what neither cache holds
    cell_runs = 0;
    cell_wrong = 0;
    cell_sum.set_cache(a);
    REQUIRE(cell_sum(800).get() == cell_expected(1000, 800));
    cell_sum.set_cache(b);  // the cells of a's values go with them
    REQUIRE(cell_sum(800).get() == cell_expected(2000, 800));
    REQUIRE(cell_runs == 0);
    REQUIRE(cell_wrong == 0);
    cell_sum.set_cache_limit({.entries = 100});  // bounded: hits stamp their use, under the lock
    REQUIRE(cell_sum(800).get() == cell_expected(2000, 800));
    REQUIRE(cell_runs == 0);
    cell_sum.set_cache_limit({});
    REQUIRE(cell_sum(800).get() == cell_expected(2000, 800));
    cell_sum.clear_cache();  // nothing installed: every call runs
    REQUIRE(cell_sum(800).get() == cell_expected(5000, 800));
    REQUIRE(cell_runs == 800);
    REQUIRE(cell_sum.get_cache().size() == 8);  // the calls were recorded
}

TEST_CASE("quick hits racing set_cache see only an installed value", "[memo][quick][threads]") {
    desync::cache const a = cell_cache_with(1000), b = cell_cache_with(2000);
    cell_base = 1000;  // a call that misses while a cache is being installed gives a's value
    cell_wrong = 0;
    cell_sum.set_cache(a);
    std::atomic<bool> stop{false};
    std::thread installer([&] {
        for (int i = 0; !stop; ++i) cell_sum.set_cache(i % 2 ? a : b);
    });
    for (int round = 0; round < 20; ++round) cell_sum(2000).get();
    stop = true;
    installer.join();
    REQUIRE(cell_wrong == 0);
    cell_sum.set_cache(b);
    REQUIRE(cell_sum(80).get() == cell_expected(2000, 80));
}

// A quick value whose argument does not pack into a word: its cell is named by the key.
DESYNC_FN(cell_named, [](std::string s) {
    ++cell_runs;
    return static_cast<int>(s.size()) + cell_base.load();
});
DESYNC_FN(cell_named_sum, [](int n) {
    long sum = 0;
    for (int i = 0; i < n; ++i) sum += cell_named(std::string(1 + i % 8, 'x')).get();
    return sum;
});

TEST_CASE("quick hits on keys named by their hash follow set_cache", "[memo][quick]") {
    auto const [with_a, with_b, runs] = under_each_cache(cell_named_sum, 8, 800);
    REQUIRE(with_a == cell_expected(1000, 800) + 800);
    REQUIRE(with_b == cell_expected(2000, 800) + 800);
    REQUIRE(runs == 0);
}

// Arguments in two words: a cell named by both, so calls that differ only in the second
// never share one.
DESYNC_FN(cell_pair, [](double x, double y) {
    ++cell_runs;
    return 1000 * x + y + cell_base.load();
});
DESYNC_FN(cell_pairs, [](int n) {
    double sum = 0;
    for (int i = 0; i < n; ++i) {
        double const x = i % 4, y = (i / 4) % 4;  // 16 pairs, (x, y) and (y, x) both among them
        double const got = cell_pair(x, y).get() - 1000 * x - y;
        if (got != 1000 && got != 2000) ++cell_wrong;
        sum += got;
    }
    return sum;
});

TEST_CASE("quick hits on arguments in two words follow set_cache", "[memo][quick]") {
    auto const [with_a, with_b, runs] = under_each_cache(cell_pairs, 16, 800);
    REQUIRE(with_a == 1000.0 * 800);
    REQUIRE(with_b == 2000.0 * 800);
    REQUIRE(runs == 0);
    REQUIRE(cell_wrong == 0);
}

TEST_CASE("quick cells: inputs that differ only in their top bits get cells of their own",
          "[memo][quick]") {
    using namespace desync::detail;
    quick_cells cells;
    std::vector<quick_inputs> inputs;
    for (int i = 0; i < 8; ++i) {  // 0.0, 1.0, ..., 7.0: the low 48 bits are all 0
        std::uint64_t const bits = std::bit_cast<std::uint64_t>(double(i));
        inputs.push_back({42, 7, bits, bits});
    }
    for (std::size_t i = 0; i < inputs.size(); ++i)
        REQUIRE(cells.fill(inputs[i], desync::hash128{i + 1, 0}, i,
                           static_cast<std::uint32_t>(i + 10), 0) != 0);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        quick_bytes out = 0;
        desync::hash128 key;
        std::uint32_t deps = 0;
        CHECK(cells.read(inputs[i], out, key, deps));  // a fifth key on a set of 4 evicts one
        CHECK(out == i);
        CHECK(key.low == i + 1);
        CHECK(deps == i + 10);
    }
}

// Many keys: the cells are replaced by larger ones several times while hits go on.
DESYNC_FN(cell_wide, [](int n) {
    long sum = 0;
    for (int i = 0; i < n; ++i) sum += cell_leaf(i).get() + cell_leaf(i).get();
    return sum;
});

TEST_CASE("quick hits stay right while the cells grow", "[memo][quick]") {
    static constexpr int keys = 5000;
    auto expected = [](int base) { return 2 * (long{base} * keys + long{keys} * (keys - 1) / 2); };
    auto const [with_a, with_b, runs] = under_each_cache(cell_wide, keys, keys);
    REQUIRE(with_a == expected(1000));
    REQUIRE(with_b == expected(2000));
    REQUIRE(runs == 0);
}

// n hits on n keys, each checked against what either installed cache holds.
DESYNC_FN(cell_wide_checked, [](int n) {
    for (int i = 0; i < n; ++i) {
        int const got = cell_leaf(i).get();
        if (got - i != 1000 && got - i != 2000) ++cell_wrong;
    }
});

TEST_CASE("quick hits racing set_cache while the cells grow see only installed values",
          "[memo][quick][threads]") {
    static constexpr int keys = 3000;
    desync::cache const a = recorded_with(cell_wide_checked, keys, 1000);
    desync::cache const b = recorded_with(cell_wide_checked, keys, 2000);
    cell_base = 1000;
    cell_wrong = 0;
    std::atomic<bool> stop{false};
    std::thread installer([&] {
        for (int i = 0; !stop; ++i) cell_wide_checked.set_cache(i % 2 ? a : b);
    });
    for (int round = 0; round < 10; ++round) cell_wide_checked(keys).get();
    stop = true;
    installer.join();
    REQUIRE(cell_wrong == 0);
}

// A hit from a cell inside a memoizable body is one of its children, as a locked hit is: a
// later hit on that body records it.
namespace {
std::atomic<int> kid_runs{0};
}
DESYNC_FN(cell_kid, [](int v) {
    ++kid_runs;
    return 2 * v;
});
DESYNC_FN(cell_mid, [](int m) {
    int s = m;
    for (int i = 0; i < 8; ++i) s += cell_kid(i);
    return s;
});
// n >= 0: mid(n), whose kids are first hits (locked, filling cells), then mid(n + 1000), whose
// kids come from cells. n < 0: mid(-n) alone.
DESYNC_FN(cell_top, [](int n) {
    if (n < 0) return cell_mid(-n).get();
    return cell_mid(n).get() + cell_mid(n + 1000).get();
});

TEST_CASE("a hit from a cell is recorded as a child of the body that made it", "[memo][quick]") {
    cell_top.clear_cache();
    cell_top(0).get();
    cell_top.set_cache(cell_top.get_cache());
    kid_runs = 0;
    REQUIRE(cell_top(1).get() == 1 + 56 + 1001 + 56);
    REQUIRE(kid_runs == 0);
    desync::cache const second = cell_top.get_cache();  // mids 0, 1000, 1, 1001, the 8 kids
    REQUIRE(second.size() == 12);
    cell_top.clear_cache();
    cell_top.set_cache(second);
    REQUIRE(cell_top(-1001).get() == 1001 + 56);
    // The hit on mid(1001) recorded its subtree: the kids its body got from cells.
    REQUIRE(cell_top.get_cache().size() == 9);
}

std::atomic<int> many_runs{0};
DESYNC_FN(many_leaf, [](int v) {
    ++many_runs;
    return v + 7;
});
// 3n calls over n keys (n coprime with 7), each key once a round, in a different order each.
DESYNC_FN(many_body, [](int n) {
    long s = 0;
    for (int round = 0; round < 3; ++round)
        for (int i = 0; i < n; ++i) s += many_leaf((i * 7 + round) % n).get();
    return s;
});
DESYNC_FN(many_root, [](int n) { return many_body(n).get(); });

TEST_CASE("a body that makes many calls records each of its keys, once", "[memo]") {
    many_root.clear_cache();
    many_root(300).get();  // the leaves run: 900 calls
    REQUIRE(many_runs == 900);
    desync::cache const first = many_root.get_cache();  // many_body(300) and 300 leaves
    REQUIRE(first.size() == 301);
    many_root.clear_cache();
    many_root.set_cache(first);
    many_root(299).get();  // a new body, whose 897 calls hit (from cells)
    REQUIRE(many_runs == 900);
    desync::cache const second = many_root.get_cache();  // many_body(299) and 299 leaves
    REQUIRE(second.size() == 300);
    many_root.clear_cache();
    many_root.set_cache(second);
    many_root(299).get();  // a hit, which records the children its body kept
    REQUIRE(many_runs == 900);
    REQUIRE(many_root.get_cache().size() == 300);
    many_root.clear_cache();
    many_root.set_cache(first);
    many_root(300).get();
    REQUIRE(many_root.get_cache().size() == 301);
}

// ---- keys of scalar arguments, packed in registers (detail/memo_key.hpp)

namespace {
enum class colour : std::uint8_t { red, green = 200 };

template <class... K>
bool packed_equals_streamed(std::uint64_t callee, const K&... values) {
    static_assert(desync::detail::packed_key_v<K...>);
    return desync::detail::memo_key<int, K...>(callee, values...) ==
           desync::detail::memo_key_streamed<int, K...>(callee, values...);
}
}  // namespace

TEST_CASE("keys packed in registers equal keys hashed from a stream", "[memo][key]") {
    for (std::uint64_t callee : {0ull, 1ull, 0x9E3779B97F4A7C15ull, ~0ull}) {
        CHECK(packed_equals_streamed(callee, 7));
        CHECK(packed_equals_streamed(callee, -1, 'x', true, false));
        CHECK(packed_equals_streamed(callee, std::int16_t{-300}, 2.5, colour::green));
        CHECK(packed_equals_streamed(callee, 1.0f, std::uint64_t{1} << 63, 'a', 'b', 'c'));
        CHECK(packed_equals_streamed(callee, 1, 2, 3, 4, 5, 6, 7, 8, 9));
        // 16 + 112 bytes: the largest packed key
        CHECK(packed_equals_streamed(callee, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0,
                                     11.0, 12.0, 13.0, 14.0));
    }
    static_assert(!desync::detail::packed_key_v<double, double, double, double, double, double,
                                                double, double, double, double, double, double,
                                                double, double, double>);  // 136 bytes
    static_assert(!desync::detail::packed_key_v<std::string>);
    static_assert(!desync::detail::packed_key_v<>);
}

// ---- a million results: the table's invariants at scale (counted, never timed). Under the
// sanitizers and unoptimized (the clang preset's -O0), which make each call 5-50 times slower,
// the same tests run at 100,000; the dev preset (-O1) runs them at a million.

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(__OPTIMIZE__)
constexpr long scale = 100000;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr long scale = 100000;
#else
constexpr long scale = 1000000;
#endif
#else
constexpr long scale = 1000000;
#endif

std::vector<std::atomic<std::uint8_t>> scale_runs(scale);

long scale_value(long i) { return i * 7919 % 1000003 - i; }

DESYNC_FN(scale_leaf, [](long i) {
    scale_runs[static_cast<std::size_t>(i)].fetch_add(1);
    return scale_value(i);
});
// Calls 0 .. n-1, 1000 at a time; returns how many values were wrong.
DESYNC_FN(scale_sweep, [](long n) {
    long wrong = 0;
    std::vector<desync::lazy<long>> batch;
    for (long first = 0; first < n; first += 1000) {
        batch.clear();
        for (long i = first; i < first + 1000 && i < n; ++i) batch.push_back(scale_leaf(i));
        for (long i = first; i < first + 1000 && i < n; ++i)
            wrong += batch[static_cast<std::size_t>(i - first)].get() != scale_value(i);
    }
    return wrong;
});
// The same calls one after another: each is recorded before the next starts.
DESYNC_FN(scale_in_order, [](long n) {
    long wrong = 0;
    for (long i = 0; i < n; ++i) wrong += scale_leaf(i).get() != scale_value(i);
    return wrong;
});

long scale_total_runs() {
    long total = 0;
    for (auto& r : scale_runs) total += r.exchange(0);
    return total;
}

}  // namespace

TEST_CASE("a table's map keeps a million keys through inserts, erasures and rebuilds",
          "[memo][scale]") {
    struct slot {
        desync::hash128 key;
        long value = 0;
    };
    desync::detail::memo_map<slot> map;
    auto key = [](long i) {
        return desync::hash128{desync::xxh3_64(std::to_string(i)), 0x51 + std::uint64_t(i)};
    };
    long made = 0;
    for (long i = 0; i < scale; ++i) {
        auto [s, fresh] = map.try_emplace(key(i));
        made += fresh;
        s->value = i;
    }
    CHECK(made == scale);
    CHECK(map.size() == std::size_t(scale));
    CHECK_FALSE(map.try_emplace(key(5)).second);
    long found = 0;
    for (long i = 0; i < scale; ++i) {
        const slot* s = map.find(key(i));
        found += s && s->value == i && s->key == key(i);
    }
    CHECK(found == scale);
    for (long i = 0; i < scale; i += 3) map.erase(map.find(key(i)));  // a third goes
    map.retain_if([](const slot& s) { return s.value % 3 != 1; });    // and a third more
    long right = 0;
    for (long i = 0; i < scale; ++i) {
        const slot* s = map.find(key(i));
        right += (i % 3 == 2) ? (s && s->value == i) : (s == nullptr);
    }
    CHECK(right == scale);
    CHECK(map.size() == std::size_t(scale / 3));
    for (long i = 0; i < scale; i += 3) map.try_emplace(key(i)).first->value = -i;  // reused
    CHECK(map.size() == std::size_t(scale / 3 + (scale + 2) / 3));
    long seen = 0;
    map.for_each([&](const desync::hash128& k, slot& s) {
        seen += (k == s.key) && (s.value <= 0 || s.value % 3 == 2);
    });
    CHECK(seen == long(map.size()));
    map.retain_if([](const slot&) { return false; });
    CHECK(map.size() == 0);
    CHECK(map.find(key(2)) == nullptr);
}

TEST_CASE("a million results: counted, all hit again, and saved and loaded entry by entry",
          "[memo][scale]") {
    scale_sweep.clear_cache();
    scale_total_runs();
    REQUIRE(scale_sweep(scale).get() == 0);
    CHECK(scale_total_runs() == scale);
    desync::cache const made = scale_sweep.get_cache();
    CHECK(made.size() == std::size_t(scale));

    scale_sweep.clear_cache();
    scale_sweep.set_cache(made);
    REQUIRE(scale_sweep(scale).get() == 0);  // every value right
    CHECK(scale_total_runs() == 0);          // and none computed

    desync::test::temp_dir dir;
    made.save(dir / "million.cache");
    desync::cache const loaded = desync::cache::load(dir / "million.cache");
    CHECK(loaded.size() == std::size_t(scale));
    CHECK(loaded.dropped() == 0);
    scale_sweep.clear_cache();
    scale_sweep.set_cache(loaded);
    REQUIRE(scale_sweep(scale).get() == 0);  // each loaded record decodes to its own value
    CHECK(scale_total_runs() == 0);
    CHECK(scale_sweep.get_cache().size() == std::size_t(scale));  // the hits are recorded
    scale_sweep.clear_cache();
}

TEST_CASE("a bounded table of a million results keeps exactly the most recent ones",
          "[memo][scale][lru]") {
    std::size_t const bound = std::size_t(scale) / 4;
    scale_in_order.clear_cache();
    scale_in_order.set_cache_limit({.entries = bound});
    scale_total_runs();
    REQUIRE(scale_in_order(scale).get() == 0);
    CHECK(scale_total_runs() == scale);
    desync::cache const kept = scale_in_order.get_cache();
    // Over its bound, a table evicts the least recently used down to 15/16 of it.
    CHECK(kept.size() <= bound);
    CHECK(kept.size() >= bound - bound / 16);

    // Installed in an unbounded table, what was kept answers exactly the last calls made.
    scale_in_order.set_cache_limit({});
    scale_in_order.clear_cache();
    scale_in_order.set_cache(kept);
    REQUIRE(scale_in_order(scale).get() == 0);
    long const first_kept = scale - long(kept.size());
    long ran_below = 0, ran_above = 0;
    for (long i = 0; i < scale; ++i) {
        int const runs = scale_runs[std::size_t(i)].exchange(0);
        (i < first_kept ? ran_below : ran_above) += runs;
    }
    CHECK(ran_below == first_kept);  // each evicted call ran once more
    CHECK(ran_above == 0);           // each kept one hit
    scale_in_order.clear_cache();
}

TEST_CASE("hits on installed results race calls that record new ones in the same table",
          "[memo][scale][threads]") {
    long const n = scale / 10;
    scale_sweep.clear_cache();
    REQUIRE(scale_sweep(n).get() == 0);
    desync::cache const half = scale_sweep.get_cache();
    scale_sweep.set_cache(half);
    scale_total_runs();
    // Two roots of one table at once: one hits the installed keys, the other records new ones
    // (scale_sweep(2n) hits 0..n-1 and computes n..2n-1), so both grow and probe one map.
    long wrong_a = -1, wrong_b = -1;
    std::thread a([&] { wrong_a = scale_sweep(n).get(); });
    std::thread b([&] { wrong_b = scale_sweep(2 * n).get(); });
    a.join();
    b.join();
    CHECK(wrong_a == 0);
    CHECK(wrong_b == 0);
    long ran_low = 0, ran_high = 0;
    for (long i = 0; i < 2 * n; ++i)
        (i < n ? ran_low : ran_high) += scale_runs[std::size_t(i)].exchange(0);
    CHECK(ran_low == 0);
    CHECK(ran_high == n);  // sweep(n) never calls them; sweep(2n) once each
    CHECK(scale_sweep.get_cache().size() == std::size_t(2 * n));
    scale_sweep.clear_cache();
}

TEST_CASE("a result's origin is shared exactly by results of the same function, type and run",
          "[memo][value]") {
    namespace d = desync::detail;
    const d::dep_set* const none = nullptr;
    const d::dep_set* const other = d::unverifiable_deps();
    const d::value_ops* const plain = &d::value_ops_of<long, false>::ops;
    auto origin = [&](std::uint64_t callee, const d::dep_set* deps) {
        return d::origin_of(&d::type_tag<long>, plain, callee, deps);
    };
    const d::value_origin* const first = origin(1, none);
    CHECK(origin(1, none) == first);
    CHECK(origin(2, none) != first);
    CHECK(origin(1, other) != first);
    CHECK(d::origin_of(&d::type_tag<int>, &d::value_ops_of<int, false>::ops, 1, none) != first);
    CHECK(d::origin_of(&d::type_tag<long>, &d::value_ops_of<long, true>::ops, 1, none) != first);
    // More origins than a thread remembers, so that the shared set answers; and another thread.
    for (std::uint64_t f = 10; f < 20; ++f) (void)origin(f, none);
    CHECK(origin(1, none) == first);
    const d::value_origin* elsewhere = nullptr;
    std::thread([&] { elsewhere = origin(1, none); }).join();
    CHECK(elsewhere == first);

    // What results made with them say.
    d::value_ptr const a = d::make_result<long>(d::key_list{}, other, 1, 1000, 8, 5L);
    desync::hash128 const child{7, 8};
    d::value_ptr const parent =
        d::make_result<long>(d::key_list(std::span(&child, 1)), none, 2, 3000, 8, 6L);
    d::value_ptr const nothing = d::make_result<void>(d::key_list{}, none, 3, 2000, 0);
    CHECK(a->callee() == 1);
    CHECK(a->deps() == other);
    CHECK(a->tag() == &d::type_tag<long>);
    CHECK(a->type() == d::result_type_id<long>);
    CHECK(a->children().empty());
    CHECK(a->duration_ns() == 1000);
    CHECK(static_cast<const d::typed_value<long>&>(*a).value == 5);
    REQUIRE(parent->children().size() == 1);
    CHECK(parent->children()[0] == child);
    CHECK(static_cast<const d::typed_value<long>&>(*parent).value == 6);
    CHECK(nothing->tag() == &d::type_tag<void>);
    CHECK(nothing->callee() == 3);
    std::string encoded;
    CHECK(parent->encode(encoded));
    CHECK(!encoded.empty());
}
