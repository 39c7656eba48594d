#pragma once
// Out-of-line definitions of <desync/detail/memo/cache.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/memo/cache.hpp>

#include <unordered_set>

namespace desync {

DESYNC_DECL void cache::merge(const cache& other) {
    if (other.empty()) return;
    if (empty()) return void(data_ = other.data_);
    auto merged = std::make_shared<detail::cache_data>(*data_);
    std::unordered_set<hash128> keys = merged->keys();
    merged->add_missing(*other.data_, keys);
    data_ = std::move(merged);
}

}  // namespace desync
