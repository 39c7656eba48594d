// Stores under memo tables (docs/stores.md): a root's store asked after its tables, given every
// new result. Proved by counting the bodies that run (atomics), never by timing: across runs of
// this program (its own hidden cases, started again), a kill in the middle, damaged values, a
// Redis server shared by two processes, and a tiered pair.

#include <sqlite3.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <desync/desync.hpp>
#include <desync/store/redis.hpp>
#include <desync/store/sqlite.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/stderr_capture.hpp"

using desync::test::redis_server;
using desync::test::temp_dir;
using namespace std::chrono_literals;

namespace {

std::atomic<int> square_runs{0};
std::atomic<int> step_runs{0};
std::atomic<int> text_runs{0};

/// Runs this program again for the hidden case "store memo: child", with DESYNC_TEST_ROLE and
/// DESYNC_TEST_PATH; returns its wait status.
int run_child(const std::string& role, const std::string& path) {
    pid_t const pid = desync::test::spawn_self(
        "store memo: child", {"DESYNC_TEST_ROLE=" + role, "DESYNC_TEST_PATH=" + path});
    REQUIRE(pid > 0);
    int const status = desync::test::wait_child(pid);
    REQUIRE(status != -1);
    return status;
}

/// Runs one SQL statement on a store's file behind its back.
void sql(const std::string& path, const std::string& statement) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* error = nullptr;
    int const rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &error);
    std::string const why = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    INFO(why);
    REQUIRE(rc == SQLITE_OK);
}

}  // namespace

DESYNC_FN(square, [](int v) {
    ++square_runs;
    return v * v;
});
// The sum of square(0..n-1), each read before the next is made.
DESYNC_FN(sum_squares, [](int n) {
    long sum = 0;
    for (int i = 0; i < n; ++i) sum += square(i).get();
    return sum;
});
// square's results through a dataflow input: the store is asked once the input is ready.
DESYNC_FN(square_of_square, [](int v) { return square(square(v)).get(); });

DESYNC_FN(step, [](int v) {
    ++step_runs;
    return v + 1000;
});
// 100 steps, each ready before the next; with DESYNC_TEST_KILL_AT=k the process kills itself
// once the k-th result is ready.
DESYNC_FN(hundred_steps, [](int kill_at) {
    long sum = 0;
    for (int i = 0; i < 100; ++i) {
        sum += step(i).get();
        if (i + 1 == kill_at) std::raise(SIGKILL);
    }
    return sum;
});

DESYNC_FN(text_of, [](int v) {
    ++text_runs;
    return std::string(static_cast<std::size_t>(v % 7 + 1), static_cast<char>('a' + v % 26));
});
DESYNC_FN(texts, [](int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(text_of(i).get());
    return out;
});

namespace {

long sum_of_squares(int n) {
    long sum = 0;
    for (int i = 0; i < n; ++i) sum += long{i} * i;
    return sum;
}

std::vector<std::string> expected_texts(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i)
        out.emplace_back(static_cast<std::size_t>(i % 7 + 1), static_cast<char>('a' + i % 26));
    return out;
}

/// A run of sum_squares(n) with `s` as its store, from empty memory.
long run_squares(const desync::store& s, int n) {
    sum_squares.clear_cache();
    sum_squares.set_store(s);
    long const sum = sum_squares(n);
    sum_squares.set_store({});
    return sum;
}

/// A run of texts(n) with `s` as its store, from empty memory.
std::vector<std::string> run_texts(const desync::store& s, int n) {
    texts.clear_cache();
    texts.set_store(s);
    std::vector<std::string> out = texts(n);
    texts.set_store({});
    return out;
}

}  // namespace

TEST_CASE("store memo: child", "[.child]") {
    const char* role_text = std::getenv("DESYNC_TEST_ROLE");
    const char* path = std::getenv("DESYNC_TEST_PATH");
    REQUIRE(role_text);
    REQUIRE(path);
    std::string const role = role_text;
    if (role == "squares") {  // a run of 50 squares; writes "<bodies run> <writes>" to path.out
        long sum = 0;
        desync::store_stats s;
        {
            desync::sqlite_store store(path);
            sum_squares.set_store(store);
            sum = sum_squares(50);
            sum_squares.set_store({});
            s = store.stats();
        }
        REQUIRE(sum == sum_of_squares(50));
        std::ofstream(std::string(path) + ".out")
            << square_runs.load() << ' ' << s.writes << ' ' << s.hits << '\n';
    } else if (role == "kill at 60") {  // killed once its 60th result is ready
        desync::sqlite_store store(path, {.sync_every = 0ms});
        hundred_steps.set_store(store);
        hundred_steps(60).get();
        FAIL("the child should have been killed");
    } else if (role == "redis texts") {  // path: the server's URL; 30 texts, flushed at exit
        desync::redis_store store(path);
        REQUIRE(run_texts(store, 30) == expected_texts(30));
        REQUIRE(text_runs == 30);
        REQUIRE(store.stats().writes == 30);
        REQUIRE(store.stats().errors == 0);
    } else {
        FAIL("unknown role " << role);
    }
}

