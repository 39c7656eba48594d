#pragma once
// The SQLite store (docs/stores.md): one file in WAL mode, which any number of processes open at
// once. Lookups run on the caller's thread, each on a connection of a small pool (one per thread
// looking up at the same time). Writes queue; one writer thread commits them in batches, at most
// sync_every after the oldest was queued, with synchronous=FULL, so that a commit is durable when
// it returns. A hit renews its row's stamp in a later batch; stamps come from a clock kept in the
// file, so the stamps of every process are ordered, and max_bytes evicts the lowest first.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <desync/detail/store/backend.hpp>
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

/// A queued change: a result to add, a hit's stamp to renew, a damaged result to forget.
struct op {
    enum kind_t : unsigned char { put, touch, forget };
    kind_t kind;
    hash128 key;
    std::string record;
    store_write* done = nullptr;
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
        for (stmt_ptr* s :
             {&insert_, &touch_, &forget_, &clock_, &set_clock_, &bytes_, &oldest_, &evict_})
            s->reset();
        writer_.reset();
    }

    // ---- the caller's side ----

    void lookup(const hash128& key, store_lookup& answer) {
        std::string record;
        bool hit = false;
        try {
            std::unique_ptr<reader> r = acquire();
            hit = read(*r, key, record);
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
        if (!options_.read_only) enqueue({op::touch, key, {}, nullptr});
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

    void flush() override {
        if (options_.read_only) return;
        if (writer_id_.load() == std::this_thread::get_id())
            throw error("desync: " + describe() + ": flush() from the store's own thread");
        std::unique_lock lock(m_);
        std::uint64_t const target = enqueued_;
        if (committed_ >= target || finished_) return;
        flush_to_ = std::max(flush_to_, target);
        wake_.notify_one();
        flushed_.wait(lock, [&] { return committed_ >= target || finished_; });
    }

    std::size_t size() {
        flush();
        std::unique_ptr<reader> r = acquire();
        std::int64_t const space = space_of(*r);
        if (space < 0) return 0;
        sqlite3_stmt* s = r->count.get();
        std::int64_t n = 0;
        {
            reset_after reset(s);
            sqlite3_bind_int64(s, 1, space);
            if (step(r->db.get(), s, "counting results")) n = sqlite3_column_int64(s, 0);
        }
        release(std::move(r));
        return static_cast<std::size_t>(n);
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
        std::unique_lock lock(m_);
        for (;;) {
            wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
            if (queue_.empty()) break;  // stopped, and everything is written
            while (!stop_ && flush_to_ <= committed_ && !batch_full()) {
                if (wake_.wait_until(lock, due()) == std::cv_status::timeout) break;
            }
            std::vector<op> batch = std::move(queue_);
            queue_.clear();
            touched_.clear();
            has_put_ = false;
            queued_bytes_ = 0;
            std::uint64_t const upto = enqueued_;
            lock.unlock();
            commit(batch);
            lock.lock();
            committed_ = upto;
            flushed_.notify_all();
        }
        finished_ = true;
        flushed_.notify_all();
    }

private:
    static constexpr std::size_t batch_bytes = std::size_t{64} << 20;
    static constexpr std::size_t batch_ops = 65536;

    [[noreturn]] void refuse(const std::string& reason) const { sqlite::refuse(path_, reason); }

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
        if (query_text(db, "PRAGMA journal_mode", "reading its journal mode") != "wal")
            query_text(db, "PRAGMA journal_mode=WAL", "switching it to WAL mode");
        exec(db, "PRAGMA synchronous=FULL", "asking for durable commits");
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
        touch_ =
            prepare(db, "UPDATE results SET stamp = ?1 WHERE space = ?2 AND hi = ?3 AND lo = ?4");
        forget_ = prepare(db, "DELETE FROM results WHERE space = ?1 AND hi = ?2 AND lo = ?3");
        clock_ = prepare(db, "SELECT value FROM meta WHERE name = 'clock'");
        set_clock_ = prepare(db, "UPDATE meta SET value = ?1 WHERE name = 'clock'");
        bytes_ = prepare(db, "SELECT value FROM meta WHERE name = 'bytes'");
        oldest_ = prepare(db, "SELECT id, length(record) FROM results ORDER BY stamp");
        evict_ = prepare(db, "DELETE FROM results WHERE id = ?1");
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
        r.get = prepare(db.get(),
                        "SELECT record FROM results WHERE space = ?1 AND hi = ?2 AND lo = ?3");
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

    bool read(reader& r, const hash128& key, std::string& record) {
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
        for (const op& o : batch)
            if (o.done) o.done->written(ok);
    }

    void transaction(const std::vector<op>& batch, std::uint64_t& added, std::uint64_t& ignored) {
        sqlite3* db = writer_.get();
        exec(db, "BEGIN IMMEDIATE", "starting to write");
        std::int64_t clock = 0;
        {
            reset_after reset(clock_.get());
            if (step(db, clock_.get(), "reading its clock"))
                clock = sqlite3_column_int64(clock_.get(), 0);
        }
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
            } else if (o.kind == op::touch) {
                sqlite3_bind_int64(s, 1, clock);
                sqlite3_bind_int64(s, 2, space);
                bind_key(s, 3, o.key.high, o.key.low);
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
    std::atomic<std::thread::id> writer_id_{};

    std::mutex m_;
    std::condition_variable wake_, flushed_;
    std::vector<op> queue_;
    std::unordered_set<hash128> touched_;  // keys whose stamps are queued already
    std::size_t queued_bytes_ = 0;
    bool has_put_ = false;
    std::chrono::steady_clock::time_point first_at_, first_put_at_;
    std::uint64_t enqueued_ = 0, committed_ = 0, flush_to_ = 0;
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
