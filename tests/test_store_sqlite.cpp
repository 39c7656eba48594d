// The SQLite store, proved by counts and by other processes (tests/support/store_child.cpp),
// never by timing: what is written is found; the first write of a key stands, within a process
// and across two writing at once; namespaces stay apart; results acknowledged durable survive a
// SIGKILL; exit flushes; files that are not stores are refused with their name and the reason;
// read_only changes nothing; max_bytes evicts the least recently hit; damaged values are dropped.
#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <desync/store/sqlite.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/meeting.hpp"
#include "support/process.hpp"
#include "support/store_records.hpp"

using desync::test::answer;
using desync::test::key_of;
using desync::test::look;
using desync::test::record_checks;
using desync::test::record_of;
using desync::test::temp_dir;
using desync::test::write_count;

namespace {

/// A store at `path` with the tests' validator.
desync::sqlite_store open_store(const std::string& path, const desync::sqlite_options& o = {}) {
    desync::sqlite_store s(path, o);
    s.backend()->set_validator(record_checks);
    return s;
}

void put(const desync::store& s, std::uint64_t i, const std::string& payload) {
    s.backend()->write(key_of(i), record_of(payload), nullptr);
}

std::string contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void save(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

/// Runs SQL on the file behind the store's back.
void raw_sql(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* error = nullptr;
    int const rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
    std::string const message = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    INFO(message);
    REQUIRE(rc == SQLITE_OK);
}

/// What opening `path` throws (empty if it opens).
std::string refusal(const std::string& path, const desync::sqlite_options& o = {}) {
    try {
        desync::sqlite_store s(path, o);
    } catch (const desync::store_error& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST_CASE("a result written is found, and counted", "[store][sqlite]") {
    temp_dir dir;
    auto s = open_store(dir / "results.db");
    write_count told;
    s.backend()->write(key_of(1), record_of("one"), &told);
    s.flush();
    REQUIRE(told.wait(1) == 1);
    REQUIRE(look(s, key_of(1)) == record_of("one"));
    REQUIRE_FALSE(look(s, key_of(2)));
    REQUIRE(s.size() == 1);
    desync::store_stats const st = s.stats();
    CHECK(st.hits == 1);
    CHECK(st.misses == 1);
    CHECK(st.writes == 1);
    CHECK(st.skipped == 0);
    CHECK(st.dropped == 0);
    CHECK(st.errors == 0);
}

TEST_CASE("a lookup is answered on the caller's thread before it returns", "[store][sqlite]") {
    temp_dir dir;
    auto s = open_store(dir / "results.db");
    put(s, 1, "one");
    s.flush();
    answer a;
    s.backend()->lookup(key_of(1), a);
    REQUIRE(a.calls() == 1);
    REQUIRE(a.thread() == std::this_thread::get_id());
}

TEST_CASE("for a key written twice, the first write stands", "[store][sqlite]") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    {
        auto s = open_store(path);
        put(s, 1, "first");
        put(s, 1, "second");  // in the same batch
        s.flush();
        put(s, 1, "third");  // in a later one
        s.flush();
        REQUIRE(look(s, key_of(1)) == record_of("first"));
        CHECK(s.stats().writes == 1);
        CHECK(s.stats().skipped == 2);
    }
    auto again = open_store(path);
    put(again, 1, "fourth");
    again.flush();
    REQUIRE(look(again, key_of(1)) == record_of("first"));
    REQUIRE(again.size() == 1);
}

TEST_CASE("results of another salt, build or format are never seen", "[store][sqlite]") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    auto a = open_store(path, {.salt = "a"});
    auto b = open_store(path, {.salt = "b"});
    auto ours = desync::detail::store_namespace::of_this_build("a");
    auto build = ours, format = ours;
    build.fingerprint = "another compiler";
    format.format_version += 1;
    desync::sqlite_store other_build(path, {.salt = "a"}, build);
    desync::sqlite_store other_format(path, {.salt = "a"}, format);
    put(a, 1, "a's");
    a.flush();
    REQUIRE(look(a, key_of(1)) == record_of("a's"));
    REQUIRE_FALSE(look(b, key_of(1)));
    REQUIRE_FALSE(look(other_build, key_of(1)));
    REQUIRE_FALSE(look(other_format, key_of(1)));
    put(b, 1, "b's");  // beside a's, not instead of it
    b.flush();
    REQUIRE(look(b, key_of(1)) == record_of("b's"));
    REQUIRE(look(a, key_of(1)) == record_of("a's"));
    CHECK(a.size() == 1);
    CHECK(b.size() == 1);
    CHECK(other_build.size() == 0);
}

TEST_CASE("with sync_every 0, a write is durable before it is told", "[store][sqlite]") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    auto writer = open_store(path, {.sync_every = std::chrono::milliseconds(0)});
    auto reader = open_store(path, {.read_only = true});
    write_count told;
    for (std::uint64_t i = 0; i < 20; ++i)
        writer.backend()->write(key_of(i), record_of(std::to_string(i)), &told);
    REQUIRE(told.wait(20) == 20);  // no flush: each was committed before it was told
    for (std::uint64_t i = 0; i < 20; ++i)
        REQUIRE(look(reader, key_of(i)) == record_of(std::to_string(i)));
}

TEST_CASE("flush, and the store's end, make what was written durable", "[store][sqlite]") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    auto const lazy = desync::sqlite_options{.sync_every = std::chrono::hours(1)};
    auto reader = open_store(path);
    {
        auto s = open_store(path, lazy);
        for (std::uint64_t i = 0; i < 100; ++i) put(s, i, std::to_string(i));
        s.flush();
        REQUIRE(reader.size() == 100);
        for (std::uint64_t i = 100; i < 200; ++i) put(s, i, std::to_string(i));
    }  // closing writes the rest
    REQUIRE(reader.size() == 200);
    reader.flush();  // and lookups see what the other handle stored
    REQUIRE(look(reader, key_of(199)) == record_of("199"));
}

