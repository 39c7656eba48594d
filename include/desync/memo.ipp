#pragma once
// Out-of-line definitions of <desync/memo.hpp>: included at its end when header-only, or once
// per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/memo.hpp>

#include <desync/detail/memo/table.hpp>
#include <desync/detail/memo/value.hpp>
#include <desync/detail/store/link.hpp>

#include <memory>

namespace desync::detail {

DESYNC_DECL cache get_cache(fn_core& f) {
    memo_table* t = f.memo_tables.load(std::memory_order_acquire);
    if (!t) return {};
    return cache_access::make(std::make_shared<cache_data>(t->recorded()));
}

DESYNC_DECL void set_cache(fn_core& f, const cache& c) {
    static const cache_data none;
    const cache_data* d = cache_access::data(c);
    tables_of(f).install(d ? *d : none);
}

DESYNC_DECL void clear_cache(fn_core& f) {
    if (memo_table* t = f.memo_tables.load(std::memory_order_acquire)) t->clear();
}

DESYNC_DECL void set_store(fn_core& f, const store& s) {
    std::shared_ptr<memo_store> link;
    if (s) link = std::make_shared<store_link>(s.backend());
    bool const has = link != nullptr;
    if (!has) f.has_store.store(false, std::memory_order_release);
    f.store.store(std::move(link), std::memory_order_release);
    if (has) f.has_store.store(true, std::memory_order_release);
}

DESYNC_DECL void set_cache_limit(fn_core& f, const cache_limit& limit) {
    tables_of(f).set_limit(limit.entries, limit.bytes);
}

}  // namespace desync::detail
