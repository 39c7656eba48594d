#pragma once
// The SQLite store (docs/stores.md): one file in WAL mode, which any number of processes open at
// once. Lookups run on the caller's thread, each on a connection of a small pool (one per thread
// looking up at the same time). Writes queue; one writer thread commits them in batches, at most
// sync_every after the oldest was queued, with synchronous=FULL, so that a commit is durable when
// it returns. A hit renews its row's stamp in a later batch; stamps come from a clock kept in the
// file, so the stamps of every process are ordered, and max_bytes evicts the lowest first.
// The writer thread also keeps a filter of the keys stored in this namespace (key_filter.hpp):
// it reads them when it starts, adds what it commits, and polls for the rows other processes
// add; a lookup of a key the filter never held is a miss without a query.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <desync/detail/store/backend.hpp>
#include <desync/detail/store/key_filter.hpp>
#include <desync/detail/store/registry.hpp>
#include <desync/detail/store/sqlite_db.hpp>
#include <desync/detail/store/sqlite_layout.hpp>
#include <desync/detail/store/thread.hpp>
#include <desync/error.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

namespace desync {

/// Options of desync::sqlite_store.
struct sqlite_options {
    /// Keeps these results apart from those of other salts in the same file.
    std::string salt{};
    /// Lookups only: the file must be a store already, and nothing is ever written to it.
    bool read_only = false;
    /// Bounds the bytes of the records in the file (every salt and build): beyond it, the least
    /// recently hit are evicted. 0: unbounded.
    std::uint64_t max_bytes = 0;
    /// A result is durable at most this long after its write; 0ms: before its write is told.
    std::chrono::milliseconds sync_every{100};
};

}  // namespace desync

namespace desync::detail::sqlite {

inline std::string absolute(const std::string& path) {
    std::error_code ec;
    std::filesystem::path const full = std::filesystem::absolute(path, ec);
    return ec ? path : full.string();
}

/// A queued change: a result to add, a hit's stamp to renew (its row `id`), a damaged result to
/// forget.
struct op {
    enum kind_t : unsigned char { put, touch, forget };
    kind_t kind;
    hash128 key;
    std::string record;
    store_write* done = nullptr;
    std::int64_t id = 0;
};

/// A connection for lookups, with its statements (finalized before it closes).
struct reader {
    db_ptr db;
    stmt_ptr get, count, find_space;
};

/// The store's state, shared by its handle and its writer thread.
class core final : public store_core {
public:
    core(std::string path, const sqlite_options& options, store_namespace space)
        : path_(std::move(path)),
          file_(absolute(path_)),
          options_(options),
          space_(std::move(space)) {
        try {
            open_store();
        } catch (const failure& f) {
            refuse(f.code() == SQLITE_NOTADB
                       ? "it is not an SQLite database: " + std::string(f.what())
                   : f.code() == SQLITE_CORRUPT ? "it is damaged: " + std::string(f.what())
                                                : std::string(f.what()));
        }
    }

    // The writer closes last: the last connection to close copies the WAL into the file and
    // removes it, which a read-only connection cannot do.
    ~core() override {
        idle_.clear();
        for (stmt_ptr* s : {&insert_, &touch_, &forget_, &clock_, &set_clock_, &bytes_, &oldest_,
                            &evict_, &all_keys_, &new_keys_})
            s->reset();
        writer_.reset();
    }

    // ---- the caller's side ----

    void lookup(const hash128& key, store_lookup& answer) {
        if (const key_filter* f = filter_.load(std::memory_order_acquire); f && !f->may_hold(key)) {
            missed_.store(true, std::memory_order_relaxed);
            bump(counts_.misses);
            return answer.missing();
        }
        std::string record;
        bool hit = false;
        std::int64_t id = 0, stamp = 0;
        try {
            std::unique_ptr<reader> r = acquire();
            hit = read(*r, key, record, id, stamp);
            release(std::move(r));
        } catch (const std::exception& e) {  // the reader is closed: it may be the cause
            count_error(e.what());
            bump(counts_.misses);
            return answer.missing();
        }
        if (!hit) {
            bump(counts_.misses);
            return answer.missing();
        }
        if (!validator_.accepts(key, record)) {
            bump(counts_.dropped), bump(counts_.misses);
            forget(key);
            return answer.missing();
        }
        bump(counts_.hits);
        if (!options_.read_only && stamp < renew_below())
            enqueue({op::touch, key, {}, nullptr, id});
        answer.found(std::move(record));
    }