TEST_CASE("the program's exit flushes a store still open", "[store][sqlite][process]") {
    for (const char* how : {"static", "leaked"}) {
        DYNAMIC_SECTION(how) {
            temp_dir dir;
            std::string const path = dir / "results.db";
            {
                desync::test::child writer(DESYNC_STORE_CHILD, {"exit", path, "50", how});
                REQUIRE(writer.read_line() == "queued");
                REQUIRE(writer.wait() == 0);
            }
            auto s = open_store(path, {.read_only = true});
            REQUIRE(s.size() == 50);
            for (std::uint64_t i = 0; i < 50; ++i)
                REQUIRE(look(s, key_of(i)) == record_of("exit:" + std::to_string(i)));
        }
    }
}

TEST_CASE("two processes write one store at once, a reader sees every result once",
          "[store][sqlite][process]") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    // A writes 0..999, B writes 500..1499; each pauses after its first 500 are durable, so both
    // have the store open and have written before either goes on. B's 500..999 were durable
    // before A got there: A's writes of those keys must not stand.
    desync::test::child a(DESYNC_STORE_CHILD, {"write", path, "0", "1000", "0", "A", "500"});
    desync::test::child b(DESYNC_STORE_CHILD, {"write", path, "500", "1000", "0", "B", "500"});
    auto wait_for = [](desync::test::child& c, const std::string& line) {
        for (std::string got = c.read_line(); got != line; got = c.read_line())
            REQUIRE(got.rfind("ack ", 0) == 0);
    };
    wait_for(a, "paused");
    wait_for(b, "paused");
    a.write_line("go");
    b.write_line("go");
    auto tail = [](desync::test::child& c) {
        std::string line = c.read_line();
        while (line.rfind("ack ", 0) == 0) line = c.read_line();
        return line;
    };
    std::string const a_stats = tail(a), b_stats = tail(b);
    REQUIRE(a.wait() == 0);
    REQUIRE(b.wait() == 0);
    CHECK(a_stats == "writes 500 skipped 500");
    CHECK(b_stats == "writes 1000 skipped 0");

    auto s = open_store(path, {.read_only = true});
    REQUIRE(s.size() == 1500);
    for (std::uint64_t i = 0; i < 1500; ++i) {
        INFO("result " << i);
        REQUIRE(look(s, key_of(i)) == record_of((i < 500 ? "A:" : "B:") + std::to_string(i)));
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* distinct = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*), count(DISTINCT hi || ',' || lo) FROM results", -1,
                       &distinct, nullptr);
    REQUIRE(sqlite3_step(distinct) == SQLITE_ROW);
    CHECK(sqlite3_column_int64(distinct, 0) == 1500);
    CHECK(sqlite3_column_int64(distinct, 1) == 1500);
    sqlite3_finalize(distinct);
    sqlite3_close(db);
}

