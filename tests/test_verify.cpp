// What a memo key and a recorded run can see, within one process: qualified names, enums by
// meaning, and runs verified by what they called. Across builds, tests/variants/verify_program.cpp
// shows the same with real edits. Every property is proven by counting executions.

#include <unistd.h>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <desync/desync.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/files.hpp"

static const bool configured = (desync::configure({.compute_threads = 2}), true);

namespace {

std::atomic<int> runs{0};

/// Calls `root(arg)` once with nothing installed, installs what it recorded, and returns how
/// many bodies ran the second time.
template <class Root, class Arg>
int runs_again(const Root& root, Arg arg) {
    root.clear_cache();
    root(arg).get();
    root.set_cache(root.get_cache());
    runs = 0;
    root(arg).get();
    return runs.load();
}

}  // namespace

// ---- two functions of one name and one text in two namespaces are two functions

namespace x {
DESYNC_FN(leaf, [](int v) { return v + 1; });
DESYNC_FN(twin, [](int v) { return leaf(v).get() * 10; });
}  // namespace x
namespace y {
DESYNC_FN(leaf, [](int v) { return v + 2; });
DESYNC_FN(twin, [](int v) { return leaf(v).get() * 10; });
}  // namespace y
DESYNC_FN(
    both_twins, [](int v) { return x::twin(v).get() * 1000 + y::twin(v).get(); },
    desync::share_results);

TEST_CASE("twins in two namespaces are two functions, within one run too", "[verify]") {
    REQUIRE(configured);
    REQUIRE(x::twin.qualified_name() == "x::twin");
    REQUIRE(y::twin.qualified_name() == "y::twin");
    REQUIRE(x::twin.get_version().major_hash != y::twin.get_version().major_hash);
    both_twins.clear_cache();
    REQUIRE(both_twins(1).get() == 20030);  // 20 from x, 30 from y
    both_twins.set_cache(both_twins.get_cache());
    REQUIRE(both_twins(1).get() == 20030);
}

namespace {
DESYNC_FN(hidden_here, [](int v) { return v; });
}  // namespace

TEST_CASE("a function in an anonymous namespace is qualified by its file", "[verify]") {
    std::string const name = hidden_here.qualified_name();
    CHECK(name.find("hidden_here@test_verify.cpp") != std::string::npos);
    CHECK(name.find("anonymous") != std::string::npos);
}

TEST_CASE("a DESYNC_SOURCE function is qualified by the scope it is made in", "[verify]") {
    auto local = desync::desync(DESYNC_SOURCE([](int v) { return v * 2; }));
    std::string const name = local.qualified_name();
    CHECK(name.size() > 2);
    CHECK(name.ends_with("::"));  // no name of its own: the scope, a test function
    CHECK(local(4).get() == 8);
}

// ---- runs that called a function without a version are not recorded

int plain_double(int v) {
    ++runs;
    return v * 2;
}
inline const auto sourceless = desync::desync(&plain_double);
DESYNC_FN(calls_sourceless, [](int v) {
    ++runs;
    return sourceless(v).get() + 1;
});
DESYNC_FN(above_sourceless, [](int v) {
    ++runs;
    return calls_sourceless(v).get() + 1;
});
DESYNC_FN(sourceless_root, [](int v) { return above_sourceless(v).get(); });

TEST_CASE("a run that called a function without a source is not recorded, nor its callers'",
          "[verify]") {
    desync::trace::reset_counters();
    desync::trace::count(true);
    CHECK(runs_again(sourceless_root, 5) == 3);  // everything ran again
    desync::trace::count(false);
    CHECK(sourceless_root.get_cache().empty());
    CHECK(calls_sourceless.counters().not_recorded == 2);
    CHECK(above_sourceless.counters().not_recorded == 2);
}

TEST_CASE("a call that was not recorded is marked in the trace", "[verify]") {
    sourceless_root.clear_cache();
    desync::trace::start();
    sourceless_root(6).get();
    auto log = desync::trace::stop();
    int marked = 0;
    for (const desync::traced_call& c : log.calls()) {
        if (!c.not_recorded) continue;
        ++marked;
        CHECK((c.name == "calls_sourceless" || c.name == "above_sourceless"));
    }
    CHECK(marked == 2);
}