    void write(const hash128& key, std::string record, store_write* done) {
        if (options_.read_only || record.size() >= longest_ ||
            !enqueue({op::put, key, std::move(record), done})) {
            bump(counts_.skipped);
            if (done) done->written(false);
        }
    }

    void forget(const hash128& key) noexcept {
        if (options_.read_only) return;
        try {
            enqueue({op::forget, key, {}, nullptr});
        } catch (...) {  // out of memory: the damaged value stays, still dropped at each lookup
        }
    }

    void catch_up() {
        if (options_.read_only) return;
        std::unique_lock lock = wait_for_writer();
        std::uint64_t const round = ++poll_asked_;
        wake_.notify_one();
        flushed_.wait(lock, [&] { return polled_ >= round || finished_; });
    }

    void flush() override {
        if (options_.read_only) return;
        std::unique_lock lock = wait_for_writer();
        std::uint64_t const target = enqueued_;
        if (committed_ >= target || finished_) return;
        flush_to_ = std::max(flush_to_, target);
        wake_.notify_one();
        flushed_.wait(lock, [&] { return committed_ >= target || finished_; });
    }

    std::size_t size() {
        flush();
        return stored_count();
    }

    void stop() {
        {
            std::lock_guard lock(m_);
            stop_ = true;
        }
        wake_.notify_one();
    }

    store_stats stats() const { return counts_.snapshot(); }
    store_counters& counters() noexcept { return counts_; }
    void set_validator(store_validator check) { validator_.set(std::move(check)); }
    const store_namespace& space() const noexcept { return space_; }
    std::string describe() const { return "the SQLite store " + path_; }

    // ---- the writer thread ----

    void run() {
        writer_id_.store(std::this_thread::get_id());
        make_filter();
        std::unique_lock lock(m_);
        for (;;) {
            // Idle: waits for writes or catch_up(), looking for other processes' rows meanwhile
            // when lookups missed.
            while (!stop_ && queue_.empty() && polled_ >= poll_asked_) {
                if (wake_.wait_for(lock, poll_every) == std::cv_status::timeout &&
                    missed_.exchange(false, std::memory_order_relaxed)) {
                    lock.unlock();
                    poll_filter();
                    lock.lock();
                }
            }
            if (queue_.empty() && polled_ >= poll_asked_) break;  // stopped, everything written
            std::uint64_t upto = committed_;
            if (!queue_.empty()) {
                while (!stop_ && flush_to_ <= committed_ && polled_ >= poll_asked_ &&
                       !batch_full()) {
                    if (wake_.wait_until(lock, due()) == std::cv_status::timeout) break;
                }
                std::vector<op> batch = std::move(queue_);
                queue_.clear();
                touched_.clear();
                has_put_ = false;
                queued_bytes_ = 0;
                upto = enqueued_;
                lock.unlock();
                commit(batch);
                lock.lock();
            }
            std::uint64_t const asked = poll_asked_;
            lock.unlock();
            missed_.store(false, std::memory_order_relaxed);
            poll_filter();  // this process's new keys, and other processes'
            lock.lock();
            committed_ = upto;
            polled_ = asked;
            flushed_.notify_all();
        }
        finished_ = true;
        flushed_.notify_all();
    }

private:
    static constexpr std::size_t batch_bytes = std::size_t{64} << 20;
    static constexpr std::size_t batch_ops = 65536;
    // A hit renews its stamp only when the stamp is older than the newest sixteenth of the clock
    // (as a file system's relatime does): a result hit again soon after is not rewritten, and
    // the order of eviction is off by at most that sixteenth.
    std::int64_t renew_below() const noexcept {
        std::int64_t const now = clock_seen_.load(std::memory_order_relaxed);
        return now - now / 16;
    }
    // How often an idle writer looks for the keys other processes added, while lookups miss.
    static constexpr std::chrono::milliseconds poll_every{100};

