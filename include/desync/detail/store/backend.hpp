#pragma once
// What a store is beneath its handle (docs/stores.md): lookups answered through a callback object,
// inline or later from the store's own thread; writes queued behind the caller and written by the
// store's thread; a namespace that keeps the results of other formats, builds and salts apart.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <desync/detail/cache/header.hpp>
#include <desync/xxhash.hpp>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace desync {

/// What a store did in this process since it was opened. `hits + misses` are the lookups
/// answered; `dropped` of those misses found a damaged or foreign value; `writes + skipped` are the
/// results offered for writing (skipped: too large, a read-only or switched-off store, or a key
/// that was already stored); `errors` counts failures of the store itself.
struct store_stats {
    std::uint64_t hits = 0;     ///< Lookups answered with a stored result.
    std::uint64_t misses = 0;   ///< Lookups answered without one (dropped values included).
    std::uint64_t writes = 0;   ///< Results this store added.
    std::uint64_t dropped = 0;  ///< Stored values found damaged or foreign, answered as misses.
    std::uint64_t errors = 0;   ///< Failures: a server gone, a refused password, a failed commit.
    std::uint64_t skipped = 0;  ///< Results offered but not added (see above).
};

}  // namespace desync

namespace desync::detail {

/// One lookup in flight. The store calls exactly one of these, once, on any thread: inline,
/// before lookup() returns, or later from the store's own thread. Each must return quickly (hand
/// the work on) and must not flush or destroy the store it came from.
struct store_lookup {
    /// The stored record for the key (it passed the store's validator, if one is set).
    virtual void found(std::string record) noexcept = 0;
    /// Nothing usable is stored (or the store is off and not required).
    virtual void missing() noexcept = 0;
    /// A required store went off: `e` holds a desync::store_error.
    virtual void failed(std::exception_ptr e) noexcept = 0;

protected:
    ~store_lookup() = default;
};

/// Told once when a written record is stored durably, or will not be; called on the store's own
/// thread, or inline when the write is refused at once. Same rules as store_lookup's calls.
struct store_write {
    /// `durable`: the store holds a result for the key on disk (this record, or an earlier one:
    /// the first write stands). False: skipped, or the write failed.
    virtual void written(bool durable) noexcept = 0;

protected:
    ~store_write() = default;
};

/// Checks a record found under `key` before a lookup answers it: false drops it (counted in
/// `dropped`, answered missing). Called concurrently from any thread.
using store_validator = std::function<bool(const hash128& key, std::string_view record)>;

/// What keeps results apart: the record format's version, the build's fingerprint and the salt
/// (Redis adds its key prefix). Results of another namespace are never seen.
struct store_namespace {
    std::uint32_t format_version = 0;  ///< Of the records (the cache file's format).
    std::string fingerprint;           ///< Of the build (compiler, ABI, byte order, ...).
    std::string salt;                  ///< The user's salt.

    /// This build's namespace for `salt`: the cache file's format version and fingerprint.
    static store_namespace of_this_build(std::string salt) {
        return {cache_format::format_version, cache_format::fingerprint(), std::move(salt)};
    }
    /// A readable name, unique per namespace: "format 2; GCC 12.2.0, ...; salt 9f3c...".
    std::string name() const {
        return "format " + std::to_string(format_version) + "; " + fingerprint + "; salt " +
               hash128{cache_format::salt_hash(salt), 0}.to_hex().substr(16);
    }
    /// A 64-bit digest of name(), spelt in Redis keys.
    std::uint64_t id() const { return xxh3_64(name()); }
};

/// A store beneath its handle. Every member may be called from any thread, concurrently.
class store_backend {
public:
    virtual ~store_backend() = default;

    /// Looks `key` up and answers `answer` (which must live until answered) exactly once. Never
    /// waits on a network: SQLite answers inline, Redis from its I/O thread.
    virtual void lookup(const hash128& key, store_lookup& answer) = 0;
    /// Queues `record` under `key`; the store's thread writes it. Never blocks for I/O. `done`,
    /// if not null, must live until told.
    virtual void write(const hash128& key, std::string record, store_write* done) = 0;
    /// The memo layer found the record a lookup of `key` answered damaged or foreign: counts it
    /// (a hit becomes a dropped miss), and forgets it so that a later write of the key stands.
    virtual void dropped(const hash128& key) noexcept = 0;
    /// Forgets what is stored under `key`, without counting, where a later write would not
    /// replace it (SQLite's first write stands; Redis's last write does, so it does nothing).
    virtual void forget(const hash128& key) noexcept { (void)key; }
    /// Returns once everything written before the call is durable. Not from the store's thread.
    virtual void flush() = 0;
    /// Returns once lookups see every result other processes had stored when it was called (an
    /// SQLite store reads their new keys into its filter). Not from the store's thread.
    virtual void catch_up() {}
    /// Whether each write is durable before its store_write is told (sync_every 0): the memo
    /// layer then waits for it before a call's value is ready.
    virtual bool syncs_each_write() const noexcept { return false; }
    /// The counters so far.
    virtual store_stats stats() const = 0;
    /// The results stored in this namespace (after a flush of this process's writes).
    virtual std::size_t size() = 0;
    /// Installs the check every found record must pass (nullptr: none). Best set before the first
    /// lookup; lookups already answering may still use the one before.
    virtual void set_validator(store_validator check) = 0;
    /// The namespace this store reads and writes (its salt seeds the memo layer's checksums).
    virtual const store_namespace& space() const noexcept = 0;
    /// Names the store in messages: "the SQLite store results.db".
    virtual std::string describe() const = 0;
};

// ---- pieces every backend uses ----

/// The counters of store_stats, updated from any thread.
struct store_counters {
    std::atomic<std::uint64_t> hits{0}, misses{0}, writes{0}, dropped{0}, errors{0}, skipped{0};

    store_stats snapshot() const noexcept {
        auto get = [](const std::atomic<std::uint64_t>& c) {
            return c.load(std::memory_order_relaxed);
        };
        return {get(hits), get(misses), get(writes), get(dropped), get(errors), get(skipped)};
    }
    /// The memo layer dropped a record it had been given: that hit becomes a dropped miss.
    void hit_dropped() noexcept {
        hits.fetch_sub(1, std::memory_order_relaxed);
        misses.fetch_add(1, std::memory_order_relaxed);
        dropped.fetch_add(1, std::memory_order_relaxed);
    }
};

inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) noexcept {
    counter.fetch_add(by, std::memory_order_relaxed);
}

/// A validator read without a lock on every lookup: each one installed stays alive until the
/// slot dies, so a lookup that loaded the previous one may finish with it.
class validator_slot {
public:
    void set(store_validator check) {
        std::lock_guard lock(m_);
        if (!check) {
            current_.store(nullptr, std::memory_order_release);
            return;
        }
        kept_.push_back(std::make_unique<const store_validator>(std::move(check)));
        current_.store(kept_.back().get(), std::memory_order_release);
    }
    /// False when a validator is set and refuses the record (or throws).
    bool accepts(const hash128& key, std::string_view record) const noexcept {
        const store_validator* check = current_.load(std::memory_order_acquire);
        if (!check) return true;
        try {
            return (*check)(key, record);
        } catch (...) {
            return false;
        }
    }

private:
    std::mutex m_;
    std::vector<std::unique_ptr<const store_validator>> kept_;
    std::atomic<const store_validator*> current_{nullptr};
};

}  // namespace desync::detail
