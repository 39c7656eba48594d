// Calls, lazies, structured join, exceptions, dataflow: every property proven structurally
// (meetings, counts, recorded orders), never by timing.

#include <desync/desync.hpp>

#include "support/catch.hpp"
#include "support/meeting.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace std::chrono_literals;

// Two compute threads whatever the machine, so overlap tests do not depend on the core count.
static const bool configured = (desync::configure({.compute_threads = 2}), true);

namespace {

desync::test::meeting pair_meeting(2);
std::atomic<int> side_effects{0};

}  // namespace

DESYNC_FN(
    meet, [](int) { return pair_meeting.arrive_and_wait(); }, desync::uncached);
DESYNC_FN(
    meet_twice,
    [] {
        auto first = meet(1);
        auto second = meet(2);  // both calls are made before either is read
        return first.get() && second.get();
    },
    desync::uncached);

TEST_CASE("two calls of one body overlap: they meet and both return", "[calls]") {
    REQUIRE(configured);
    pair_meeting.reset(2);
    REQUIRE(meet_twice().get());
}

DESYNC_FN(
    inner, [](int) { ++side_effects; }, desync::uncached);
DESYNC_FN(
    loop_calls,
    [](int n) {
        for (int i = 0; i < n; ++i) {
            if (i % 3 == 0)
                inner(i);  // in a branch
            else if (i % 3 == 1) {
                inner(i);
            }  // in another
            else
                inner(i);
        }
    },
    desync::uncached);

TEST_CASE("every call of a loop has run when the caller continues", "[calls][join]") {
    side_effects = 0;
    loop_calls(1000);  // a root call as a statement completes before the next statement
    REQUIRE(side_effects == 1000);
}

DESYNC_FN(
    nested_loops,
    [] {
        for (int i = 0; i < 10; ++i) loop_calls(100);
    },
    desync::uncached);

TEST_CASE("calls join in their own scope, nested", "[calls][join]") {
    side_effects = 0;
    nested_loops().get();
    REQUIRE(side_effects == 1000);
}

DESYNC_FN(inc, [](int v) { return v + 1; });
DESYNC_FN(step, [](int v) { return inc(v); });
DESYNC_FN(twice_inc, [](int v) { return inc(inc(v)); });

TEST_CASE("a body that returns a lazy yields its value", "[calls][lazy]") {
    static_assert(std::is_same_v<decltype(step(1)), desync::lazy<int>>);
    REQUIRE(step(1).get() == 2);
    int converted = twice_inc(1);
    REQUIRE(converted == 3);
}

TEST_CASE("lazy copies share one result", "[lazy]") {
    auto a = inc(1);
    auto b = a;
    REQUIRE(&a.get() == &b.get());
    REQUIRE(*b == 2);
    REQUIRE(a.ready());
    desync::lazy<int> empty;
    REQUIRE_FALSE(empty.valid());
    REQUIRE_THROWS_AS(empty.get(), desync::error);
}

const std::string& longest(const std::vector<std::string>& words) {
    return *std::max_element(words.begin(), words.end(),
                             [](const auto& a, const auto& b) { return a.size() < b.size(); });
}

TEST_CASE("a callable that returns a reference gives a lazy of a copy", "[lazy]") {
    auto f = desync::desync(&longest);
    auto l = f(std::vector<std::string>{"a", "abc", "ab"});
    static_assert(std::is_same_v<decltype(l), desync::lazy<std::string>>);
    REQUIRE(l.get() == "abc");
}

struct point {
    int x, y;
};
DESYNC_FN(make_point, [](int x) { return point{x, x + 1}; });

TEST_CASE("operator-> and operator* read the value", "[lazy]") {
    auto p = make_point(4);
    REQUIRE(p->y == 5);
    REQUIRE((*p).x == 4);
}

// --- exceptions: rethrown where read, or at the join; exactly once

DESYNC_FN(fail, [](int code) -> int { throw std::runtime_error("fail " + std::to_string(code)); });
DESYNC_FN(read_failure, [] {
    try {
        return fail(1).get();
    } catch (const std::runtime_error&) {
        return -1;  // handled where read: the join must not rethrow it
    }
});
DESYNC_FN(
    ignore_failure, [] { fail(2); }, desync::uncached);
DESYNC_FN(
    ignore_two_failures,
    [] {
        fail(3);
        fail(4);
    },
    desync::uncached);

TEST_CASE("an error read in the body is not reported again at its join", "[errors]") {
    REQUIRE(read_failure().get() == -1);
}

