#pragma once
// Out-of-line definitions of <desync/options.hpp>: included at its end when header-only, or once
// per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/options.hpp>

#include <desync/detail/memo/table.hpp>

namespace desync::detail {

DESYNC_DECL void apply_option(fn_core& c, uses_t u) {
    for (auto& e : u.entries) c.uses.push_back(std::move(e));
}

DESYNC_DECL void apply_option(fn_core& c, needs n) {
    c.default_needs = std::move(n);
    c.resolve_default_needs = &resolve_needs;
}

DESYNC_DECL void apply_option(fn_core& c, cache_limit l) {
    memo_table::install_evict();  // the function's tables are made with this bound
    c.memo_max_entries = l.entries;
    c.memo_max_bytes = l.bytes;
}

}  // namespace desync::detail
