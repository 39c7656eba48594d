// Composition and interop: then, when_all / when_any, after, callbacks, batch, async / sync,
// Asio completion tokens, resources. Orders are recorded, overlaps proven by meetings, budgets
// by recorded peaks; nothing is timed.

#include <desync/desync.hpp>

#include "support/catch.hpp"
#include "support/meeting.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

static const bool configured = (desync::configure({.compute_threads = 2}), true);

namespace {

std::mutex log_mutex;
std::vector<std::string> log_lines;
void record(std::string s) {
    std::lock_guard lock(log_mutex);
    log_lines.push_back(std::move(s));
}
std::vector<std::string> take_log() {
    std::lock_guard lock(log_mutex);
    return std::exchange(log_lines, {});
}

}  // namespace

DESYNC_FN(square, [](int v) { return v * v; });
DESYNC_FN(fails, [](int v) -> int { throw std::runtime_error("fails " + std::to_string(v)); });

TEST_CASE("then chains continue with the value, flattened", "[then]") {
    REQUIRE(configured);
    auto l = square(3).then([](int v) { return v + 1; }).then([](int v) { return square(v); });
    static_assert(std::is_same_v<decltype(l), desync::lazy<int>>);
    REQUIRE(l.get() == 100);
    REQUIRE(square(2).then(square).get() == 16);  // a desync function continues as a call
}

TEST_CASE("an error skips value continuations and reaches the reader once", "[then][errors]") {
    std::atomic<int> ran{0};
    auto l = fails(1)
                 .then([&](int v) {
                     ++ran;
                     return v;
                 })
                 .then([&](int v) {
                     ++ran;
                     return v;
                 });
    REQUIRE_THROWS_WITH(l.get(), "fails 1");
    REQUIRE(ran == 0);
}