TEST_CASE("results another process stored are seen once flush() returns",
          "[store][sqlite][process]") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    auto s = open_store(path);
    s.flush();  // its filter of stored keys is made: the other process's keys are not in it
    {
        desync::test::child writer(DESYNC_STORE_CHILD, {"write", path, "0", "200", "100", "W"});
        std::string line = writer.read_line();
        while (line.rfind("ack ", 0) == 0) line = writer.read_line();
        REQUIRE(line == "writes 200 skipped 0");
        REQUIRE(writer.wait() == 0);
    }
    s.flush();
    for (std::uint64_t i = 0; i < 200; ++i) {
        INFO("result " << i);
        REQUIRE(look(s, key_of(i)) == record_of("W:" + std::to_string(i)));
    }
    CHECK(s.stats().hits == 200);
}

TEST_CASE("a store holding more keys than its filter had room for finds each, and only those",
          "[store][sqlite]") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    constexpr std::uint64_t n = 70'000;  // a new store's filter has room for 65,536
    auto check = [&](const desync::store& s) {
        for (std::uint64_t i = 0; i < 2 * n; ++i) {
            std::optional<std::string> const found = look(s, key_of(i));
            if (i < n && found == record_of(std::to_string(i))) continue;
            if (i >= n && !found) continue;
            FAIL("result " << i << (found ? " found" : " missing"));
        }
        CHECK(s.stats().hits == n);
        CHECK(s.stats().misses == n);
    };
    {
        auto s = open_store(path);
        for (std::uint64_t i = 0; i < n; ++i) put(s, i, std::to_string(i));
        s.flush();
        check(s);
    }
    check(open_store(path));  // a filter made from the file
}

TEST_CASE("a hit renews its stamp unless the stamp is among the newest sixteenth",
          "[store][sqlite]") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    auto stamp_of = [&](std::uint64_t i) {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
        sqlite3_stmt* q = nullptr;
        sqlite3_prepare_v2(db, "SELECT stamp FROM results WHERE hi = ?1 AND lo = ?2", -1, &q,
                           nullptr);
        desync::hash128 const key = key_of(i);
        sqlite3_bind_int64(q, 1, static_cast<sqlite3_int64>(key.high));
        sqlite3_bind_int64(q, 2, static_cast<sqlite3_int64>(key.low));
        std::int64_t const stamp = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
        sqlite3_finalize(q);
        sqlite3_close(db);
        return stamp;
    };
    auto s = open_store(path);
    for (std::uint64_t i = 1; i <= 160; ++i) put(s, i, std::to_string(i));
    s.flush();
    REQUIRE(stamp_of(1) == 1);
    REQUIRE(stamp_of(160) == 160);
    REQUIRE(look(s, key_of(1)));    // among the oldest: renewed
    REQUIRE(look(s, key_of(160)));  // among the newest (stamps from 160 - 160 / 16 = 150): kept
    s.flush();
    CHECK(stamp_of(1) > 160);
    CHECK(stamp_of(160) == 160);
    CHECK(s.stats().hits == 2);
}

