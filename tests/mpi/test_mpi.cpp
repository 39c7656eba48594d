// The MPI transport under mpirun. Rank 0 runs the Catch2 cases tagged [cluster] or [queue] (with
// `mpiexec -n 3`) or [alone] (started without mpiexec); the other ranks serve. With [queue] on
// the command line, the workers start serving only once rank 0 has created the file named by
// DESYNC_TEST_GATE (not an MPI message: all MPI calls stay on the communication threads), so the
// calls rank 0 queues before cannot have been sent. Every check is structural: calls are
// counted, waited for and compared, never timed.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <desync/mpi.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#if __has_include(<catch2/catch_session.hpp>)
#include <catch2/catch_session.hpp>
#else
#define CATCH_CONFIG_RUNNER
#endif
#include "support/catch.hpp"
#include "support/meeting.hpp"

namespace dm = desync::detail::mpi;
using desync::test::hang_limit;
using desync::test::poll_until;

namespace {

desync::mpi::cluster* the_cluster = nullptr;
int my_rank = -1;

// Full hashes of the test's functions: any distinct numbers do.
constexpr std::uint64_t echo_id = 0xec40'0001;          // answers on a pool thread
constexpr std::uint64_t echo_inline_id = 0xec40'0002;   // answers inside the handler
constexpr std::uint64_t throw_id = 0x7407'0001;         // throws std::out_of_range on a pool
constexpr std::uint64_t throw_inline_id = 0x7407'0002;  // the handler itself throws
constexpr std::uint64_t throw_int_id = 0x7407'0003;     // throws an int on a pool
constexpr std::uint64_t drop_id = 0xd409'0001;          // drops its reply unanswered
constexpr std::uint64_t die_id = 0xd1e5'0001;           // ends its process (exit code 3)
constexpr std::uint64_t unknown_id = 0xbad'0001;        // registered nowhere

// What a worker's calls run on, as desync's own pool would run them.
boost::asio::thread_pool& worker_pool() {
    static boost::asio::thread_pool pool(2);
    return pool;
}

std::string answer(const std::string& args) { return args + "@" + std::to_string(my_rank); }

void echo(std::string args, dm::reply& r) {
    boost::asio::post(worker_pool(), [args = std::move(args), r = std::move(r)]() mutable {
        r.done(answer(args));
    });
}
void echo_inline(std::string args, dm::reply& r) { r.done(answer(args)); }
void throw_later(std::string, dm::reply& r) {
    boost::asio::post(worker_pool(), [r = std::move(r)]() mutable {
        try {
            throw std::out_of_range("index 7 is out of range");
        } catch (...) {
            r.fail(std::current_exception());
        }
    });
}
void throw_now(std::string, dm::reply&) { throw std::invalid_argument("no such parameter"); }
void throw_int(std::string, dm::reply& r) {
    boost::asio::post(worker_pool(),
                      [r = std::move(r)]() mutable { r.fail(std::make_exception_ptr(42)); });
}
void drop(std::string, dm::reply& r) { dm::reply gone = std::move(r); }
[[noreturn]] void die(std::string, dm::reply&) { std::_Exit(3); }

[[maybe_unused]] const bool registered = [] {
    dm::register_handler(echo_id, &echo);
    dm::register_handler(echo_inline_id, &echo_inline);
    dm::register_handler(throw_id, &throw_later);
    dm::register_handler(throw_inline_id, &throw_now);
    dm::register_handler(throw_int_id, &throw_int);
    dm::register_handler(drop_id, &drop);
    dm::register_handler(die_id, &die);
    return true;
}();

bool queue_mode = false;  // [queue]: the workers serve once rank 0 opens the gate

std::filesystem::path gate() {
    const char* path = std::getenv("DESYNC_TEST_GATE");
    return path ? path : "desync_test_gate";
}

int worker_main() {
    if (queue_mode && !poll_until([] { return std::filesystem::exists(gate()); })) return 1;
    return the_cluster->serve();
}

/// A call as the lead's call path will make it: completes once, on the communication thread.
struct call final : dm::remote_job {
    using remote_job::remote_job;
    void done(std::string r) noexcept override {
        std::lock_guard lock(m);
        result = std::move(r);
        ++done_calls;
        cv.notify_all();
    }
    void failed(std::exception_ptr e) noexcept override {
        std::lock_guard lock(m);
        error = e;
        ++failed_calls;
        cv.notify_all();
    }
    bool wait() {
        std::unique_lock lock(m);
        return cv.wait_for(lock, hang_limit, [&] { return done_calls + failed_calls > 0; });
    }
    int answers() {
        std::lock_guard lock(m);
        return done_calls + failed_calls;
    }
    std::mutex m;
    std::condition_variable cv;
    std::string result;
    std::exception_ptr error;
    int done_calls = 0;
    int failed_calls = 0;
};

// Every worker has announced its slots: from now on calls spread over all of them.
void wait_for_workers() {
    REQUIRE(poll_until([] {
        auto s = the_cluster->stats();
        for (int r = 1; r < the_cluster->size(); ++r)
            if (s.slots[static_cast<std::size_t>(r)] == 0) return false;
        return true;
    }));
}

bool nothing_in_flight() {
    return poll_until([] { return the_cluster->stats().in_flight == 0; });
}

// Opaque bytes: every byte value, lengths from empty to beyond MPI's eager limit.
std::string payload(int i) {
    std::size_t n = i == 0 ? 0 : i == 99 ? (1u << 20) : static_cast<std::size_t>(i) * 97;
    std::string s(n, '\0');
    for (std::size_t k = 0; k < n; ++k)
        s[k] = static_cast<char>((k * 131 + static_cast<std::size_t>(i)) & 0xff);
    return s;
}

desync::remote_error remote_error_of(call& c) {
    REQUIRE(c.failed_calls == 1);
    try {
        std::rethrow_exception(c.error);
    } catch (const desync::remote_error& e) {
        return e;
    } catch (...) {
    }
    FAIL("the call failed with something other than desync::remote_error");
    return desync::remote_error("", "", 0);
}

}  // namespace

