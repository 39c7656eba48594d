#pragma once
// SQLite, thinly: owned connections and statements; failures as exceptions inside the store (each
// becomes a refusal at open, or a counted error at run time); and a look at a file's first bytes
// before SQLite opens it, to say why a file is not a store.

#include <sqlite3.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace desync::detail::sqlite {

/// An SQLite call failed: what the store was doing, and SQLite's primary result code.
class failure : public std::runtime_error {
public:
    failure(const std::string& what, int code) : std::runtime_error(what), code_(code & 0xff) {}
    int code() const noexcept { return code_; }

private:
    int code_;
};

struct close_db {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using db_ptr = std::unique_ptr<sqlite3, close_db>;

struct finalize {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using stmt_ptr = std::unique_ptr<sqlite3_stmt, finalize>;

/// How long a connection waits for another (process's) lock before SQLITE_BUSY.
inline constexpr int busy_timeout_ms = 5000;

[[noreturn]] inline void fail(sqlite3* db, int rc, std::string_view doing) {
    throw failure(
        std::string(doing) + " (SQLite: " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)) + ")",
        rc);
}
inline void check(sqlite3* db, int rc, std::string_view doing) {
    if (rc != SQLITE_OK) fail(db, rc, doing);
}

/// Opens `name` (a path, or a file: URI with SQLITE_OPEN_URI) for one thread at a time.
inline db_ptr open(const std::string& name, int flags) {
    sqlite3* raw = nullptr;
    int const rc = sqlite3_open_v2(name.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    db_ptr db(raw);
    if (rc != SQLITE_OK) fail(raw, rc, "opening it");
    sqlite3_busy_timeout(raw, busy_timeout_ms);
    return db;
}

inline stmt_ptr prepare(sqlite3* db, std::string_view sql) {
    sqlite3_stmt* raw = nullptr;
    check(db,
          sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                             SQLITE_PREPARE_PERSISTENT, &raw, nullptr),
          "preparing a statement");
    return stmt_ptr(raw);
}

inline void exec(sqlite3* db, const char* sql, std::string_view doing) {
    check(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr), doing);
}

/// Resets a statement when the scope ends, so that it holds no read snapshot.
class reset_after {
public:
    explicit reset_after(sqlite3_stmt* s) noexcept : s_(s) {}
    reset_after(const reset_after&) = delete;
    reset_after& operator=(const reset_after&) = delete;
    ~reset_after() { sqlite3_reset(s_); }

private:
    sqlite3_stmt* s_;
};

/// Steps `s`: true for a row, false when done; throws otherwise.
inline bool step(sqlite3* db, sqlite3_stmt* s, std::string_view doing) {
    int const rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail(db, rc, doing);
    return false;
}

/// The first column of the first row of `sql`, as an integer (0 without a row).
inline std::int64_t query_int(sqlite3* db, const char* sql, std::string_view doing) {
    stmt_ptr s = prepare(db, sql);
    return step(db, s.get(), doing) ? sqlite3_column_int64(s.get(), 0) : 0;
}
/// The first column of the first row of `sql`, as text (empty without a row).
inline std::string query_text(sqlite3* db, const char* sql, std::string_view doing) {
    stmt_ptr s = prepare(db, sql);
    if (!step(db, s.get(), doing)) return {};
    auto const* text = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
    return text ? text : "";
}

/// Binds a key's halves as SQLite's signed integers (bit for bit).
inline void bind_key(sqlite3_stmt* s, int at, std::uint64_t high, std::uint64_t low) {
    sqlite3_bind_int64(s, at, std::bit_cast<sqlite3_int64>(high));
    sqlite3_bind_int64(s, at + 1, std::bit_cast<sqlite3_int64>(low));
}

/// A file: URI for `path` (percent-encoding what a URI would read otherwise), plus `query`.
inline std::string uri(const std::string& path, std::string_view query) {
    std::string out = "file:";
    for (unsigned char c : path) {
        if (c == '%' || c == '?' || c == '#' || c < 0x21 || c > 0x7e) {
            char hex[4];
            std::snprintf(hex, sizeof hex, "%%%02X", c);
            out += hex;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "?" + std::string(query);
}

/// Why the file at `path` cannot be an SQLite database, from its first 100 bytes and its size;
/// empty when it may be one (or does not exist, or is empty: a new database).
inline std::string header_problem(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::uintmax_t const size = fs::file_size(path, ec);
    if (ec || size == 0) return {};
    unsigned char h[100] = {};
    std::ifstream in(path, std::ios::binary);
    in.read(reinterpret_cast<char*>(h), sizeof h);
    static constexpr char magic[] = "SQLite format 3";  // and its terminating zero: 16 bytes
    if (in.gcount() < 16 || std::memcmp(h, magic, 16) != 0)
        return "it is not an SQLite database (its first bytes are not SQLite's)";
    if (size < sizeof h)
        return "it is truncated (" + std::to_string(size) + " bytes, less than SQLite's header)";
    auto be = [&h](int at, int bytes) {
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) v = v << 8 | h[at + i];
        return v;
    };
    std::uint64_t page = be(16, 2);
    if (page == 1) page = 65536;
    if (page < 512 || page > 65536 || (page & (page - 1)) != 0)
        return "its SQLite header is damaged (page size " + std::to_string(page) + ")";
    // The header's page count holds when its change counter matches "version valid for". With a
    // -wal file present, a writer may be copying pages back right now: the count may lead.
    std::uint64_t const pages = be(28, 4);
    if (be(24, 4) == be(92, 4) && pages > 0 && !fs::exists(path + "-wal", ec) &&
        size < pages * page)
        return "it is truncated (its header says " + std::to_string(pages * page) +
               " bytes, the file holds " + std::to_string(size) + ")";
    return {};
}

}  // namespace desync::detail::sqlite
