// desync::tiered(local, shared) over an SQLite file and a redis-server of the test's own: local
// first, then shared, a shared hit copied to local; writes to both. Proved by each store's counts.
#include <desync/store/redis.hpp>
#include <desync/store/sqlite.hpp>
#include <string>

#include "support/catch.hpp"
#include "support/files.hpp"
#include "support/redis_server.hpp"
#include "support/stderr_capture.hpp"
#include "support/store_records.hpp"

using desync::test::key_of;
using desync::test::look;
using desync::test::record_checks;
using desync::test::record_of;
using desync::test::redis_server;
using desync::test::temp_dir;
using desync::test::write_count;

namespace {

void put(const desync::store& s, std::uint64_t i, const std::string& payload) {
    s.backend()->write(key_of(i), record_of(payload), nullptr);
}

}  // namespace

TEST_CASE("tiered looks in local, then in shared, and copies a shared hit to local",
          "[store][tiered]") {
    temp_dir dir;
    redis_server server;
    desync::sqlite_store local(dir / "local.db");
    desync::redis_store shared(server.url());
    desync::store both = desync::tiered(local, shared);
    both.backend()->set_validator(record_checks);  // set on both stores
    put(shared, 1, "shared's");
    put(local, 2, "local's");
    shared.flush(), local.flush();

    REQUIRE(look(both, key_of(1)) == record_of("shared's"));
    both.flush();
    REQUIRE(look(local, key_of(1)) == record_of("shared's"));  // copied
    CHECK(local.stats().writes == 2);
    REQUIRE(look(both, key_of(1)) == record_of("shared's"));  // from local now
    REQUIRE(look(both, key_of(2)) == record_of("local's"));
    REQUIRE_FALSE(look(both, key_of(3)));
    CHECK(shared.stats().hits == 1);    // asked for 1 once, never for 2
    CHECK(shared.stats().misses == 1);  // 3
    desync::store_stats const st = both.stats();
    CHECK(st.hits == 3);
    CHECK(st.misses == 1);
    CHECK(st.writes == 3);  // the sum: local's two and shared's one
    CHECK(both.size() == 2);
}

TEST_CASE("tiered writes to both, and is told once both are", "[store][tiered]") {
    temp_dir dir;
    redis_server server;
    desync::sqlite_store local(dir / "local.db", {.sync_every = std::chrono::milliseconds(0)});
    desync::redis_store shared(server.url());
    desync::store both = desync::tiered(local, shared);
    write_count told;
    both.backend()->write(key_of(1), record_of("one"), &told);
    REQUIRE(told.wait(1) == 1);
    CHECK(told.told() == 1);
    REQUIRE(look(local, key_of(1)) == record_of("one"));
    REQUIRE(look(shared, key_of(1)) == record_of("one"));
}

TEST_CASE("tiered goes on from local when shared is off", "[store][tiered]") {
    desync::test::stderr_capture err;
    temp_dir dir;
    desync::sqlite_store local(dir / "local.db");
    desync::store both = desync::tiered(local, desync::redis_store("unix:///nonexistent/r.sock"));
    put(both, 1, "one");
    both.flush();
    REQUIRE(look(both, key_of(1)) == record_of("one"));
    REQUIRE_FALSE(look(both, key_of(2)));
    CHECK(both.stats().errors == 1);
    CHECK(both.stats().writes == 1);
    CHECK(err.lines() == 1);
}

TEST_CASE("a shared hit the memo layer drops is not kept in local", "[store][tiered]") {
    temp_dir dir;
    redis_server server;
    desync::sqlite_store local(dir / "local.db");
    desync::redis_store shared(server.url());
    desync::store both = desync::tiered(local, shared);
    put(shared, 1, "foreign to the memo layer");
    shared.flush();
    REQUIRE(look(both, key_of(1)));
    both.backend()->dropped(key_of(1));
    both.flush();
    CHECK_FALSE(look(local, key_of(1)));
    CHECK(both.stats().dropped == 1);
    CHECK(both.stats().hits == 0);
    CHECK(both.stats().misses == 1);
}

TEST_CASE("tiered needs one salt, and takes an empty handle for none", "[store][tiered]") {
    temp_dir dir;
    desync::sqlite_store a(dir / "a.db", {.salt = "a"}), b(dir / "b.db", {.salt = "b"});
    REQUIRE_THROWS_AS(desync::tiered(a, b), desync::store_error);
    CHECK(desync::tiered(a, {}) == a);
    CHECK(desync::tiered({}, b) == b);
    CHECK_FALSE(desync::tiered({}, {}));
}