TEST_CASE("results acknowledged durable survive a SIGKILL of their writer",
          "[store][sqlite][process]") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    std::vector<std::uint64_t> acked;
    {
        desync::test::child writer(DESYNC_STORE_CHILD, {"write", path, "0", "1000000", "0", "K"});
        while (acked.size() < 300) {
            std::string const line = writer.read_line();
            REQUIRE(line.rfind("ack ", 0) == 0);
            acked.push_back(std::stoull(line.substr(4)));
        }
        writer.kill(SIGKILL);
        REQUIRE(writer.wait() == -SIGKILL);
    }
    auto s = open_store(path);
    for (std::uint64_t i : acked) {
        INFO("result " << i);
        REQUIRE(look(s, key_of(i)) == record_of("K:" + std::to_string(i)));
    }
    CHECK(s.stats().dropped == 0);
}

TEST_CASE("a file that is not a store is refused, with its name and the reason",
          "[store][sqlite]") {
    temp_dir dir;
    std::string const path = dir / "file.db";
    auto refused_because = [&](const std::string& reason, const desync::sqlite_options& o = {}) {
        std::string const message = refusal(path, o);
        INFO(message);
        CHECK(message.find(path) != std::string::npos);
        CHECK(message.find(reason) != std::string::npos);
    };
    auto make_store = [&](int results) {
        auto s = open_store(path);
        for (int i = 0; i < results; ++i) put(s, i, std::string(1000, 'x') + std::to_string(i));
    };
    SECTION("garbage") {
        std::string text;
        for (int i = 0; i < 200; ++i) text += "this is not a database, only text\n";
        save(path, text);
        refused_because("not an SQLite database");
    }
    SECTION("cut inside SQLite's header") {
        make_store(1);
        save(path, contents(path).substr(0, 50));
        refused_because("truncated");
    }
    SECTION("cut in half") {
        make_store(200);
        std::string const whole = contents(path);
        REQUIRE(whole.size() > 100000);
        save(path, whole.substr(0, whole.size() / 2));
        refused_because("truncated");
    }
    SECTION("an SQLite database of something else") {
        raw_sql(path, "CREATE TABLE people(name TEXT); INSERT INTO people VALUES ('Ada');");
        refused_because("an SQLite database of something else");
        CHECK(contents(path).size() > 0);
    }
    SECTION("an SQLite database of another application") {
        raw_sql(path, "PRAGMA application_id = 1234; CREATE TABLE t(x);");
        refused_because("another application (application_id 0x000004D2)");
    }
    SECTION("a store of another layout") {
        make_store(1);
        raw_sql(path, "PRAGMA user_version = 99;");
        refused_because("layout version 99; this build reads layout version 1");
    }
    SECTION("an empty database, read-only") {
        save(path, "");
        refused_because("empty SQLite database, not a store", {.read_only = true});
    }
    SECTION("no file, read-only") {
        refused_because("does not exist", {.read_only = true});
        CHECK_FALSE(std::filesystem::exists(path));
    }
    SECTION("a directory") {
        std::filesystem::create_directory(path);
        refused_because("is a directory");
    }
}

TEST_CASE("a read-only store writes nothing", "[store][sqlite]") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    {
        auto s = open_store(path);
        for (std::uint64_t i = 0; i < 10; ++i) put(s, i, std::to_string(i));
    }
    std::string const before = contents(path);
    REQUIRE_FALSE(std::filesystem::exists(path + "-wal"));  // the last to close checkpointed
    {
        auto s = open_store(path, {.read_only = true});
        for (std::uint64_t i = 0; i < 10; ++i)
            REQUIRE(look(s, key_of(i)) == record_of(std::to_string(i)));  // hits renew nothing
        write_count told;
        s.backend()->write(key_of(10), record_of("10"), &told);
        REQUIRE(told.told() == 1);  // refused at once
        REQUIRE(told.wait(1) == 0);
        s.backend()->dropped(key_of(0));  // counted, not forgotten
        s.flush();
        CHECK(s.size() == 10);
        desync::store_stats const st = s.stats();
        CHECK(st.skipped == 1);
        CHECK(st.writes == 0);
        CHECK(st.dropped == 1);
    }
    CHECK(contents(path) == before);
    auto const wal = path + "-wal";  // SQLite's own, empty if it made one for reading
    CHECK((!std::filesystem::exists(wal) || std::filesystem::file_size(wal) == 0));
    auto s = open_store(path, {.read_only = true});
    REQUIRE(look(s, key_of(0)) == record_of("0"));
}