TEST_CASE("a callback that takes the lazy runs whatever the outcome", "[then][callbacks]") {
    auto seen = fails(2).then([](desync::lazy<int> done) {
        try {
            done.get();
            return std::string("value");
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
    });
    REQUIRE(seen.get() == "fails 2");
}

TEST_CASE("when_all gathers a tuple and a vector", "[when_all]") {
    auto t = desync::when_all(square(2), square(3), desync::async([] {}));
    auto [a, b, c] = t.get();
    REQUIRE(a == 4);
    REQUIRE(b == 9);
    (void)c;
    std::vector<desync::lazy<int>> many;
    for (int i = 0; i < 1000; ++i) many.push_back(square(i));
    auto all = desync::when_all(many).get();
    REQUIRE(all.size() == 1000);
    REQUIRE(all[999] == 999 * 999);
}

DESYNC_FN(gather_with_failures, [] {
    auto all = desync::when_all(fails(3), square(2), fails(4));
    return std::get<1>(all.get());
});

TEST_CASE("when_all fails with every input's error, reported exactly once", "[when_all][errors]") {
    int caught = 0;
    try {
        gather_with_failures().get();
    } catch (const desync::exception_list& list) {
        ++caught;
        REQUIRE(list.size() == 2);
        REQUIRE_THROWS_WITH(std::rethrow_exception(list.errors()[0]), "fails 3");
    }
    REQUIRE(caught == 1);
}

namespace {
desync::test::gate slow_gate;
}
DESYNC_FN(
    slow_value,
    [](int v) {
        slow_gate.wait();
        return v;
    },
    desync::uncached, desync::blocking);

TEST_CASE("when_any gives the first to finish, the rest still join", "[when_any]") {
    slow_gate.reset();
    auto slow = slow_value(1);
    auto fast = square(5);
    auto first = desync::when_any(slow, fast).get();
    REQUIRE(first.index == 1);
    REQUIRE(first.value == 25);
    REQUIRE_FALSE(slow.ready());
    slow_gate.open();
    REQUIRE(slow.get() == 1);
}

// semisync's dependencies: profit runs after revenue and expenses, which share no data with it.
namespace {
struct books {
    std::atomic<int> revenue{0}, expenses{0};
} ledger;
desync::test::meeting both_started(2);
}  // namespace

DESYNC_FN(
    revenue,
    [] {
        both_started.arrive_and_wait();
        record("revenue");
        ledger.revenue = 100;
    },
    desync::uncached);
DESYNC_FN(
    expenses,
    [] {
        both_started.arrive_and_wait();
        record("expenses");
        ledger.expenses = 30;
    },
    desync::uncached);
DESYNC_FN(
    profit,
    [] {
        record("profit");
        return ledger.revenue - ledger.expenses;
    },
    desync::uncached);

TEST_CASE("after() orders calls that share no data, without blocking a thread", "[after]") {
    take_log();
    both_started.reset(2);
    auto r = revenue();
    auto e = expenses();
    auto p = profit(desync::after(r, e));
    REQUIRE(p.get() == 70);  // revenue and expenses met, so they overlapped; profit came last
    auto log = take_log();
    REQUIRE(log.size() == 3);
    REQUIRE(log[2] == "profit");
}

TEST_CASE("a failed dependency fails the dependent without running it", "[after][errors]") {
    std::atomic<int> ran{0};
    auto f = fails(9);
    auto dependent = desync::async([&] { ++ran; }, desync::after(f));
    REQUIRE_THROWS_WITH(dependent.get(), "fails 9");
    REQUIRE(ran == 0);
}

TEST_CASE("a batch starts its calls together at begin()", "[batch]") {
    take_log();
    both_started.reset(2);
    std::atomic<int> callbacks{0};
    desync::batch calls;
    auto r = calls.add(revenue);
    auto e = calls.add(expenses);
    auto p = calls.add(profit, desync::after(r, e));
    // Kept, not discarded: outside any body, a discarded continuation would wait at the ';'
    // (a root call completes before the next statement), before begin() could run.
    auto callback = p.then([&](int) { ++callbacks; });
    REQUIRE(calls.size() == 3);
    REQUIRE(take_log().empty());  // nothing ran before begin()
    calls.begin().get();
    REQUIRE(p.get() == 70);
    callback.get();
    REQUIRE(callbacks == 1);
    REQUIRE(take_log().back() == "profit");
    REQUIRE(calls.size() == 0);
}

TEST_CASE("clear() cancels calls that have not begun, no join reports them", "[batch]") {
    std::atomic<int> ran{0};
    desync::lazy<void> dropped;
    {
        desync::batch calls;
        dropped = calls.add([&] { ++ran; });
        calls.clear();
    }
    REQUIRE_THROWS_AS(dropped.get(), desync::cancelled);
    auto body = desync::async([&] {
        desync::batch forgotten;
        forgotten.add([&] { ++ran; });
    });  // the batch is destroyed unbegun: its call is cancelled, and the body's join is clean
    REQUIRE_NOTHROW(body.get());
    REQUIRE(ran == 0);
}

// --- trulens' pair: async and sync of any callable

int plain(int v) { return v * 2; }
desync::lazy<int> returns_lazy(int v) { return square(v); }
std::future<int> returns_future(int v) {
    return std::async(std::launch::async, [v] { return v + 1; });
}
boost::asio::awaitable<int> coroutine(int v) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(1));
    co_await timer.async_wait(boost::asio::use_awaitable);
    co_return v * 3;
}

TEST_CASE("sync() returns the value of any callable", "[sync]") {
    REQUIRE(desync::sync(plain, 2) == 4);
    REQUIRE(desync::sync(returns_lazy, 3) == 9);
    REQUIRE(desync::sync(returns_future, 4) == 5);
    REQUIRE(desync::sync(coroutine, 5) == 15);
    REQUIRE(desync::sync(square(6)) == 36);
    REQUIRE(desync::async(plain, square(2)).get() == 8);
}

// --- Asio completion tokens