TEST_CASE("100 calls with opaque payloads all complete with their results, on every worker",
          "[cluster]") {
    REQUIRE(the_cluster->size() >= 3);
    REQUIRE(dm::active());
    wait_for_workers();
    auto before = the_cluster->stats();

    // Submitted together: the first calls go out while every worker has all its slots free,
    // and the dispatcher gives each call to the worker with the most free slots.
    std::vector<std::unique_ptr<call>> calls;
    std::vector<dm::remote_job*> jobs;
    for (int i = 0; i < 100; ++i) {
        calls.push_back(std::make_unique<call>(i % 2 ? echo_id : echo_inline_id, payload(i)));
        jobs.push_back(calls.back().get());
    }
    dm::submit(jobs);

    std::set<int> ranks;
    for (int i = 0; i < 100; ++i) {
        call& c = *calls[static_cast<std::size_t>(i)];
        REQUIRE(c.wait());
        REQUIRE(c.done_calls == 1);
        REQUIRE(c.failed_calls == 0);
        std::string expected = payload(i) + "@";
        REQUIRE(c.result.size() > expected.size());
        REQUIRE(c.result.compare(0, expected.size(), expected) == 0);
        int rank = std::stoi(c.result.substr(expected.size()));
        CHECK(rank >= 1);
        CHECK(rank < the_cluster->size());
        ranks.insert(rank);
    }
    CHECK(static_cast<int>(ranks.size()) == the_cluster->size() - 1);  // each worker ran some

    auto after = the_cluster->stats();
    CHECK(after.calls_sent - before.calls_sent == 100);
    std::uint64_t per_rank = 0;
    for (int r = 1; r < the_cluster->size(); ++r) {
        auto k = static_cast<std::size_t>(r);
        CHECK(after.calls_per_rank[k] > before.calls_per_rank[k]);
        per_rank += after.calls_per_rank[k] - before.calls_per_rank[k];
    }
    CHECK(per_rank == 100);
    CHECK(after.calls_per_rank[0] == 0);
    std::uint64_t payload_bytes = 0;
    for (int i = 0; i < 100; ++i) payload_bytes += payload(i).size();
    CHECK(after.bytes_sent - before.bytes_sent >= payload_bytes + 100 * dm::wire::job_trailer);
    CHECK(after.bytes_received - before.bytes_received >= payload_bytes);
    CHECK(after.in_flight == 0);
    CHECK(after.queued == 0);
}

