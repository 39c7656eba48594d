#pragma once
/// \file
/// desync::sqlite_store: a store in one SQLite file, shared by every process that opens it
/// (docs/stores.md). Needs the CMake target desync::sqlite, which links SQLite 3.

#ifndef DESYNC_HAS_SQLITE_TARGET
#error \
    "desync/store/sqlite.hpp needs the CMake target desync::sqlite (defined when SQLite 3 is found): target_link_libraries(<target> PRIVATE desync::sqlite)"
#else

#include <desync/detail/store/sqlite_backend.hpp>
#include <desync/store.hpp>
#include <filesystem>
#include <memory>
#include <utility>

namespace desync {

/// A store in the SQLite file at a path: created if missing (unless read-only), in WAL mode, so
/// that several processes may use it at once; for a key written twice, the first write stands.
class sqlite_store : public store {
public:
    /// Opens the store at `path`. A file that is not a store (not SQLite, damaged, truncated, a
    /// database of something else, a store of another layout) is refused with desync::store_error
    /// naming the file and the reason.
    explicit sqlite_store(const std::filesystem::path& path, const sqlite_options& options = {})
        : sqlite_store(path, options, detail::store_namespace::of_this_build(options.salt)) {}
    /// The same, reading and writing the namespace `space` (for desync's memo layer and tests).
    sqlite_store(const std::filesystem::path& path, const sqlite_options& options,
                 detail::store_namespace space)
        : store(std::make_shared<detail::sqlite::backend>(path.string(), options,
                                                          std::move(space))) {}
};

}  // namespace desync

#endif