namespace {

/// "<bodies run> <writes> <hits>" that a "squares" child wrote.
std::vector<long> child_counts(const std::string& path) {
    std::ifstream in(path + ".out");
    std::vector<long> out(3, -1);
    in >> out[0] >> out[1] >> out[2];
    return out;
}

}  // namespace

TEST_CASE("store memo: a program run twice on one SQLite file runs nothing the second time") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    REQUIRE(desync::test::exited_cleanly(run_child("squares", path)));
    CHECK(child_counts(path) == std::vector<long>{50, 50, 0});
    REQUIRE(desync::test::exited_cleanly(run_child("squares", path)));
    CHECK(child_counts(path) == std::vector<long>{0, 0, 50});  // all hits: nothing written
    desync::sqlite_store store(path);
    CHECK(store.size() == 50);
}

TEST_CASE("store memo: results are kept as they are made (sync_every 0, SIGKILL at 60 of 100)") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    int const status = run_child("kill at 60", path);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);
    step_runs = 0;
    desync::sqlite_store store(path);
    CHECK(store.size() == 60);
    hundred_steps.clear_cache();
    hundred_steps.set_store(store);
    long const sum = hundred_steps(0);
    hundred_steps.set_store({});
    CHECK(sum == 100 * 1000 + 99 * 100 / 2);
    CHECK(step_runs == 40);  // exactly the 40 it never made
    desync::store_stats const s = store.stats();
    CHECK(s.hits == 60);
    CHECK(s.misses == 40);
    CHECK(s.writes == 40);
}

TEST_CASE(
    "store memo: hits are served from memory, then from the store, and only new results "
    "are written") {
    temp_dir dir;
    desync::sqlite_store store(dir / "results.db", {.sync_every = 0ms});
    square_runs = 0;
    CHECK(run_squares(store, 20) == sum_of_squares(20));
    CHECK(square_runs == 20);
    CHECK(store.stats().writes == 20);
    // The same run again with its results installed: the tables answer, the store is not asked.
    sum_squares.set_cache(sum_squares.get_cache());
    sum_squares.set_store(store);
    CHECK(sum_squares(20).get() == sum_of_squares(20));
    sum_squares.set_store({});
    CHECK(square_runs == 20);
    CHECK(store.stats().hits == 0);
    // From empty memory: the store answers every call, and is given nothing new.
    CHECK(run_squares(store, 20) == sum_of_squares(20));
    CHECK(square_runs == 20);
    desync::store_stats s = store.stats();
    CHECK(s.hits == 20);
    CHECK(s.writes == 20);
    // A hit from the store is recorded like any hit: the next cache holds it.
    CHECK(sum_squares.get_cache().size() == 20);
    // A longer run: only the new ten are run and written.
    CHECK(run_squares(store, 30) == sum_of_squares(30));
    CHECK(square_runs == 30);
    s = store.stats();
    CHECK(s.writes == 30);
    CHECK(s.hits == 40);
    CHECK(store.size() == 30);
}

TEST_CASE("store memo: calls with dataflow inputs ask the store once their inputs are ready") {
    temp_dir dir;
    desync::sqlite_store store(dir / "results.db");
    square_runs = 0;
    square_of_square.clear_cache();
    square_of_square.set_store(store);
    CHECK(square_of_square(3).get() == 81);
    CHECK(square_runs == 2);
    square_of_square.clear_cache();
    CHECK(square_of_square(3).get() == 81);
    square_of_square.set_store({});
    CHECK(square_runs == 2);
    CHECK(store.stats().hits == 2);
    CHECK(store.stats().writes == 2);
}