TEST_CASE("an unread error is rethrown by the body at its join", "[errors]") {
    REQUIRE_THROWS_WITH(ignore_failure().get(), "fail 2");
}

TEST_CASE("several unread errors all surface, in call order", "[errors]") {
    try {
        ignore_two_failures().get();
        FAIL("no exception");
    } catch (const desync::exception_list& list) {
        REQUIRE(list.size() == 2);
        REQUIRE_THROWS_WITH(std::rethrow_exception(list.errors()[0]), "fail 3");
        REQUIRE_THROWS_WITH(std::rethrow_exception(list.errors()[1]), "fail 4");
    }
}

TEST_CASE("a root call's unread error is thrown when its lazy is dropped", "[errors]") {
    REQUIRE_THROWS_WITH(fail(5), "fail 5");
    int caught = 0;
    try {
        auto l = fail(6);
        try {
            l.get();
        } catch (const std::runtime_error&) {
            ++caught;
        }
    } catch (...) {
        FAIL("reported twice");
    }
    REQUIRE(caught == 1);
}

TEST_CASE("a root call's error met during stack unwinding is reported, not terminate()",
          "[errors]") {
    int caught = 0;
    try {
        auto unread = fail(10);
        throw std::logic_error("another error");  // unwinding destroys `unread`
    } catch (const std::logic_error&) {
        ++caught;
    }
    REQUIRE(caught == 1);  // still running: the root error went to stderr instead
}

DESYNC_FN(use_failed_input, [] { return inc(fail(7)); });

TEST_CASE("a failed input fails the dependent call, reported once", "[errors][dataflow]") {
    int seen = 0;
    try {
        use_failed_input().get();
    } catch (const std::runtime_error& e) {
        REQUIRE(std::string(e.what()) == "fail 7");
        ++seen;
    }
    REQUIRE(seen == 1);
}

// --- dataflow: a lazy argument is an edge; the callee starts when it is ready

namespace {
desync::test::gate input_gate;
std::atomic<int> plus_one_started{0};
}  // namespace

DESYNC_FN(
    gated, [] { return input_gate.wait() ? 41 : -1; }, desync::uncached, desync::blocking);
DESYNC_FN(
    plus_one,
    [](int v) {
        ++plus_one_started;
        return v + 1;
    },
    desync::uncached);

TEST_CASE("a lazy argument is a dataflow edge that blocks no thread", "[dataflow]") {
    desync::pool one(1);
    static auto plus_one_here = desync::desync(
        [](int v) {
            ++plus_one_started;
            return v + 1;
        },
        desync::on(one));
    static auto other = desync::desync([] { return 7; }, desync::on(one));
    input_gate.reset();
    plus_one_started = 0;
    auto a = gated();
    auto b = plus_one_here(a);
    // The only thread of `one` is free while b waits for its input: another call completes.
    REQUIRE(other().get() == 7);
    REQUIRE(plus_one_started == 0);
    REQUIRE_FALSE(b.ready());
    input_gate.open();
    REQUIRE(b.get() == 42);
    REQUIRE(plus_one_started == 1);
}

TEST_CASE("a root call handed on as an input does not wait at the end of its statement",
          "[dataflow][root]") {
    input_gate.reset();
    auto b = plus_one(gated());  // gated() is a root temporary: plus_one waits for it, not ';'
    input_gate.open();           // reached only because the statement above did not block
    REQUIRE(b.get() == 42);
    auto c = gated().then([](int v) { return v * 2; });
    REQUIRE(c.get() == 82);
}

// --- recursion and deep chains on a pool of one thread (claiming, bounded stacks)

namespace {

#if defined(__SANITIZE_ADDRESS__)
#define DESYNC_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DESYNC_TEST_ASAN 1
#endif
#endif

// AddressSanitizer's redzones make each frame four to five times larger (about 2 KiB per
// level of a chain here instead of about 450 bytes at -O1), so under ASan the pool below gets
// 32 MiB stacks. Unsanitized builds prove the chain on the default 8 MiB.
bool sized_stacks() {
#ifdef DESYNC_TEST_ASAN
    pthread_attr_t attr;
    pthread_getattr_default_np(&attr);
    pthread_attr_setstacksize(&attr, 32u << 20);
    pthread_setattr_default_np(&attr);
    pthread_attr_destroy(&attr);
#endif
    return true;
}
const bool stacks_sized = sized_stacks();
desync::pool single(1);

}  // namespace

