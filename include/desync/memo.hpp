#pragma once
/// \file
/// Memo tables and caches (docs/memo.md). Every memoizable call in a call tree records its result
/// in the table of the tree's root function; `f.get_cache()` returns what f's trees recorded (a
/// `desync::cache`, a snapshot), `f.set_cache(c)` installs a cache whose results f's trees then
/// reuse instead of running the calls, and `cache::save` / `cache::load` keep a cache in a file
/// (cache_file.hpp) for a later run.

#include <desync/cache_file.hpp>
#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/memo/cache.hpp>
#include <desync/detail/memo/table.hpp>
#include <desync/detail/memo/value.hpp>
#include <desync/options.hpp>

#include <memory>

namespace desync::detail {

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

}  // namespace desync::detail
