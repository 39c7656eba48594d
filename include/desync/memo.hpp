#pragma once
/// \file
/// Memo tables and caches (docs/memo.md). Every memoizable call in a call tree records its result
/// in the table of the tree's root function; `f.get_cache()` returns what f's trees recorded (a
/// `desync::cache`, a snapshot), `f.set_cache(c)` installs a cache whose results f's trees then
/// reuse instead of running the calls, and `cache::save` / `cache::load` keep a cache in a file
/// (cache_file.hpp) for a later run. `f.set_store(s)` gives f's trees a store (store.hpp,
/// docs/stores.md), asked after the tables and given every new result.

#include <desync/cache_file.hpp>
#include <desync/detail/core/attributes.hpp>
#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/memo/cache.hpp>
#include <desync/options.hpp>
#include <desync/store.hpp>

namespace desync::detail {

/// What the trees rooted at `f` recorded, least recently used first.
DESYNC_DECL cache get_cache(fn_core& f);

/// Installs `c` for the trees rooted at `f`, in place of what was installed.
DESYNC_DECL void set_cache(fn_core& f, const cache& c);

/// Forgets what the trees rooted at `f` recorded and what was installed.
DESYNC_DECL void clear_cache(fn_core& f);

/// Gives the trees rooted at `f` the store `s` (an empty handle: none).
DESYNC_DECL void set_store(fn_core& f, const store& s);

/// Bounds the tables of `f`.
DESYNC_DECL void set_cache_limit(fn_core& f, const cache_limit& limit);

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/memo.ipp>
#endif