TEST_CASE("max_bytes evicts the least recently hit", "[store][sqlite]") {
    temp_dir dir;
    std::string const kilo(1000, 'k');  // each record: 1008 bytes
    auto s = open_store(dir / "results.db", {.max_bytes = 3500});
    put(s, 'A', kilo + "A");
    put(s, 'B', kilo + "B");
    put(s, 'C', kilo + "C");
    s.flush();
    REQUIRE(look(s, key_of('A')));  // A is now more recent than B and C
    s.flush();
    put(s, 'D', kilo + "D");  // 4032 bytes: one must go, the least recently hit
    s.flush();
    CHECK_FALSE(look(s, key_of('B')));
    CHECK(look(s, key_of('A')) == record_of(kilo + "A"));
    CHECK(look(s, key_of('C')) == record_of(kilo + "C"));
    CHECK(look(s, key_of('D')) == record_of(kilo + "D"));
    CHECK(s.size() == 3);
    CHECK(s.stats().writes == 4);
}

TEST_CASE("a damaged value is dropped, answered missing, and replaced by the next write",
          "[store][sqlite]") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    auto s = open_store(path);
    put(s, 1, "one");
    put(s, 2, "two");
    s.flush();
    raw_sql(path, "UPDATE results SET record = x'0102030405060708090a' WHERE id = 1");
    REQUIRE_FALSE(look(s, key_of(1)));
    CHECK(s.stats().dropped == 1);
    CHECK(s.stats().misses == 1);
    put(s, 1, "one again");  // the damaged value was forgotten: this one stands
    s.flush();
    REQUIRE(look(s, key_of(1)) == record_of("one again"));

    // The memo layer finds a value foreign after it was answered: the hit becomes a drop.
    REQUIRE(look(s, key_of(2)) == record_of("two"));
    s.backend()->dropped(key_of(2));
    put(s, 2, "two again");
    s.flush();
    REQUIRE(look(s, key_of(2)) == record_of("two again"));
    desync::store_stats const st = s.stats();
    CHECK(st.hits == 2);
    CHECK(st.misses == 2);
    CHECK(st.dropped == 2);
}

TEST_CASE("lookups and writes from many threads at once", "[store][sqlite]") {
    temp_dir dir;
    auto s = open_store(dir / "results.db");
    constexpr int threads = 4, each = 250;
    desync::test::meeting all(threads);
    std::atomic<int> found{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < each; ++i) put(s, t * each + i, std::to_string(t * each + i));
            all.arrive_and_wait();  // all are queued, some written
            s.flush();
            for (int i = 0; i < threads * each; ++i) found += look(s, key_of(i)).has_value();
        });
    }
    for (auto& w : workers) w.join();
    REQUIRE(found == threads * threads * each);
    desync::store_stats const st = s.stats();
    CHECK(st.writes == threads * each);
    CHECK(st.hits == threads * threads * each);
    CHECK(st.misses == 0);
}

TEST_CASE("a write's callback may drop the store's last handle", "[store][sqlite]") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    struct last_handle final : desync::detail::store_write {
        std::unique_ptr<desync::store> held;
        desync::test::gate closed;
        void written(bool) noexcept override {
            held.reset();  // on the store's own thread: it finishes the queue and ends alone
            closed.open();
        }
    } callback;
    desync::store handle = open_store(path, {.sync_every = std::chrono::hours(1)});
    handle.backend()->write(key_of(1), record_of("one"), &callback);
    callback.held = std::make_unique<desync::store>(std::move(handle));  // the last handle
    desync::detail::flush_stores();  // as at exit: holds the store while it flushes
    REQUIRE(callback.closed.wait());
    auto s = open_store(path, {.read_only = true});
    REQUIRE(desync::test::poll_until([&] { return s.size() == 1; }));
}
