#pragma once
// desync::cache, the value users move between functions and files: a set of results, shared
// (copies copy no value) and immutable. Saving and loading are defined in cache_file.hpp.

#include <desync/detail/core/attributes.hpp>
#include <desync/detail/memo/value.hpp>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string_view>
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
    void merge(const cache& other);

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

}  // namespace detail
}  // namespace desync

#if DESYNC_HEADER_ONLY
#include <desync/detail/memo/cache.ipp>
#endif
