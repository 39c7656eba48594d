#pragma once
// The layout of an SQLite store: its tables, the marks in its header (PRAGMA application_id and
// user_version), and the check that an opened file is a store of this layout, or an empty
// database to make one of; anything else is refused with the file's name and the reason.

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <desync/detail/store/sqlite_db.hpp>
#include <desync/error.hpp>
#include <string>
#include <thread>

namespace desync::detail::sqlite {

/// "DSYN" in the file's header (PRAGMA application_id): the file is a desync store.
inline constexpr std::int64_t application_id = 0x4453594E;
/// The tables' layout (PRAGMA user_version). Records of other formats live beside, apart.
inline constexpr std::int64_t layout_version = 1;

/// The tables of a new store, and the marks in its header.
inline std::string schema() {
    return R"sql(
CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta VALUES ('clock', 0), ('bytes', 0);
CREATE TABLE spaces(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE results(id INTEGER PRIMARY KEY, space INTEGER NOT NULL, hi INTEGER NOT NULL,
                     lo INTEGER NOT NULL, stamp INTEGER NOT NULL, record BLOB NOT NULL);
CREATE UNIQUE INDEX results_key ON results(space, hi, lo);
CREATE INDEX results_stamp ON results(stamp);
CREATE TRIGGER results_added AFTER INSERT ON results BEGIN
  UPDATE meta SET value = value + length(NEW.record) WHERE name = 'bytes'; END;
CREATE TRIGGER results_removed AFTER DELETE ON results BEGIN
  UPDATE meta SET value = value - length(OLD.record) WHERE name = 'bytes'; END;
PRAGMA application_id = )sql" +
           std::to_string(application_id) +
           ";\nPRAGMA user_version = " + std::to_string(layout_version) + ";\n";
}

/// Refuses to open `path` as a store, saying why.
[[noreturn]] inline void refuse(const std::string& path, const std::string& reason) {
    throw store_error("desync: cannot open " + path + " as a store: " + reason);
}

/// What the file's header and schema say, read in one transaction.
struct layout {
    std::int64_t app = 0, version = 0, objects = 0;
};
inline layout layout_of(sqlite3* db) {
    return {query_int(db, "PRAGMA application_id", "reading its header"),
            query_int(db, "PRAGMA user_version", "reading its header"),
            query_int(db, "SELECT count(*) FROM sqlite_master", "reading its schema")};
}
template <class Body>
void in_transaction(sqlite3* db, const char* begin, Body body) {
    exec(db, begin, "reading it");
    try {
        body();
        exec(db, "COMMIT", "reading it");
    } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

/// Puts `db` in WAL mode; false when SQLite cannot. The switch needs the file alone, and SQLite
/// answers "locked" at once, without waiting, while another process has it open (making the same
/// switch): it tries again for as long as a lock is waited for elsewhere.
inline bool to_wal(sqlite3* db) {
    auto const until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
    for (;;) {
        try {
            return query_text(db, "PRAGMA journal_mode=WAL", "switching it to WAL mode") == "wal";
        } catch (const failure& f) {
            if ((f.code() != SQLITE_BUSY && f.code() != SQLITE_LOCKED) ||
                std::chrono::steady_clock::now() > until)
                throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

/// Checks that `db`, the file at `path`, is a store of this layout, making one of an empty
/// database when `may_create`; refuses anything else.
inline void check_layout(sqlite3* db, const std::string& path, bool may_create) {
    auto refuse = [&path](const std::string& reason) { sqlite::refuse(path, reason); };
    layout l;
    in_transaction(db, "BEGIN", [&] { l = layout_of(db); });  // another process may be creating it
    if (l.app == application_id) {
        if (l.version != layout_version)
            refuse("it is a desync store of layout version " + std::to_string(l.version) +
                   "; this build reads layout version " + std::to_string(layout_version));
        return;
    }
    if (l.app != 0) {
        char id[16];
        std::snprintf(id, sizeof id, "0x%08llX",
                      static_cast<unsigned long long>(static_cast<std::uint32_t>(l.app)));
        refuse("it is an SQLite database of another application (application_id " +
               std::string(id) + ")");
    }
    if (l.objects != 0 || l.version != 0)
        refuse("it is an SQLite database of something else (" + std::to_string(l.objects) +
               " schema objects, and no desync application_id)");
    if (!may_create) refuse("it is an empty SQLite database, not a store");
    if (!to_wal(db)) refuse("SQLite cannot keep it in WAL mode, which several processes need");
    in_transaction(db, "BEGIN IMMEDIATE", [&] {
        l = layout_of(db);
        if (l.app == 0 && l.objects == 0 && l.version == 0)
            exec(db, schema().c_str(), "creating the store");
    });
    check_layout(db, path, false);  // what it is now: ours, or what another process made meanwhile
}

}  // namespace desync::detail::sqlite