TEST_CASE("a lazy is co_awaited on a one-thread io_context without blocking it", "[asio]") {
    slow_gate.reset();
    boost::asio::io_context ctx;
    std::vector<std::string> order;
    auto slow = slow_value(7);
    boost::asio::co_spawn(
        ctx,
        [&]() -> boost::asio::awaitable<void> {
            int v = co_await slow.async_get(boost::asio::use_awaitable);
            order.push_back("awaited " + std::to_string(v));
        },
        boost::asio::detached);
    boost::asio::co_spawn(
        ctx,
        [&]() -> boost::asio::awaitable<void> {
            order.push_back("other coroutine ran");
            slow_gate.open();  // only possible if the first coroutine did not block the thread
            co_return;
        },
        boost::asio::detached);
    ctx.run();
    REQUIRE(order == std::vector<std::string>{"other coroutine ran", "awaited 7"});
}

TEST_CASE("async_get works with use_future, deferred and a plain callback", "[asio]") {
    REQUIRE(square(4).async_get(boost::asio::use_future).get() == 16);
    std::promise<int> got;
    square(5).async_get([&](std::exception_ptr e, int v) {
        if (e)
            got.set_exception(e);
        else
            got.set_value(v);
    });
    REQUIRE(got.get_future().get() == 25);
    auto op = square(6).async_get(boost::asio::deferred);
    std::promise<int> later;
    std::move(op)([&](std::exception_ptr, int v) { later.set_value(v); });
    REQUIRE(later.get_future().get() == 36);
    std::promise<std::string> error;
    fails(8).async_get([&](std::exception_ptr e, int) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            error.set_value(x.what());
        }
    });
    REQUIRE(error.get_future().get() == "fails 8");
}

// --- resources: calls wait in a queue until the budget has room

namespace {
desync::resources budget{{"cpus", 4}};
std::atomic<int> running{0}, overlap_with_big{0};
std::atomic<bool> big_running{false};
}  // namespace

DESYNC_FN(
    uses_cpus,
    [](int cpus) {
        int now = ++running;
        if (cpus == 4) {
            big_running = true;
            if (now != 1) ++overlap_with_big;
        } else if (big_running) {
            ++overlap_with_big;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // widen any overlap window
        if (cpus == 4) big_running = false;
        --running;
    },
    desync::uncached, desync::blocking);

DESYNC_FN(
    resource_run,
    [] {
        for (int cpus : {1, 4, 1, 1, 1})
            uses_cpus(desync::needs{.cpus = cpus, .from = &budget}, cpus);
    },
    desync::uncached);

TEST_CASE("a call that needs the whole budget never overlaps another", "[resources]") {
    resource_run().get();
    REQUIRE(overlap_with_big == 0);
    REQUIRE(budget.peak("cpus") <= 4);
    REQUIRE(budget.in_use("cpus") == 0);
}

TEST_CASE("a request larger than the budget fails at the call", "[resources]") {
    REQUIRE_THROWS_WITH(uses_cpus(desync::needs{.cpus = 5, .from = &budget}, 5),
                        Catch::Contains("could never run"));
    REQUIRE_THROWS_WITH(uses_cpus(desync::needs{.units = {{"gpus", 1}}, .from = &budget}, 1),
                        Catch::Contains("no unit 'gpus'"));
}

DESYNC_FN(
    holds_two_cpus, [] { return budget.in_use("cpus"); }, desync::uncached,
    desync::needs{.cpus = 2, .from = &budget});

TEST_CASE("a function's needs option holds its units while each call runs", "[resources]") {
    REQUIRE(holds_two_cpus().get() == 2);
    REQUIRE(budget.in_use("cpus") == 0);
}

DESYNC_FN(
    throws_holding_cpus, [] { throw std::runtime_error("held"); }, desync::uncached);

TEST_CASE("units come back when a call throws", "[resources]") {
    REQUIRE_THROWS_WITH(throws_holding_cpus(desync::needs{.cpus = 4, .from = &budget}).get(),
                        "held");
    REQUIRE(budget.in_use("cpus") == 0);
    REQUIRE_NOTHROW(throws_holding_cpus(desync::needs{.cpus = 1, .from = &budget})
                        .then([](desync::lazy<void>) {})
                        .get());
}