DESYNC_DECLARE(fib1, long(int));
DESYNC_DEFINE(
    fib1,
    [](int n) -> long {
        if (n < 2) return n;
        auto a = fib1(n - 1);
        auto b = fib1(n - 2);
        return a + b;
    },
    desync::uncached, desync::on(single));

DESYNC_DECLARE(chain1, long(int));
DESYNC_DEFINE(
    chain1, [](int n) -> long { return n == 0 ? 0 : chain1(n - 1).get() + 1; }, desync::uncached,
    desync::on(single));

TEST_CASE("fib(25) finishes on a pool of one thread", "[recursion]") {
    REQUIRE(fib1(25).get() == 75025);
}

TEST_CASE("a 10,000-deep chain of calls finishes on a pool of one thread", "[recursion]") {
    REQUIRE(stacks_sized);
    REQUIRE(chain1(10000).get() == 10000);
}

namespace {
boost::asio::thread_pool asio_single(1);
}

DESYNC_DECLARE(fib_asio, long(int));
DESYNC_DEFINE(
    fib_asio,
    [](int n) -> long {
        if (n < 2) return n;
        auto a = fib_asio(n - 1);
        auto b = fib_asio(n - 2);
        return a + b;
    },
    desync::uncached, desync::on(asio_single));

TEST_CASE("fib on one thread of a plain Asio thread_pool (one post per call)",
          "[recursion][asio]") {
    REQUIRE(fib_asio(20).get() == 6765);
}

// --- user executors: an io_context run by the test, and a strand

TEST_CASE("calls run on a user's io_context, and errors never escape into run()", "[asio]") {
    boost::asio::io_context ctx;
    auto work = boost::asio::make_work_guard(ctx);
    std::thread runner([&] { ctx.run(); });
    std::thread::id ran_on;
    auto on_ctx = desync::desync(
        [&](int v) {
            ran_on = std::this_thread::get_id();
            return v * 2;
        },
        desync::on(ctx));
    auto throws_on_ctx =
        desync::desync([](int) -> int { throw std::logic_error("ctx"); }, desync::on(ctx));
    REQUIRE(on_ctx(21).get() == 42);
    REQUIRE(ran_on == runner.get_id());
    REQUIRE_THROWS_WITH(throws_on_ctx(1).get(), "ctx");
    work.reset();
    runner.join();  // run() returned normally: no exception escaped into a handler
}

TEST_CASE("calls on a strand never overlap", "[asio]") {
    boost::asio::thread_pool threads(4);
    auto strand = boost::asio::make_strand(threads);
    std::atomic<int> inside{0}, peak{0};
    auto serial = desync::desync(
        [&](int) {
            int now = ++inside;
            int seen = peak.load();
            while (now > seen && !peak.compare_exchange_weak(seen, now)) {
            }
            std::this_thread::yield();
            --inside;
        },
        desync::on(strand));
    auto many = desync::desync([&] {
        for (int i = 0; i < 200; ++i) serial(i);
    });
    many().get();
    REQUIRE(peak == 1);
    threads.join();
}

// --- plain callables, function objects, function pointers

int triple(int v) { return 3 * v; }
struct adder {
    int k;
    int operator()(int v) const { return v + k; }
};

TEST_CASE("desync() wraps lambdas, function pointers and function objects", "[desync]") {
    auto t = desync::desync(&triple);
    auto a = desync::desync(adder{10});
    auto l = desync::desync([](int v) { return v - 1; });
    REQUIRE(t(2).get() == 6);
    REQUIRE(a(t(2)).get() == 16);
    REQUIRE(l(a(1)).get() == 10);
}

TEST_CASE("configure() after the pools started is refused", "[pool]") {
    inc(1).get();
    REQUIRE_THROWS_AS(desync::configure({.compute_threads = 3}), desync::error);
}

// --- what a call costs

TEST_CASE("a pending call of a function of a word is one task of 120 bytes", "[cost]") {
    // What bench_memo's pending_call row measures: the call's one allocation, which the task
    // allocator's smallest class (120 bytes: a 128-byte heap chunk) holds. What only some calls
    // use (calls to come after, units, a distributed call's reply) is not in it.
    auto body = [](long v) { return v + 1; };
    using task = desync::detail::call_task<desync::detail::fn_invoker<decltype(body)>, long>;
    CHECK(sizeof(desync::detail::task_base) == 64);
    CHECK(sizeof(task) <= 120);
    // A desync function's invoker is made again from its state, not stored in each call.
    CHECK(desync::detail::invoker_from_core<desync::detail::fn_invoker<decltype(body)>>);
}
