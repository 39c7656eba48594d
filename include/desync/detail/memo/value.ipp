#pragma once
// Out-of-line definitions of <desync/detail/memo/value.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/memo/value.hpp>

namespace desync::detail {

DESYNC_DECL bool typed_value<void>::encode(std::string&) const { return true; }  // nothing to write
DESYNC_DECL const void* typed_value<void>::tag() const noexcept { return &type_tag<void>; }
DESYNC_DECL std::uint64_t typed_value<void>::type() const noexcept { return result_type_id<void>; }
DESYNC_DECL std::size_t typed_value<void>::big_bytes() const noexcept { return 0; }

DESYNC_DECL const dep_set* deps_of_ref(std::uint64_t ref) {
    if (ref == no_deps_ref) return nullptr;
    if (ref == unknown_deps_ref) return unverifiable_deps();
    const dep_set* s = dep_sets::get().find(ref);
    return s ? s : unverifiable_deps();
}

DESYNC_DECL std::uint64_t deps_ref_of(const dep_set* s) noexcept {
    if (!s) return no_deps_ref;
    return s == unverifiable_deps() ? unknown_deps_ref : s->id();
}

DESYNC_DECL std::unordered_set<hash128> cache_data::keys() const {
    std::unordered_set<hash128> out;
    out.reserve(size());
    for (const made_entry& e : made) out.insert(e.key);
    for (const record_ptr& r : read) out.insert(cache_format::record_view{r.get()}.key());
    return out;
}

DESYNC_DECL void cache_data::add_missing(const cache_data& other,
                                         std::unordered_set<hash128>& keys) {
    for (const made_entry& e : other.made)
        if (keys.insert(e.key).second) made.push_back(e);
    for (const record_ptr& r : other.read)
        if (keys.insert(cache_format::record_view{r.get()}.key()).second) read.push_back(r);
}

}  // namespace desync::detail
