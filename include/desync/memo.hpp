#pragma once
/// \file
/// Memo tables and caches (DESIGN §4). Every memoizable call in a call tree records its result
/// in the table of the tree's root function; `f.get_cache()` returns what f's trees recorded (a
/// `desync::cache`, a snapshot), `f.set_cache(c)` installs a cache whose results f's trees then
/// reuse instead of running the calls, and `cache::save` / `cache::load` keep a cache in a file
/// (cache_file.hpp) for a later run.

#include <cstddef>
#include <desync/detail/fn_core.hpp>
#include <desync/detail/memo_table.hpp>
#include <desync/detail/memo_value.hpp>
#include <desync/options.hpp>
#include <filesystem>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <utility>

namespace desync {

/// What cache::save wrote: `written` results, and `skipped` results that stay in memory only
/// because their type cannot be encoded (see codec.hpp).
struct save_report {
    std::size_t written = 0;  ///< results written to the file
    std::size_t skipped = 0;  ///< results whose type cannot be saved
};

namespace detail {
struct cache_access;
}  // namespace detail

/// A set of recorded call results: what `get_cache()` returns and `set_cache()` installs. A
/// value type: copies are cheap (they share the results) and independent. Results loaded from
/// a file are decoded when a call first asks for them; one that does not decode as the type the
/// call expects is a miss, never a wrong value.
class cache {
  public:
    /// An empty cache: installing it makes every call run.
    cache() = default;

    /// The number of results.
    std::size_t size() const noexcept { return data_ ? data_->size() : 0; }
    /// True when it holds no result.
    bool empty() const noexcept { return size() == 0; }
    /// How many damaged records the load that made this cache skipped (0 if it was not loaded).
    /// A damaged stretch of the file counts once, however many records it spanned.
    std::size_t dropped() const noexcept { return data_ ? data_->dropped : 0; }
    /// How many results the load that made this cache read but cannot use: they were saved in an
    /// older file format, which does not say what their runs called (so no call can verify them).
    std::size_t outdated() const noexcept { return data_ ? data_->outdated : 0; }

    /// Removes every result.
    void clear() noexcept { data_.reset(); }

    /// Adds the results of `other` whose calls this cache does not hold (this cache's win).
    void merge(const cache& other) {
        if (other.empty()) return;
        if (empty()) return void(data_ = other.data_);
        auto merged = std::make_shared<detail::cache_data>(*data_);
        std::unordered_set<hash128> keys = merged->keys();
        merged->add_missing(*other.data_, keys);
        data_ = std::move(merged);
    }

    /// Writes the results to `file`, atomically: a crash or a concurrent save leaves either the
    /// old file or a whole new one. `salt` must be given again to load it. POSIX only.
    /// Throws desync::cache_error if the file cannot be written, or if its directory cannot be
    /// synced after the rename (the new file is then in place, but a crash may undo it).
    save_report save(const std::filesystem::path& file, std::string_view salt = {}) const;

    /// Reads a cache saved by this build (same compiler, standard library, architecture) with
    /// the same `salt`. Throws desync::cache_error, saying why, for an unreadable file or a
    /// foreign or damaged header; damaged records are skipped and counted (dropped()).
    static cache load(const std::filesystem::path& file, std::string_view salt = {});

  private:
    friend struct detail::cache_access;
    explicit cache(std::shared_ptr<const detail::cache_data> d) noexcept : data_(std::move(d)) {}
    std::shared_ptr<const detail::cache_data> data_;
};

namespace detail {

struct cache_access {
    static const cache_data* data(const cache& c) noexcept { return c.data_.get(); }
    static cache make(std::shared_ptr<const cache_data> d) noexcept { return cache(std::move(d)); }
};

/// What the trees rooted at `f` recorded, least recently used first.
inline cache get_cache(fn_core& f) {
    memo_table* t = f.memo_tables.load(std::memory_order_acquire);
    if (!t) return {};
    return cache_access::make(std::make_shared<cache_data>(t->recorded()));
}

/// Installs `c` for the trees rooted at `f`, in place of what was installed.
inline void set_cache(fn_core& f, const cache& c) {
    static const cache_data none;
    const cache_data* d = cache_access::data(c);
    tables_of(f).install(d ? *d : none);
}

/// Forgets what the trees rooted at `f` recorded and what was installed.
inline void clear_cache(fn_core& f) {
    if (memo_table* t = f.memo_tables.load(std::memory_order_acquire)) t->clear();
}

/// Bounds the tables of `f`.
inline void set_cache_limit(fn_core& f, const cache_limit& limit) {
    tables_of(f).set_limit(limit.entries, limit.bytes);
}

}  // namespace detail
}  // namespace desync

#include <desync/cache_file.hpp>