int plain_triple(int v) {
    ++runs;
    return v * 3;
}
inline constexpr int plain_triple_version = 1;
DESYNC_FN(versioned_triple, &plain_triple, desync::uses(plain_triple_version));
DESYNC_FN(calls_versioned, [](int v) {
    ++runs;
    return versioned_triple(v).get() + 1;
});
DESYNC_FN(versioned_root, [](int v) { return calls_versioned(v).get(); });

TEST_CASE("a function without a source given a version with uses can be verified", "[verify]") {
    CHECK(runs_again(versioned_root, 5) == 0);
}

DESYNC_FN(calls_async_and_then, [](int v) {
    ++runs;
    auto doubled = desync::async([](int w) { return w * 2; }, v);
    return doubled.then([](int w) { return w + 1; }).get();
});
DESYNC_FN(async_root, [](int v) { return calls_async_and_then(v).get(); });

TEST_CASE("desync::async and then are the body's own code: its run is recorded", "[verify]") {
    CHECK(runs_again(async_root, 5) == 0);
}

inline const auto with_state = [] {
    int factor = 4;
    return desync::desync(DESYNC_SOURCE([factor](int v) { return v * factor; }));
}();
DESYNC_FN(calls_stateful, [](int v) {
    ++runs;
    return with_state(v).get();
});
DESYNC_FN(stateful_root, [](int v) { return calls_stateful(v).get(); });

TEST_CASE("a run that called a function holding captured state is not recorded", "[verify]") {
    CHECK(runs_again(stateful_root, 5) == 1);
}

// An uncached function with a source passes what its calls called on to its caller.
int plain_inc(int v) { return v + 1; }
inline const auto sourceless_inc = desync::desync(&plain_inc);
DESYNC_FN(
    uncached_middle, [](int v) { return sourceless_inc(v).get(); }, desync::uncached);
DESYNC_FN(above_uncached, [](int v) {
    ++runs;
    return uncached_middle(v).get();
});
DESYNC_FN(uncached_root, [](int v) { return above_uncached(v).get(); });

TEST_CASE("what calls under an uncached call called counts for the memoizable call above",
          "[verify]") {
    CHECK(runs_again(uncached_root, 5) == 1);
}

// ---- a recorded result whose run called a function this build does not have is a miss

DESYNC_FN(inner_callee, [](int v) {
    ++runs;
    return v + 1;
});
DESYNC_FN(outer_caller, [](int v) {
    ++runs;
    return inner_callee(v).get() * 2;
});
DESYNC_FN(caller_root, [](int v) { return outer_caller(v).get(); });

TEST_CASE("a result whose run called a function unknown to this build is not served", "[verify]") {
    namespace cf = desync::detail::cache_format;
    using desync::detail::dep_entry;
    caller_root.clear_cache();
    REQUIRE(caller_root(3).get() == 8);
    auto file = desync::test::scratch_dir("verify") / "caller.cache";
    caller_root.get_cache().save(file);
    // Rewrite the file: outer_caller's run "called" a function of a hash no build has.
    auto const bytes = desync::test::read_all(file);
    std::string const all(bytes.begin(), bytes.end());
    std::vector<dep_entry> const foreign{{0x0123456789abcdefull, 1, 2}};
    std::uint64_t const id = desync::detail::dep_set::id_of(foreign);
    std::uint64_t const seed = cf::record_seed(cf::format_version, "");
    std::string out = all.substr(0, cf::make_header("").size());
    std::size_t const set_start = cf::begin_record(out, {{id, id}, cf::dep_set_type, 0, 0, 0}, {});
    out.append(reinterpret_cast<const char*>(foreign.data()), sizeof(dep_entry));
    cf::finish_record(out, set_start, seed);
    int rewritten = 0;
    for (std::size_t at = cf::make_header("").size(); at < all.size();) {
        cf::record_view const r{reinterpret_cast<const std::byte*>(all.data() + at)};
        at += r.size();
        if (r.type() == cf::dep_set_type) continue;
        bool const refers = r.deps_ref() > desync::detail::no_deps_ref;
        rewritten += refers;
        std::size_t const start = cf::begin_record(
            out, {r.key(), r.type(), r.duration_ns(), r.callee(), refers ? id : r.deps_ref()}, {});
        out.append(reinterpret_cast<const char*>(r.value().data()), r.value().size());
        cf::finish_record(out, start, seed);
    }
    REQUIRE(rewritten == 1);
    desync::test::write_all(file, out);
    desync::cache const c = desync::cache::load(file);
    REQUIRE(c.size() == 2);
    caller_root.set_cache(c);
    runs = 0;
    REQUIRE(caller_root(3).get() == 8);
    REQUIRE(runs == 1);  // outer_caller ran; inner_callee, which called nothing, hit
}