TEST_CASE(
    "store memo: a damaged or foreign value in the store is a miss, counted in dropped, and "
    "its call runs again") {
    temp_dir dir;
    std::string const path = dir / "results.db";
    {
        desync::sqlite_store store(path);
        text_runs = 0;
        REQUIRE(run_texts(store, 10) == expected_texts(10));
        REQUIRE(text_runs == 10);
    }
    // One record cut short, one with a byte changed, one replaced by another key's record.
    sql(path, "UPDATE results SET record = substr(record, 1, length(record) - 3) WHERE id = 1");
    sql(path,
        "UPDATE results SET record = CAST(substr(record, 1, 20) || X'5A' || "
        "substr(record, 22) AS BLOB) WHERE id = 2");
    sql(path, "UPDATE results SET record = (SELECT record FROM results WHERE id = 5) WHERE id = 3");
    sql(path, "UPDATE results SET record = randomblob(40) WHERE id = 4");
    {
        desync::sqlite_store store(path);
        text_runs = 0;
        CHECK(run_texts(store, 10) == expected_texts(10));  // never a wrong value
        CHECK(text_runs == 4);
        desync::store_stats const s = store.stats();
        CHECK(s.dropped == 4);
        CHECK(s.hits == 6);
        CHECK(s.misses == 4);
        CHECK(s.writes == 4);  // the damaged values were replaced
    }
    {
        desync::sqlite_store store(path);
        text_runs = 0;
        CHECK(run_texts(store, 10) == expected_texts(10));
        CHECK(text_runs == 0);
        CHECK(store.stats().dropped == 0);
    }
}

TEST_CASE("store memo: a Redis store shared by two processes") {
    redis_server server;
    text_runs = 0;
    REQUIRE(desync::test::exited_cleanly(run_child("redis texts", server.url())));
    desync::redis_store store(server.url());
    CHECK(store.size() == 30);
    CHECK(run_texts(store, 40) == expected_texts(40));
    CHECK(text_runs == 10);  // the child made the first 30
    store.flush();
    desync::store_stats const s = store.stats();
    CHECK(s.hits == 30);
    CHECK(s.writes == 10);
    CHECK(store.size() == 40);
}

TEST_CASE("store memo: values overwritten with garbage in Redis are dropped and run again") {
    redis_server server;
    desync::redis_store store(server.url());
    text_runs = 0;
    REQUIRE(run_texts(store, 5) == expected_texts(5));
    store.flush();
    auto c = server.connect();
    desync::test::redis_reply keys = c({"KEYS", "desync:*"});
    REQUIRE(keys->elements == 5);
    for (std::size_t i = 0; i < 3; ++i)
        c({"SET", std::string_view(keys->element[i]->str, keys->element[i]->len), "garbage"});
    text_runs = 0;
    CHECK(run_texts(store, 5) == expected_texts(5));
    CHECK(text_runs == 3);
    CHECK(store.stats().dropped == 3);
    store.flush();
    text_runs = 0;
    CHECK(run_texts(store, 5) == expected_texts(5));  // the last write stands: repaired
    CHECK(text_runs == 0);
}

TEST_CASE("store memo: a required Redis store that is gone fails the call with store_error") {
    redis_server server;
    std::string const url = server.url();
    server.stop();
    desync::test::stderr_capture quiet;
    desync::redis_store store(url, {.required = true});
    text_runs = 0;
    texts.clear_cache();
    texts.set_store(store);
    CHECK_THROWS_AS(texts(3).get(), desync::store_error);
    texts.set_store({});
    CHECK(store.stats().errors >= 1);
    // Not required: the calls run here instead.
    desync::redis_store soft(url);
    CHECK(run_texts(soft, 3) == expected_texts(3));
    CHECK(text_runs == 3);
}

TEST_CASE("store memo: tiered, local then shared, copies shared hits to local") {
    temp_dir dir;
    redis_server server;
    desync::redis_store shared(server.url());
    {
        desync::sqlite_store first(dir / "first.db");
        square_runs = 0;
        CHECK(run_squares(desync::tiered(first, shared), 12) == sum_of_squares(12));
        CHECK(square_runs == 12);
        CHECK(first.size() == 12);
    }
    shared.flush();
    CHECK(shared.size() == 12);
    desync::sqlite_store second(dir / "second.db");  // another machine's empty file
    desync::store both = desync::tiered(second, shared);
    square_runs = 0;
    CHECK(run_squares(both, 12) == sum_of_squares(12));
    CHECK(square_runs == 0);
    CHECK(both.stats().hits == 12);
    CHECK(second.size() == 12);  // copied back
    CHECK(run_squares(second, 12) == sum_of_squares(12));
    CHECK(square_runs == 0);
    CHECK(second.stats().hits == 12);
}
