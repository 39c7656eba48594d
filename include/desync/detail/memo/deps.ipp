#pragma once
// Out-of-line definitions of <desync/detail/memo/deps.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/memo/deps.hpp>

#include <desync/xxhash.hpp>

#include <algorithm>

namespace desync::detail {

DESYNC_DECL bool dep_set::verified() const {
    std::uint64_t const v = verdict_.load(std::memory_order_acquire);
    if (v == ok) [[likely]]
        return true;
    std::uint64_t const now = registry::get().generation();
    if (v == refused_at(now)) return false;
    bool const good = std::all_of(entries_.begin(), entries_.end(), [](const dep_entry& e) {
        return registry::get().known(e.full_hash);
    });
    verdict_.store(good ? ok : refused_at(now), std::memory_order_release);
    return good;
}

DESYNC_DECL std::uint64_t dep_set::id_of(std::span<const dep_entry> entries) noexcept {
    std::uint64_t const h =
        xxh3_64({reinterpret_cast<const char*>(entries.data()), entries.size() * sizeof(dep_entry)},
                0x6465707365747331ull);  // "depsets1"
    return h <= no_deps_ref ? h + 2 : h;
}

DESYNC_DECL const dep_set* unverifiable_deps() noexcept {
    static const dep_set mark({}, 0, 0);
    return &mark;
}

DESYNC_DECL dep_sets& dep_sets::get() {
    static dep_sets* sets = new dep_sets;  // never destroyed: results refer to its sets
    return *sets;
}

DESYNC_DECL const dep_set* dep_sets::intern(std::vector<dep_entry> entries) {
    if (entries.empty()) return nullptr;
    std::uint64_t const id = dep_set::id_of(entries);
    std::lock_guard g(mutex_);
    auto [it, fresh] = by_id_.try_emplace(id, nullptr);
    if (!fresh) {
        if (std::equal(entries.begin(), entries.end(), it->second->entries().begin(),
                       it->second->entries().end()))
            return it->second;
        return unverifiable_deps();  // two sets of one 64-bit id: neither can be trusted
    }
    if (all_.size() >= max_sets) return unverifiable_deps();
    auto made = std::make_unique<dep_set>(std::move(entries), id,
                                          static_cast<std::uint32_t>(all_.size() + 1));
    it->second = made.get();
    publish(std::move(made));
    return it->second;
}

DESYNC_DECL const dep_set* dep_sets::find(std::uint64_t id) {
    std::lock_guard g(mutex_);
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
}

DESYNC_DECL dep_sets::dep_sets() : chunks_(new std::atomic<slot*>[max_chunks]) {
    for (std::size_t i = 0; i < max_chunks; ++i) chunks_[i].store(nullptr);
}

DESYNC_DECL void dep_sets::publish(std::unique_ptr<dep_set> made) {
    std::size_t const i = all_.size();
    if (i % chunk_size == 0) {
        owned_chunks_.push_back(std::make_unique<slot[]>(chunk_size));
        chunks_[i / chunk_size].store(owned_chunks_.back().get(), std::memory_order_release);
    }
    chunks_[i / chunk_size].load(std::memory_order_relaxed)[i % chunk_size].store(
        made.get(), std::memory_order_release);
    all_.push_back(std::move(made));
}

DESYNC_DECL const dep_set* dep_builder::finish() {
    if (unverifiable_) return unverifiable_deps();
    if (sets_.size() == 1 && direct_.empty()) return sets_.front();
    std::vector<dep_entry> all = std::move(direct_);
    for (const dep_set* s : sets_) all.insert(all.end(), s->entries().begin(), s->entries().end());
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    const dep_set* set = dep_sets::get().intern(std::move(all));
    if (set) set->made_here();
    return set;
}

}  // namespace desync::detail