// ---- enums are keyed by what they mean

enum class small_mode { fast, slow };
DESYNC_FN(by_small_mode, [](small_mode m) {
    ++runs;
    return static_cast<int>(m) + 1;
});
DESYNC_FN(small_mode_root, [](int v) { return by_small_mode(static_cast<small_mode>(v)).get(); });

TEST_CASE("an enum's shape holds its enumerators: a value outside the range is not recorded",
          "[verify]") {
    using desync::detail::enum_meaning_id;
    static_assert(enum_meaning_id<small_mode>() != 0);
    CHECK(runs_again(small_mode_root, 1) == 0);    // slow: an enumerator
    CHECK(runs_again(small_mode_root, 100) == 0);  // in the range: its meaning is covered
    desync::trace::reset_counters();
    desync::trace::count(true);
    CHECK(runs_again(small_mode_root, 1000) == 1);  // outside: the key cannot see its meaning
    desync::trace::count(false);
    CHECK(by_small_mode.counters().not_recorded == 2);
}

enum class far_codes { first = 5000, second = 5001 };
template <>
struct desync::enum_range<far_codes> {
    static constexpr long long min = 4990;
    static constexpr long long max = 5010;
};
DESYNC_FN(by_far_code, [](far_codes c) {
    ++runs;
    return static_cast<int>(c);
});
DESYNC_FN(far_root, [](int v) { return by_far_code(static_cast<far_codes>(v)).get(); });

enum class account_id : std::uint64_t {};
template <>
struct desync::enum_range<account_id> {
    static constexpr bool values_only = true;
};
DESYNC_FN(by_account, [](account_id a) {
    ++runs;
    return static_cast<std::uint64_t>(a) % 7;
});
DESYNC_FN(account_root, [](std::uint64_t v) { return by_account(account_id{v}).get(); });

TEST_CASE("desync::enum_range widens or replaces what an enum's key covers", "[verify]") {
    CHECK(runs_again(far_root, 5001) == 0);
    CHECK(runs_again(account_root, std::uint64_t{1} << 40) == 0);
    CHECK(runs_again(far_root, 7000) == 1);
}

DESYNC_FN(small_mode_of, [](int v) {
    ++runs;
    return static_cast<small_mode>(v);
});
DESYNC_FN(mode_result_root, [](int v) { return static_cast<int>(small_mode_of(v).get()); });

TEST_CASE("an enum result outside the range is not recorded", "[verify]") {
    CHECK(runs_again(mode_result_root, 1) == 0);
    CHECK(runs_again(mode_result_root, 1000) == 1);
}

struct with_mode {
    int count;
    std::vector<small_mode> modes;
};
DESYNC_FN(modes_of, [](with_mode w) {
    ++runs;
    return static_cast<int>(w.modes.size()) + w.count;
});
DESYNC_FN(modes_root, [](int v) {
    return modes_of(with_mode{1, {small_mode::fast, static_cast<small_mode>(v)}}).get();
});

TEST_CASE("enums inside aggregates and vectors are checked too", "[verify]") {
    CHECK(runs_again(modes_root, 1) == 0);
    CHECK(runs_again(modes_root, 1000) == 1);
}

namespace {
enum class hidden_mode : std::uint8_t { red, green = 200 };
}  // namespace

TEST_CASE("enumerators of an enum in an anonymous namespace are read as such", "[verify]") {
    using desync::detail::unnamed_value;
    static_assert(desync::detail::enum_meaning_id<hidden_mode>() != 0);
    static_assert(unnamed_value("(ns::e)3") && unnamed_value("(ns::e)-12"));
    static_assert(!unnamed_value("ns::e::red") && !unnamed_value("(anonymous namespace)::e::v2"));
    static_assert(!unnamed_value("{anonymous}::e::red"));
}