TEST_CASE("an exception on a worker arrives once, as remote_error with type, message and rank",
          "[cluster]") {
    wait_for_workers();
    auto before = the_cluster->stats();
    call later(throw_id, "x"), now(throw_inline_id, "y"), number(throw_int_id, "z");
    call after(echo_id, "after");
    for (call* c : {&later, &now, &number, &after}) dm::submit(c);
    for (call* c : {&later, &now, &number, &after}) REQUIRE(c->wait());
    REQUIRE(nothing_in_flight());

    auto e = remote_error_of(later);
    CHECK(e.type_name() == "std::out_of_range");
    CHECK(std::string(e.what()) == "index 7 is out of range");
    CHECK(e.rank() >= 1);
    CHECK(e.rank() < the_cluster->size());

    auto f = remote_error_of(now);
    CHECK(f.type_name() == "std::invalid_argument");
    CHECK(std::string(f.what()) == "no such parameter");

    auto g = remote_error_of(number);
    CHECK(g.type_name() == "int");

    for (call* c : {&later, &now, &number}) CHECK(c->done_calls == 0);
    CHECK(after.done_calls == 1);  // the workers go on serving
    CHECK(the_cluster->stats().calls_failed - before.calls_failed == 3);
}

TEST_CASE("a call no worker can run, or whose reply is dropped, fails as remote_error",
          "[cluster]") {
    wait_for_workers();
    call unknown(unknown_id, "?"), dropped(drop_id, "!");
    dm::submit(&unknown);
    dm::submit(&dropped);
    REQUIRE(unknown.wait());
    REQUIRE(dropped.wait());

    auto e = remote_error_of(unknown);
    CHECK(e.type_name() == "desync::error");
    CHECK(std::string(e.what()).find("000000000bad0001") != std::string::npos);
    auto f = remote_error_of(dropped);
    CHECK(std::string(f.what()).find("dropped") != std::string::npos);
}

TEST_CASE("a queued call can be taken off the queue before it is sent", "[queue]") {
    REQUIRE(dm::active());
    auto before = the_cluster->stats();
    for (int r = 1; r < the_cluster->size(); ++r)
        REQUIRE(before.slots[static_cast<std::size_t>(r)] == 0);  // no worker serves yet

    call withdrawn(echo_id, "withdrawn"), kept(echo_id, "kept");
    dm::submit(&withdrawn);
    dm::submit(&kept);
    CHECK(the_cluster->stats().queued == 2);
    CHECK(dm::withdraw(&withdrawn));
    CHECK_FALSE(dm::withdraw(&withdrawn));  // once
    CHECK(the_cluster->stats().queued == 1);

    std::ofstream{gate()};  // the workers start serving
    REQUIRE(kept.wait());
    CHECK(kept.done_calls == 1);
    CHECK_FALSE(dm::withdraw(&kept));  // sent and answered
    REQUIRE(nothing_in_flight());
    auto after = the_cluster->stats();
    CHECK(after.queued == 0);
    CHECK(after.calls_sent == 1);
    CHECK(withdrawn.answers() == 0);  // never sent, never answered
    CHECK(withdrawn.args == "withdrawn");
}

TEST_CASE("a rank that dies ends the job", "[dies]") {
    wait_for_workers();
    call c(die_id, "");
    dm::submit(&c);
    c.wait();  // mpiexec ends this process first; the test passes on mpiexec's report
    FAIL("rank 0 outlived a worker that died");
}

TEST_CASE("alone, the program is one rank and its distributed calls stay local", "[alone]") {
    CHECK(the_cluster->size() == 1);
    CHECK(the_cluster->rank() == 0);
    CHECK(the_cluster->is_root());
    CHECK_FALSE(dm::active());
    call c(echo_id, "local");
    dm::submit(&c);
    CHECK(c.failed_calls == 1);  // at once: the caller runs it locally instead
    CHECK_THROWS_AS(the_cluster->serve(), desync::error);
    auto s = the_cluster->stats();
    CHECK(s.calls_sent == 0);
    CHECK(s.calls_per_rank.size() == 1);
}

int main(int argc, char** argv) {
    desync::mpi::options options;
    options.slots = 2;
    for (int i = 1; i < argc; ++i) queue_mode |= std::string_view(argv[i]) == "[queue]";
    if (queue_mode) std::filesystem::remove(gate());  // every rank, before the cluster's check
    desync::mpi::cluster cluster(argc, argv, options);
    the_cluster = &cluster;
    my_rank = cluster.rank();
    if (!cluster.is_root()) return worker_main();
    return Catch::Session().run(argc, argv);
}
