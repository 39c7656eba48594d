#pragma once
// Out-of-line definitions of <desync/detail/memo/value.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/memo/value.hpp>

#include <algorithm>
#include <iterator>
#include <mutex>
#include <unordered_set>

namespace desync::detail {

DESYNC_DECL const value_origin* origin_of(const void* tag, const value_ops* ops,
                                          std::uint64_t callee, const dep_set* deps) {
    value_origin const wanted{tag, ops, callee, deps};
    // This thread's last few: results of one function in a row find theirs here.
    constexpr std::size_t recent_count = 4;
    thread_local constinit const value_origin* recent[recent_count] = {};
    for (const value_origin* o : recent)
        if (o && *o == wanted) return o;
    static_assert(std::has_unique_object_representations_v<value_origin>);  // hashed as bytes
    struct by_bytes {
        std::size_t operator()(const value_origin& o) const noexcept {
            return static_cast<std::size_t>(XXH3_64bits(&o, sizeof o));
        }
    };
    struct origins {
        std::mutex mutex;
        std::unordered_set<value_origin, by_bytes> all;  // nodes never move
    };
    // Never freed (nor destroyed at exit): results let go of during static destruction still
    // reach their origin.
    static origins& all = *new origins;
    const value_origin* found = nullptr;
    {
        std::lock_guard lock(all.mutex);
        found = &*all.all.insert(wanted).first;
    }
    std::copy_backward(recent, recent + recent_count - 1, recent + recent_count);
    recent[0] = found;
    return found;
}

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
    for (const std::byte* r : read) out.insert(cache_format::record_view{r}.key());
    return out;
}

DESYNC_DECL void cache_data::add_missing(const cache_data& other,
                                         std::unordered_set<hash128>& keys) {
    for (const made_entry& e : other.made)
        if (keys.insert(e.key).second) made.push_back(e);
    bool any = false;
    for (const std::byte* r : other.read)
        if (keys.insert(cache_format::record_view{r}.key()).second) read.push_back(r), any = true;
    if (any) files.add_all(other.files);
}

DESYNC_DECL void file_set::add(std::shared_ptr<const file_bytes> f) {
    auto at = std::lower_bound(files_.begin(), files_.end(), f, [](const auto& a, const auto& b) {
        return std::less<>{}(a->data.get(), b->data.get());
    });
    if (at == files_.end() || *at != f) files_.insert(at, std::move(f));
}

DESYNC_DECL void file_set::add_all(const file_set& other) {
    for (const auto& f : other.files_) add(f);
}

DESYNC_DECL std::size_t file_set::find(const std::byte* p) const noexcept {
    // The last file that starts at or before p.
    auto after = std::upper_bound(
        files_.begin(), files_.end(), p,
        [](const std::byte* q, const auto& f) { return std::less<>{}(q, f->data.get()); });
    if (after == files_.begin() || !(*std::prev(after))->holds(p)) return files_.size();
    return static_cast<std::size_t>(std::prev(after) - files_.begin());
}

DESYNC_DECL void file_set::keep_only(const std::vector<bool>& keep,
                                     std::vector<std::shared_ptr<const file_bytes>>& gone) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < files_.size(); ++i) {
        if (!keep[i])
            gone.push_back(std::move(files_[i]));
        else if (kept++ != i)
            files_[kept - 1] = std::move(files_[i]);
    }
    files_.resize(kept);
}

}  // namespace desync::detail
