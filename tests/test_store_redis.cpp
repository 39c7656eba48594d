// The Redis store, each case against a redis-server of its own (tests/support/redis_server.hpp),
// proved by counts, by what the server holds, and by a server stopped (SIGSTOP) or killed: never
// by timing. Lookups are answered from the store's I/O thread; a server that fails in any way
// switches the store off after one line on stderr, and the run goes on.
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <desync/store/redis.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/catch.hpp"
#include "support/meeting.hpp"
#include "support/redis_server.hpp"
#include "support/stderr_capture.hpp"
#include "support/store_records.hpp"

using desync::test::answer;
using desync::test::key_of;
using desync::test::look;
using desync::test::record_checks;
using desync::test::record_of;
using desync::test::redis_server;
using desync::test::stderr_capture;
using desync::test::write_count;
using namespace std::chrono_literals;

namespace {

desync::redis_store open_store(const redis_server& server, const desync::redis_options& o = {}) {
    desync::redis_store s(server.url(), o);
    s.backend()->set_validator(record_checks);
    return s;
}

void put(const desync::store& s, std::uint64_t i, const std::string& payload) {
    s.backend()->write(key_of(i), record_of(payload), nullptr);
}

/// The server's key for result i of this build, salt "" and prefix "desync".
std::string server_key(std::uint64_t i, const std::string& salt = "") {
    auto space = desync::detail::store_namespace::of_this_build(salt);
    return "desync:" + desync::hash128{space.id(), 0}.to_hex().substr(16) + ":" +
           key_of(i).to_hex();
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("Redis URLs", "[store][redis]") {
    using desync::detail::redis::parse_url;
    auto tcp = parse_url("redis://cache.example.org");
    CHECK((!tcp.unix_socket && tcp.host == "cache.example.org" && tcp.port == 6379 && tcp.db == 0));
    tcp = parse_url("redis://127.0.0.1:6380/2");
    CHECK((tcp.host == "127.0.0.1" && tcp.port == 6380 && tcp.db == 2));
    tcp = parse_url("redis://[::1]:7000/3");
    CHECK((tcp.host == "::1" && tcp.port == 7000 && tcp.db == 3));
    auto local = parse_url("unix:///run/redis/redis.sock?db=4");
    CHECK((local.unix_socket && local.path == "/run/redis/redis.sock" && local.db == 4));
    CHECK(parse_url("unix:///tmp/r.sock").db == 0);
    for (const char* bad :
         {"http://host", "redis://", "redis://host:0", "redis://host:99999",
          "redis://user:secret@host", "unix://relative.sock", "unix:///r.sock?timeout=1",
          "redis://host/abc", "redis://host?db=1", "redis://[::1"}) {
        INFO(bad);
        REQUIRE_THROWS_AS(parse_url(bad), desync::store_error);
    }
    try {
        desync::redis_store s("redis://user:secret@host");
        FAIL("a URL with a password was taken");
    } catch (const desync::store_error& e) {
        CHECK(contains(e.what(), "DESYNC_REDIS_PASSWORD"));
    }
}

TEST_CASE("a result written is found, answered from the I/O thread, and counted",
          "[store][redis]") {
    redis_server server;
    auto s = open_store(server);
    write_count told;
    s.backend()->write(key_of(1), record_of("one"), &told);
    s.flush();
    REQUIRE(told.wait(1) == 1);
    answer a;
    s.backend()->lookup(key_of(1), a);
    REQUIRE(a.wait() == answer::kind::found);
    CHECK(a.record() == record_of("one"));
    CHECK(a.thread() != std::this_thread::get_id());
    REQUIRE_FALSE(look(s, key_of(2)));
    CHECK(s.size() == 1);
    auto raw = server.connect();
    CHECK(raw.text({"GET", server_key(1)}) == record_of("one"));
    CHECK(raw.integer({"PTTL", server_key(1)}) == -1);  // no ttl: no expiry
    desync::store_stats const st = s.stats();
    CHECK(st.hits == 1);
    CHECK(st.misses == 1);
    CHECK(st.writes == 1);
    CHECK(st.errors == 0);
}

TEST_CASE("a lookup returns before the server has answered it", "[store][redis]") {
    redis_server server;
    auto s = open_store(server, {.timeout = 60s});
    put(s, 1, "one");
    s.flush();  // connected, and written
    server.pause();
    answer a;
    s.backend()->lookup(key_of(1), a);
    CHECK(a.calls() == 0);  // the server is stopped: nothing could have answered yet
    server.resume();
    REQUIRE(a.wait() == answer::kind::found);
    CHECK(a.record() == record_of("one"));
    CHECK(s.stats().errors == 0);
}

TEST_CASE("a damaged or foreign value is dropped, answered missing, and replaced",
          "[store][redis]") {
    redis_server server;
    auto s = open_store(server);
    put(s, 1, "one");
    put(s, 2, "two");
    s.flush();
    auto raw = server.connect();
    raw({"SET", server_key(1), "garbage, not a record"});
    raw({"DEL", server_key(2)});
    raw({"LPUSH", server_key(2), "a list where a record belongs"});
    REQUIRE_FALSE(look(s, key_of(1)));
    REQUIRE_FALSE(look(s, key_of(2)));
    CHECK(s.stats().dropped == 2);
    CHECK(s.stats().misses == 2);
    CHECK(s.stats().errors == 0);
    put(s, 1, "one again");
    s.flush();
    REQUIRE(look(s, key_of(1)) == record_of("one again"));
    // The memo layer drops a value after it was answered: the hit becomes a drop.
    s.backend()->dropped(key_of(1));
    desync::store_stats const st = s.stats();
    CHECK(st.hits == 0);
    CHECK(st.misses == 3);
    CHECK(st.dropped == 3);
}

TEST_CASE("results of another salt, prefix or build are never seen", "[store][redis]") {
    redis_server server;
    auto a = open_store(server, {.salt = "a"});
    auto b = open_store(server, {.salt = "b"});
    auto lab = open_store(server, {.salt = "a", .prefix = "lab"});
    auto space = desync::detail::store_namespace::of_this_build("a");
    space.fingerprint = "another compiler";
    desync::redis_store other_build(server.url(), {.salt = "a"}, space);
    put(a, 1, "a's");
    a.flush();
    REQUIRE(look(a, key_of(1)) == record_of("a's"));
    REQUIRE_FALSE(look(b, key_of(1)));
    REQUIRE_FALSE(look(lab, key_of(1)));
    REQUIRE_FALSE(look(other_build, key_of(1)));
    CHECK(a.size() == 1);
    CHECK(b.size() == 0);
    CHECK(lab.size() == 0);
}

TEST_CASE("a server that goes away mid-run switches the store off: one line, one error",
          "[store][redis]") {
    stderr_capture err;
    redis_server server;
    auto s = open_store(server);
    put(s, 1, "one");
    s.flush();
    REQUIRE(look(s, key_of(1)) == record_of("one"));
    server.stop();
    REQUIRE_FALSE(look(s, key_of(1)));  // the run goes on: a miss
    for (int i = 0; i < 10; ++i) {
        put(s, 100 + i, "after");
        REQUIRE_FALSE(look(s, key_of(i)));
    }
    s.flush();
    desync::store_stats const st = s.stats();
    CHECK(st.errors == 1);
    CHECK(st.hits == 1);
    CHECK(st.misses == 11);
    CHECK(st.skipped == 10);
    INFO(err.text());
    CHECK(err.lines() == 1);
    CHECK(contains(err.text(), "is off for the rest of the run"));
    CHECK(contains(err.text(), server.url()));
}

TEST_CASE("a server slower than the timeout switches the store off", "[store][redis]") {
    stderr_capture err;
    redis_server server;
    auto s = open_store(server, {.timeout = 200ms});
    put(s, 1, "one");
    s.flush();
    server.pause();  // answers nothing until resumed: slower than any timeout
    REQUIRE_FALSE(look(s, key_of(1)));
    server.resume();
    REQUIRE_FALSE(look(s, key_of(1)));  // off for the rest of the run
    CHECK(s.stats().errors == 1);
    INFO(err.text());
    CHECK(err.lines() == 1);
    CHECK(contains(err.text(), "no reply within 200 ms"));
}

TEST_CASE("an unreachable server: lookups miss, or fail when the store is required",
          "[store][redis]") {
    stderr_capture err;
    SECTION("a Unix socket that is not there") {
        auto s = desync::redis_store("unix:///nonexistent/desync-test.sock");
        REQUIRE_FALSE(look(s, key_of(1)));
        put(s, 1, "one");
        s.flush();
        CHECK(s.stats().errors == 1);
        CHECK(s.stats().skipped == 1);
        CHECK(err.lines() == 1);
        CHECK(contains(err.text(), "cannot connect"));
    }
    SECTION("a TCP port nobody listens on") {
        auto s = desync::redis_store("redis://127.0.0.1:1");
        REQUIRE_FALSE(look(s, key_of(1)));
        CHECK(s.stats().errors == 1);
        CHECK(err.lines() == 1);
    }
    SECTION("required") {
        auto s = desync::redis_store("unix:///nonexistent/desync-test.sock", {.required = true});
        REQUIRE_THROWS_AS(look(s, key_of(1)), desync::store_error);
        REQUIRE_THROWS_AS(look(s, key_of(2)), desync::store_error);
        CHECK(s.stats().errors == 1);
        CHECK(err.lines() == 1);
    }
}

TEST_CASE("a wrong password switches the store off, the right one may come from the environment",
          "[store][redis]") {
    redis_server server({"--requirepass", "sesame"});
    {
        stderr_capture err;
        auto s = open_store(server, {.password = "wrong"});
        REQUIRE_FALSE(look(s, key_of(1)));
        CHECK(s.stats().errors == 1);
        CHECK(err.lines() == 1);
        CHECK(contains(err.text(), "refused the password"));
    }
    {
        stderr_capture err;
        auto s = open_store(server);  // no password at all: the first command is refused
        REQUIRE_FALSE(look(s, key_of(1)));
        CHECK(s.stats().errors == 1);
        CHECK(contains(err.text(), "NOAUTH"));
    }
    ::setenv("DESYNC_REDIS_PASSWORD", "sesame", 1);
    auto s = open_store(server);
    ::unsetenv("DESYNC_REDIS_PASSWORD");
    put(s, 1, "one");
    s.flush();
    REQUIRE(look(s, key_of(1)) == record_of("one"));
    CHECK(s.stats().errors == 0);
}

TEST_CASE("an ACL user who may only read: lookups work, a write switches the store off",
          "[store][redis]") {
    redis_server server;
    auto raw = server.connect();
    REQUIRE(raw.text({"ACL", "SETUSER", "reader", "on", ">page", "~*", "+@read", "+@connection"}) ==
            "OK");
    auto writer = open_store(server);
    put(writer, 1, "one");
    writer.flush();
    {
        stderr_capture err;
        auto s = open_store(server, {.username = "reader", .password = "page"});
        REQUIRE(look(s, key_of(1)) == record_of("one"));
        put(s, 2, "two");
        s.flush();
        REQUIRE_FALSE(look(s, key_of(1)));  // off now
        CHECK(s.stats().errors == 1);
        CHECK(err.lines() == 1);
        CHECK(contains(err.text(), "refused a write"));
    }
    stderr_capture err;
    auto s = open_store(server, {.read_only = true, .username = "reader", .password = "page"});
    REQUIRE(look(s, key_of(1)) == record_of("one"));
    put(s, 2, "two");
    s.flush();
    REQUIRE(look(s, key_of(1)) == record_of("one"));
    CHECK(s.stats().errors == 0);
    CHECK(s.stats().skipped == 1);
    CHECK(err.lines() == 0);
    CHECK(raw.integer({"EXISTS", server_key(2)}) == 0);
}

TEST_CASE("a record larger than max_value is not written", "[store][redis]") {
    redis_server server;
    auto s = open_store(server, {.max_value = 100});
    write_count told;
    s.backend()->write(key_of(1), record_of(std::string(200, 'x')), &told);
    REQUIRE(told.told() == 1);  // at once
    REQUIRE(told.wait(1) == 0);
    put(s, 2, "small");
    s.flush();
    CHECK(s.stats().skipped == 1);
    CHECK(s.stats().writes == 1);
    auto raw = server.connect();
    CHECK(raw.integer({"EXISTS", server_key(1)}) == 0);
    CHECK(raw.integer({"EXISTS", server_key(2)}) == 1);
}

TEST_CASE("ttl: set on each write, renewed on each hit, not by a read-only store",
          "[store][redis]") {
    auto check = [](redis_server& server) {
        auto s = open_store(server, {.ttl = 1h});
        put(s, 1, "one");
        s.flush();
        auto raw = server.connect();
        long long const set = raw.integer({"PTTL", server_key(1)});
        CHECK((set > 100000 && set <= 3600000));
        raw({"PEXPIRE", server_key(1), "100000"});
        REQUIRE(look(s, key_of(1)) == record_of("one"));
        CHECK(raw.integer({"PTTL", server_key(1)}) > 100000);  // renewed
        CHECK(s.stats().writes == 1);                          // renewing is not a write
        raw({"PEXPIRE", server_key(1), "100000"});
        auto reader = open_store(server, {.ttl = 1h, .read_only = true});
        REQUIRE(look(reader, key_of(1)) == record_of("one"));
        CHECK(raw.integer({"PTTL", server_key(1)}) <= 100000);
        CHECK(s.stats().errors + reader.stats().errors == 0);
    };
    SECTION("with GETEX") {
        redis_server server;
        check(server);
    }
    SECTION("a server without GETEX (before Redis 6.2): GET, then PEXPIRE") {
        redis_server server({"--rename-command", "GETEX", ""});
        REQUIRE(contains(server.connect().text({"GETEX", "x"}), "unknown command"));
        check(server);
    }
}

TEST_CASE("lookups from many threads are pipelined, each answered once", "[store][redis]") {
    redis_server server;
    auto s = open_store(server);
    for (std::uint64_t i = 0; i < 100; ++i) put(s, i, std::to_string(i));
    s.flush();
    constexpr int threads = 4, each = 400;
    desync::test::meeting all(threads);
    std::atomic<int> found{0}, once{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            std::vector<answer> answers(each);
            all.arrive_and_wait();
            for (int i = 0; i < each; ++i)  // 0..199: half of them stored
                s.backend()->lookup(key_of(static_cast<std::uint64_t>((i + t) % 200)), answers[i]);
            for (int i = 0; i < each; ++i) {
                found += answers[i].wait() == answer::kind::found;
                once += answers[i].calls() == 1;
            }
        });
    }
    for (auto& w : workers) w.join();
    CHECK(found == threads * each / 2);
    CHECK(once == threads * each);
    CHECK(s.stats().hits == threads * each / 2);
    CHECK(s.stats().misses == threads * each / 2);
}

TEST_CASE("records larger than the socket's buffer travel whole, in order", "[store][redis]") {
    redis_server server;
    auto s = open_store(server);
    std::string const big(std::size_t{4} << 20, 'b');  // sent over several rounds of poll()
    for (std::uint64_t i = 0; i < 20; ++i) {
        put(s, i, i % 5 == 0 ? big + std::to_string(i) : std::to_string(i));
        REQUIRE((i < 1 || look(s, key_of(i - 1))));
    }
    s.flush();
    for (std::uint64_t i = 0; i < 20; ++i)
        REQUIRE(look(s, key_of(i)) ==
                record_of(i % 5 == 0 ? big + std::to_string(i) : std::to_string(i)));
    CHECK(s.stats().writes == 20);
    CHECK(s.stats().errors == 0);
}

TEST_CASE("closing the store writes what was queued", "[store][redis]") {
    redis_server server;
    {
        auto s = open_store(server);
        for (std::uint64_t i = 0; i < 100; ++i) put(s, i, std::to_string(i));
    }
    CHECK(server.connect().integer({"DBSIZE"}) == 100);
}