    [[noreturn]] void refuse(const std::string& reason) const { sqlite::refuse(path_, reason); }

    // The writer's lock, to wait for it: never on the writer's own thread (a callback there).
    std::unique_lock<std::mutex> wait_for_writer() {
        if (writer_id_.load() == std::this_thread::get_id())
            throw error("desync: " + describe() + ": flush() from the store's own thread");
        return std::unique_lock(m_);
    }

    void open_store() {
        std::error_code ec;
        if (options_.read_only && !std::filesystem::exists(file_, ec))
            refuse("it does not exist (a read-only store is never created)");
        if (std::filesystem::is_directory(file_, ec)) refuse("it is a directory");
        if (std::string problem = header_problem(file_); !problem.empty()) refuse(problem);
        if (options_.read_only) return open_read_only();
        reader_name_ = file_;
        reader_flags_ = SQLITE_OPEN_READONLY;
        writer_ = open(file_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        longest_ = static_cast<std::size_t>(sqlite3_limit(writer_.get(), SQLITE_LIMIT_LENGTH, -1));
        sqlite3* db = writer_.get();
        check_layout(db, path_, true);
        if (query_text(db, "PRAGMA journal_mode", "reading its journal mode") != "wal" &&
            !to_wal(db))
            refuse("SQLite cannot keep it in WAL mode, which several processes need");
        exec(db, "PRAGMA synchronous=FULL", "asking for durable commits");
        // A batch dirties pages all over the key index (keys are hashes). SQLite's default cache
        // (2 MiB) then spills dirty pages to the WAL before the commit and writes them again:
        // 7 writes per result at 10^5 results. The writer's cache holds a whole batch instead.
        exec(db, "PRAGMA cache_size=-262144", "sizing its cache");  // KiB: 256 MiB at most
        // Copying the WAL back into the file (a checkpoint) every 4 MiB of WAL, SQLite's default,
        // copies the same index pages again and again; every 64 MiB, a third less work per result.
        exec(db, "PRAGMA wal_autocheckpoint=16384", "sizing its checkpoints");  // pages of 4 KiB
        {
            stmt_ptr add = prepare(db, "INSERT OR IGNORE INTO spaces(name) VALUES (?1)");
            std::string const name = space_.name();
            sqlite3_bind_text(add.get(), 1, name.data(), static_cast<int>(name.size()),
                              SQLITE_STATIC);
            step(db, add.get(), "adding its namespace");
        }
        auto r = std::make_unique<reader>(make_reader(open(reader_name_, reader_flags_)));
        space_id_.store(space_of(*r));
        idle_.push_back(std::move(r));
        insert_ = prepare(db,
                          "INSERT INTO results(space, hi, lo, stamp, record) "
                          "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING");
        touch_ = prepare(db, "UPDATE results SET stamp = ?1 WHERE id = ?2");
        forget_ = prepare(db, "DELETE FROM results WHERE space = ?1 AND hi = ?2 AND lo = ?3");
        clock_ = prepare(db, "SELECT value FROM meta WHERE name = 'clock'");
        set_clock_ = prepare(db, "UPDATE meta SET value = ?1 WHERE name = 'clock'");
        clock_seen_.store(stored_clock());
        bytes_ = prepare(db, "SELECT value FROM meta WHERE name = 'bytes'");
        oldest_ = prepare(db, "SELECT id, length(record) FROM results ORDER BY stamp");
        evict_ = prepare(db, "DELETE FROM results WHERE id = ?1");
        all_keys_ = prepare(db, "SELECT hi, lo, id FROM results WHERE space = ?1");
        // The new rows by their ids: SQLite would rather scan the namespace's whole key index.
        new_keys_ =
            prepare(db, "SELECT hi, lo, id FROM results NOT INDEXED WHERE id > ?1 AND space = ?2");
    }

    // SQLite reads a WAL database through its -wal and -shm files and creates them when they are
    // missing, which a directory this process may not write forbids. Without a -wal file, no
    // writer has the store open: read the file as it is (immutable), creating nothing.
    void open_read_only() {
        reader_name_ = file_;
        reader_flags_ = SQLITE_OPEN_READONLY;
        std::unique_ptr<reader> r;
        try {
            r = first_reader();
        } catch (const failure& f) {
            std::error_code ec;
            if ((f.code() != SQLITE_READONLY && f.code() != SQLITE_CANTOPEN) ||
                std::filesystem::exists(file_ + "-wal", ec))
                throw;
            reader_name_ = uri(file_, "immutable=1");
            reader_flags_ = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
            r = first_reader();
        }
        space_id_.store(space_of(*r));
        idle_.push_back(std::move(r));
    }

    std::unique_ptr<reader> first_reader() {
        db_ptr db = open(reader_name_, reader_flags_);
        check_layout(db.get(), path_, false);
        return std::make_unique<reader>(make_reader(std::move(db)));
    }

    static reader make_reader(db_ptr db) {
        reader r;
        r.get = prepare(
            db.get(),
            "SELECT record, id, stamp FROM results WHERE space = ?1 AND hi = ?2 AND lo = ?3");
        r.count = prepare(db.get(), "SELECT count(*) FROM results WHERE space = ?1");
        r.find_space = prepare(db.get(), "SELECT id FROM spaces WHERE name = ?1");
        r.db = std::move(db);
        return r;
    }

    std::unique_ptr<reader> acquire() {
        {
            std::lock_guard lock(pool_m_);
            if (!idle_.empty()) {
                std::unique_ptr<reader> r = std::move(idle_.back());
                idle_.pop_back();
                return r;
            }
        }
        return std::make_unique<reader>(make_reader(open(reader_name_, reader_flags_)));
    }
    void release(std::unique_ptr<reader> r) {
        std::lock_guard lock(pool_m_);
        idle_.push_back(std::move(r));
    }

    // The namespace's row id: -1 until a writer has added it (a read-only store asks again).
    std::int64_t space_of(reader& r) {
        std::int64_t id = space_id_.load(std::memory_order_relaxed);
        if (id >= 0) return id;
        sqlite3_stmt* s = r.find_space.get();
        reset_after reset(s);
        std::string const name = space_.name();
        sqlite3_bind_text(s, 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
        if (!step(r.db.get(), s, "finding its namespace")) return -1;
        id = sqlite3_column_int64(s, 0);
        space_id_.store(id, std::memory_order_relaxed);
        return id;
    }

    bool read(reader& r, const hash128& key, std::string& record, std::int64_t& id,
              std::int64_t& stamp) {
        std::int64_t const space = space_of(r);
        if (space < 0) return false;
        sqlite3_stmt* s = r.get.get();
        reset_after reset(s);
        sqlite3_bind_int64(s, 1, space);
        bind_key(s, 2, key.high, key.low);
        if (!step(r.db.get(), s, "looking a result up")) return false;
        auto const* blob = static_cast<const char*>(sqlite3_column_blob(s, 0));
        auto const bytes = static_cast<std::size_t>(sqlite3_column_bytes(s, 0));
        if (blob) record.assign(blob, bytes);
        id = sqlite3_column_int64(s, 1);
        stamp = sqlite3_column_int64(s, 2);
        return true;
    }

    // False when the writer thread has ended: nothing queued now would be written.
    bool enqueue(op o) {
        bool wake = false;
        {
            std::lock_guard lock(m_);
            if (finished_) return false;
            if (o.kind == op::touch && !touched_.insert(o.key).second) return true;
            auto const now = std::chrono::steady_clock::now();
            if (queue_.empty()) first_at_ = now, wake = true;
            if (o.kind == op::put && !has_put_) has_put_ = true, first_put_at_ = now, wake = true;
            queued_bytes_ += o.record.size();
            wake = wake || (o.kind == op::put && options_.sync_every.count() <= 0);
            queue_.push_back(std::move(o));
            ++enqueued_;
            wake = wake || batch_full();
        }
        if (wake) wake_.notify_one();
        return true;
    }

    bool batch_full() const noexcept {
        return queued_bytes_ >= batch_bytes || queue_.size() >= batch_ops;
    }
    // Results are due sync_every after the first was queued; stamps and forgetting can wait.
    std::chrono::steady_clock::time_point due() const {
        auto const lazy =
            first_at_ + std::max(options_.sync_every, std::chrono::milliseconds(1000));
        return has_put_ ? std::min(first_put_at_ + options_.sync_every, lazy) : lazy;
    }

    void commit(std::vector<op>& batch) noexcept {
        std::uint64_t added = 0, ignored = 0, puts = 0;
        for (const op& o : batch) puts += o.kind == op::put;
        bool ok = false;
        for (int attempt = 1; !ok; ++attempt) {
            try {
                added = ignored = 0;
                transaction(batch, added, ignored);
                ok = true;
            } catch (const std::exception& e) {
                if (!sqlite3_get_autocommit(writer_.get()))
                    sqlite3_exec(writer_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
                auto const* f = dynamic_cast<const failure*>(&e);
                if (f && f->code() == SQLITE_BUSY && attempt < 3) continue;
                count_error(e.what());
                break;
            }
        }
        bump(counts_.writes, ok ? added : 0);
        bump(counts_.skipped, ok ? ignored : puts);
        if (key_filter* f = filter_.load(std::memory_order_relaxed); f && ok) {
            for (const op& o : batch)  // this process sees its results once told they are stored
                if (o.kind == op::put) f->add(o.key);
        }
        for (const op& o : batch)
            if (o.done) o.done->written(ok);
    }

    void transaction(const std::vector<op>& batch, std::uint64_t& added, std::uint64_t& ignored) {
        sqlite3* db = writer_.get();
        exec(db, "BEGIN IMMEDIATE", "starting to write");
        std::int64_t clock = stored_clock();
        std::int64_t const space = space_id_.load(std::memory_order_relaxed);
        for (const op& o : batch) {
            ++clock;
            sqlite3_stmt* s = o.kind == op::put     ? insert_.get()
                              : o.kind == op::touch ? touch_.get()
                                                    : forget_.get();
            reset_after reset(s);
            if (o.kind == op::put) {
                sqlite3_bind_int64(s, 1, space);
                bind_key(s, 2, o.key.high, o.key.low);
                sqlite3_bind_int64(s, 4, clock);
                sqlite3_bind_blob64(s, 5, o.record.data(), o.record.size(), SQLITE_STATIC);
                step(db, s, "writing a result");
                ++(sqlite3_changes(db) ? added : ignored);
            } else if (o.kind == op::touch) {  // the id may be another result's now: no harm
                sqlite3_bind_int64(s, 1, clock);
                sqlite3_bind_int64(s, 2, o.id);
                step(db, s, "renewing a hit's stamp");
            } else {
                sqlite3_bind_int64(s, 1, space);
                bind_key(s, 2, o.key.high, o.key.low);
                step(db, s, "forgetting a damaged result");
            }
        }
        {
            reset_after reset(set_clock_.get());
            sqlite3_bind_int64(set_clock_.get(), 1, clock);
            step(db, set_clock_.get(), "advancing its clock");
        }
        clock_seen_.store(clock, std::memory_order_relaxed);
        if (options_.max_bytes > 0) evict(db);
        exec(db, "COMMIT", "committing");
    }

    // Deletes the least recently hit records until the file's records fit in max_bytes.
    void evict(sqlite3* db) {
        std::int64_t excess = 0;
        {
            reset_after reset(bytes_.get());
            if (step(db, bytes_.get(), "reading its size"))
                excess = sqlite3_column_int64(bytes_.get(), 0) -
                         static_cast<std::int64_t>(options_.max_bytes);
        }
        if (excess <= 0) return;
        std::vector<std::int64_t> ids;
        {
            reset_after reset(oldest_.get());
            while (excess > 0 && step(db, oldest_.get(), "finding what to evict")) {
                ids.push_back(sqlite3_column_int64(oldest_.get(), 0));
                excess -= sqlite3_column_int64(oldest_.get(), 1);
            }
        }
        for (std::int64_t id : ids) {
            reset_after reset(evict_.get());
            sqlite3_bind_int64(evict_.get(), 1, id);
            step(db, evict_.get(), "evicting a result");
        }
    }

    // ---- the filter of stored keys (the writer thread's) ----

    // Reads every key of the namespace into a filter with room for twice as many as the last
    // one held, and publishes it. Until then, and if this fails, every lookup asks SQLite.
    void make_filter() noexcept {
        try {
            key_filter const* last = filter_.load(std::memory_order_relaxed);
            std::size_t keys = last ? last->added() : stored_count();
            for (;;) {
                auto f = std::make_unique<key_filter>(2 * keys + 65536);
                sqlite3_stmt* s = all_keys_.get();
                reset_after reset(s);
                sqlite3_bind_int64(s, 1, space_id_.load(std::memory_order_relaxed));
                std::int64_t const seen = add_keys(*f, s, 0, "reading its keys");
                if (f->added() > f->capacity()) {  // more than the last filter held: again
                    keys = f->added();
                    continue;
                }
                seen_id_ = seen;
                filter_.store(f.get(), std::memory_order_release);
                filters_.push_back(std::move(f));  // earlier ones stay: a lookup may read one
                return;
            }
        } catch (const std::exception& e) {
            count_error(e.what());
        }
    }

    // Adds the keys of rows added since the last look (this process's and others'); a filter
    // past its room is made again, twice as large as what it holds.
    void poll_filter() noexcept {
        key_filter* f = filter_.load(std::memory_order_relaxed);
        if (!f) return;
        try {
            sqlite3_stmt* s = new_keys_.get();
            reset_after reset(s);
            sqlite3_bind_int64(s, 1, seen_id_);
            sqlite3_bind_int64(s, 2, space_id_.load(std::memory_order_relaxed));
            std::int64_t const before = seen_id_;
            seen_id_ = add_keys(*f, s, seen_id_, "reading its new keys");
            if (seen_id_ !=
                before)  // other processes may have advanced the clock: renew by its true age
                clock_seen_.store(
                    std::max(clock_seen_.load(std::memory_order_relaxed), stored_clock()),
                    std::memory_order_relaxed);
        } catch (const std::exception& e) {
            count_error(e.what());
        }
        if (f->added() > f->capacity()) make_filter();
    }

    // The results of this namespace in the file, counted on a reader.
    std::size_t stored_count() {
        std::unique_ptr<reader> r = acquire();
        std::int64_t const space = space_of(*r);
        std::int64_t n = 0;
        if (space >= 0) {
            sqlite3_stmt* s = r->count.get();
            reset_after reset(s);
            sqlite3_bind_int64(s, 1, space);
            if (step(r->db.get(), s, "counting results")) n = sqlite3_column_int64(s, 0);
        }
        release(std::move(r));
        return static_cast<std::size_t>(n);
    }

    // The stamp clock kept in the file, read on the writer's connection (0 if it has none).
    std::int64_t stored_clock() {
        reset_after reset(clock_.get());
        return step(writer_.get(), clock_.get(), "reading its clock")
                   ? sqlite3_column_int64(clock_.get(), 0)
                   : 0;
    }

    // Adds the keys of the rows `s` (hi, lo, id) gives to `f`; the largest id seen, from `seen`.
    std::int64_t add_keys(key_filter& f, sqlite3_stmt* s, std::int64_t seen, const char* doing) {
        while (step(writer_.get(), s, doing)) {
            f.add({static_cast<std::uint64_t>(sqlite3_column_int64(s, 1)),
                   static_cast<std::uint64_t>(sqlite3_column_int64(s, 0))});
            seen = std::max<std::int64_t>(seen, sqlite3_column_int64(s, 2));
        }
        return seen;
    }

    // One line on stderr for the first error of this store; the others are counted only.
    void count_error(const char* what) noexcept {
        bump(counts_.errors);
        if (reported_.exchange(true)) return;
        std::string const line = "desync: " + describe() + ": " + what +
                                 " (further errors of this store are counted, not shown)\n";
        std::fputs(line.c_str(), stderr);
    }

    std::string path_;  // as given, for messages
    std::string file_;  // absolute: readers open later, whatever the working directory is then
    std::size_t longest_ = 0;  // the longest record SQLite takes
    sqlite_options options_;
    store_namespace space_;
    store_counters counts_;
    validator_slot validator_;
    std::atomic<std::int64_t> space_id_{-1};
    std::atomic<bool> reported_{false};

    std::string reader_name_;
    int reader_flags_ = 0;
    std::mutex pool_m_;
    std::vector<std::unique_ptr<reader>> idle_;

    // The writer's connection and statements (used by its thread alone once it runs).
    db_ptr writer_;
    stmt_ptr insert_, touch_, forget_, clock_, set_clock_, bytes_, oldest_, evict_;
    stmt_ptr all_keys_, new_keys_;
    std::atomic<key_filter*> filter_{nullptr};          // null: every lookup asks SQLite
    std::vector<std::unique_ptr<key_filter>> filters_;  // every filter published, kept to the end
    std::int64_t seen_id_ = 0;                          // the last row the filter holds
    std::atomic<bool> missed_{false};                   // a lookup missed since the last poll
    std::atomic<std::int64_t> clock_seen_{0};  // the stamp clock, as of the writer's last look
    std::atomic<std::thread::id> writer_id_{};

    std::mutex m_;
    std::condition_variable wake_, flushed_;
    std::vector<op> queue_;
    std::unordered_set<hash128> touched_;  // keys whose stamps are queued already
    std::size_t queued_bytes_ = 0;
    bool has_put_ = false;
    std::chrono::steady_clock::time_point first_at_, first_put_at_;
    std::uint64_t enqueued_ = 0, committed_ = 0, flush_to_ = 0;
    std::uint64_t poll_asked_ = 0, polled_ = 0;  // rounds of catch_up() asked, and done
    bool stop_ = false, finished_ = false;
};

/// The handle's side: forwards to the core; closing stops the writer, which writes what is queued.
class backend final : public store_backend {
public:
    backend(std::string path, const sqlite_options& options, store_namespace space)
        : core_(std::make_shared<core>(std::move(path), options, std::move(space))),
          sync_every_(options.sync_every),
          read_only_(options.read_only) {
        if (!options.read_only) thread_.start(core_);
        store_registry::get().add(core_);
    }
    ~backend() override {
        core_->stop();
        thread_.finish();
    }

    void lookup(const hash128& key, store_lookup& answer) override { core_->lookup(key, answer); }
    void write(const hash128& key, std::string record, store_write* done) override {
        core_->write(key, std::move(record), done);
    }
    void dropped(const hash128& key) noexcept override {
        core_->counters().hit_dropped();
        core_->forget(key);
    }
    void forget(const hash128& key) noexcept override { core_->forget(key); }
    void flush() override { core_->flush(); }
    void catch_up() override { core_->catch_up(); }
    bool syncs_each_write() const noexcept override {
        return !read_only_ && sync_every_.count() <= 0;
    }
    store_stats stats() const override { return core_->stats(); }
    std::size_t size() override { return core_->size(); }
    void set_validator(store_validator check) override { core_->set_validator(std::move(check)); }
    const store_namespace& space() const noexcept override { return core_->space(); }
    std::string describe() const override { return core_->describe(); }

private:
    std::shared_ptr<core> core_;
    std::chrono::milliseconds sync_every_;
    bool read_only_;
    store_thread thread_;
};

}  // namespace desync::detail::sqlite
