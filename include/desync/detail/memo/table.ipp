#pragma once
// Out-of-line definitions of <desync/detail/memo/table.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/memo/table.hpp>

#include <algorithm>
#include <limits>
#include <vector>

namespace desync::detail {

DESYNC_DECL void memo_slot::move_values_to(memo_slot& out) noexcept {
    out.drop();
    swap_values(out);
}

DESYNC_DECL void memo_slot::drop() noexcept {
    install(value_ptr());
    record(value_ptr());
}

DESYNC_DECL std::size_t memo_slot::size() const noexcept {
    auto record_size = [](const std::byte* r) {
        return cache_format::record_view{r}.value().size();
    };
    std::size_t n = blob() ? record_size(blob()) : installed() ? installed()->bytes() : 0;
    if (!recorded_is_installed()) {
        if (recorded()) n += recorded()->bytes();
        if (recorded_blob()) n += record_size(recorded_blob());
    }
    return n;
}

DESYNC_DECL void memo_table::record(const hash128& key, value_ptr v) {
    if (too_big(*v)) return;  // it would only evict everything else
    memo_shard& sh = shard(key);
    {
        std::lock_guard g(sh.lock);
        edit(sh, key, [&](memo_slot& s) {
            v = s.record(std::move(v));  // the old value, if any, goes after the lock
            s.stamp = next_stamp();
        });
    }
    evict_if_over();
}

DESYNC_DECL void memo_table::found_elsewhere(const hash128& key, const value_ptr& v) {
    if (too_big(*v)) return;
    memo_shard& sh = shard(key);
    {
        std::lock_guard g(sh.lock);
        edit(sh, key, [&](memo_slot& s) {
            if (!s.has_installed()) s.install(v);
            if (!s.has_recorded()) s.record(v);
            s.stamp = next_stamp();
        });
    }
    evict_if_over();
}

// The entries go in by windows of the cache, each window's grouped by shard: a shard's lock is
// taken once per window, its index grows once, and the index cells of the keys ahead are asked
// for while one is added. Stamps follow the cache's order (its least recently used first), as if
// each entry were added in turn. The table keeps the cache's files, and those of the files it held
// that this run's undecoded records still point into.
DESYNC_DECL void memo_table::install(const cache_data& c) {
    std::vector<std::shared_ptr<const file_bytes>> gone;  // let go of after the locks
    std::lock_guard g(install_mutex_);
    std::vector<bool> still_used(files_.size());
    edit_all([&](memo_slot& slot) {
        slot.install(value_ptr());
        if (const std::byte* r = slot.recorded_blob()) files_.mark_holder(r, still_used);
    });
    // Past this, only the new cache's records become blobs (here, under install_mutex_), and
    // only blobs become recorded records: no slot points into a file left out.
    with_every_shard_locked([&] {
        files_.keep_only(still_used, gone);
        files_.add_all(c.files);
    });
    std::size_t const made = c.made.size(), total = c.size();
    std::uint64_t const first_stamp = epoch_.fetch_add(total, std::memory_order_relaxed) + 1;
    constexpr std::size_t window = std::size_t{1} << 16;
    std::vector<hash128> keys;  // the window's, read once (a loaded record's from its bytes)
    keys.reserve(std::min(total, window));
    std::array<std::vector<std::uint32_t>, shard_count> by_shard;  // places in the window
    for (std::size_t from = 0; from < total; from += window) {
        std::size_t const to = std::min(total, from + window);
        keys.clear();
        for (auto& places : by_shard) places.clear();
        for (std::size_t i = from; i < to; ++i) {
            keys.push_back(i < made ? c.made[i].key
                                    : cache_format::record_view{c.read[i - made]}.key());
            by_shard[shard_number(keys.back())].push_back(static_cast<std::uint32_t>(i - from));
        }
        for (std::size_t n = 0; n < shard_count; ++n) {
            const std::vector<std::uint32_t>& places = by_shard[n];
            if (places.empty()) continue;
            memo_shard& sh = shards_[n];
            std::lock_guard l(sh.lock);
            sh.slots.reserve(sh.slots.size() + places.size());
            for (std::size_t k = 0; k < places.size(); ++k) {
                if (k + 8 < places.size()) sh.slots.prefetch(keys[places[k + 8]]);
                std::size_t const i = from + places[k];
                edit(sh, keys[places[k]], [&](memo_slot& s) {
                    if (i < made)
                        s.install(c.made[i].value);
                    else
                        s.install(c.read[i - made]);
                    s.stamp = first_stamp + i;
                });
            }
        }
    }
    evict_if_over();
}

DESYNC_DECL void memo_table::clear() {
    file_set gone;  // let go of after the locks
    std::lock_guard g(install_mutex_);
    edit_all([](memo_slot& slot) { slot.drop(); });
    with_every_shard_locked([&] { std::swap(gone, files_); });
}

// Puts `items` in the order of their `stamps` (oldest first) through a permutation of Index, the
// smallest integer that numbers them: 4 bytes per entry beside the stamps' 8, where sorting
// (stamp, entry) pairs and copying them out would hold each entry twice.
template <class Index, class T>
inline void in_stamp_order_by(std::vector<T>& items, const std::vector<std::uint64_t>& stamps) {
    std::vector<Index> order(items.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<Index>(i);
    std::sort(order.begin(), order.end(), [&](Index a, Index b) { return stamps[a] < stamps[b]; });
    // items[j] becomes what was at order[j], one cycle of the permutation at a time; a place
    // done is marked by order[j] == j.
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (order[i] == i) continue;
        T first = std::move(items[i]);
        std::size_t j = i;
        for (;;) {
            std::size_t const from = order[j];
            order[j] = static_cast<Index>(j);
            if (from == i) {
                items[j] = std::move(first);
                break;
            }
            items[j] = std::move(items[from]);
            j = from;
        }
    }
}

template <class T>
inline void in_stamp_order(std::vector<T>& items, const std::vector<std::uint64_t>& stamps) {
    if (items.size() <= std::numeric_limits<std::uint32_t>::max())
        in_stamp_order_by<std::uint32_t>(items, stamps);
    else
        in_stamp_order_by<std::size_t>(items, stamps);
}

// Collects each entry once, into the cache it returns, with its stamp beside it, and orders them
// in place: 12 bytes per entry on top of the cache's own 24, so that a table of 10^7 results can
// be saved within the memory of the run that made it (docs/memo.md).
DESYNC_DECL cache_data memo_table::recorded() {
    cache_data out;
    std::lock_guard g(install_mutex_);  // the files stay while their records are collected
    std::vector<bool> files_used(files_.size());
    std::vector<std::uint64_t> made_stamps, read_stamps;
    std::size_t const n = entries();  // a bound: calls may record more meanwhile
    out.made.reserve(n);
    made_stamps.reserve(n);
    for (memo_shard& sh : shards_) {
        std::lock_guard l(sh.lock);
        sh.slots.for_each([&](const hash128& key, memo_slot& s) {
            if (const memo_value* v = s.recorded()) {
                out.made.push_back({key, value_ptr(v)});
                made_stamps.push_back(s.stamp);
            } else if (const std::byte* r = s.recorded_blob()) {
                out.read.push_back(r);
                read_stamps.push_back(s.stamp);
                files_.mark_holder(r, files_used);
            }
        });
    }
    for (std::size_t f = 0; f < files_.size(); ++f)
        if (files_used[f]) out.files.add(files_[f]);
    in_stamp_order(out.made, made_stamps);
    in_stamp_order(out.read, read_stamps);
    return out;
}

DESYNC_DECL void memo_table::set_limit(std::size_t max_entries, std::size_t max_bytes) {
    install_evict();
    max_entries_.store(max_entries, std::memory_order_relaxed);
    max_bytes_.store(max_bytes, std::memory_order_relaxed);
    evict_if_over();
}

DESYNC_DECL void memo_table::stop_running(const hash128& key, const task_base* t) noexcept {
    memo_shard& sh = shard(key);
    task_ref<> gone;  // released after the lock
    std::lock_guard g(sh.lock);
    auto it = sh.running.find(key);
    if (it == sh.running.end() || it->second.task.get() != t) return;
    gone = std::move(it->second.task);
    sh.running.erase(it);
}

DESYNC_DECL void memo_table::served(memo_shard& sh, memo_slot& s) {
    if (!s.recorded_is_installed())
        edit_at(sh, &s, [this](memo_slot& slot) {
            slot.record_installed();
            slot.stamp = next_stamp();
        });
    else if (bounded())
        s.stamp = next_stamp();
}

DESYNC_DECL void memo_table::touch(const hash128& key) {
    memo_shard& sh = shard(key);
    std::lock_guard g(sh.lock);
    if (memo_slot* s = sh.slots.find(key)) s->stamp = next_stamp();
}

// Level by level, each level's keys grouped by shard: a shard's lock is taken once per level,
// and the index cells of the keys ahead are asked for while one is looked up.
DESYNC_DECL void memo_table::record_subtree(const memo_value& from) {
    std::span<const hash128> const first = from.children();
    std::vector<hash128> level(first.begin(), first.end()), next;
    auto by_shard = [](const hash128& a, const hash128& b) {
        return shard_number(a) < shard_number(b);
    };
    while (!level.empty()) {
        std::sort(level.begin(), level.end(), by_shard);
        for (std::size_t begin = 0, end = 0; begin < level.size(); begin = end) {
            std::size_t const n = shard_number(level[begin]);
            while (end < level.size() && shard_number(level[end]) == n) ++end;
            memo_shard& sh = shards_[n];
            std::lock_guard g(sh.lock);
            for (std::size_t k = begin; k < end; ++k) {
                if (k + 4 < end) sh.slots.prefetch(level[k + 4]);
                memo_slot* s = sh.slots.find(level[k]);
                if (!s || s->has_recorded() || !s->has_installed()) continue;
                if (const memo_value* v = s->installed()) {
                    std::span<const hash128> const c = v->children();
                    next.insert(next.end(), c.begin(), c.end());
                } else {
                    cache_format::record_view const r{s->blob()};
                    for (std::size_t i = 0; i < r.children(); ++i) next.push_back(r.child(i));
                }
                edit_at(sh, s, [&](memo_slot& slot) {
                    slot.record_installed();
                    slot.stamp = next_stamp();
                });
            }
        }
        level.swap(next);
        next.clear();
    }
}

DESYNC_DECL void memo_table::decoded(memo_shard& sh, const hash128& key, const std::byte* blob,
                                     const value_ptr& v) {
    {
        std::lock_guard g(sh.lock);
        memo_slot* found = sh.slots.find(key);
        if (found && found->blob() == blob)
            edit_at(sh, found, [&](memo_slot& s) {
                s.install(v);
                if (v)
                    s.record(v), s.stamp = next_stamp();
                else if (s.recorded_blob() == blob)
                    s.record(value_ptr());
            });
        else if (v && !(found && found->recorded()) && !too_big(*v))
            edit(sh, key, [&](memo_slot& s) {
                s.record(v);
                s.stamp = next_stamp();
            });
    }
    evict_if_over();  // the decoded value may count for more than its record did
}

DESYNC_DECL bool memo_table::too_big(const memo_value& v) const noexcept {
    std::size_t const max_bytes = max_bytes_.load(std::memory_order_relaxed);
    return max_bytes && v.bytes() > max_bytes;
}

DESYNC_DECL void memo_table::evict_if_over() {
    if (over(max_entries_.load(std::memory_order_relaxed),
             max_bytes_.load(std::memory_order_relaxed)))
        if (auto* evict = installed_evict.load(std::memory_order_acquire)) evict(*this);
}

DESYNC_DECL void running_entry::fire() noexcept {
    table->stop_running(key, task);
    delete this;
}

DESYNC_DECL bool memo_table::start_running(const hash128& key, task_base* t, const void* tag) {
    memo_shard& sh = shard(key);
    {
        std::lock_guard g(sh.lock);
        auto [it, fresh] = sh.running.try_emplace(key);
        if (!fresh && it->second.task && !it->second.task->done())
            return it->second.task.get() == t;
        it->second = running_call{task_ref<>::share(t), tag};
    }
    auto* e = new running_entry(this, key, t);
    if (!t->add_continuation(e)) e->fire();  // it finished meanwhile
    return true;
}

// Evicts the least recently used entries until the table is 1/16 under its bounds (exactly at
// them for bounds under 16), so that a full table does not scan itself on every insertion.
DESYNC_DECL void memo_table::evict() {
    std::lock_guard g(evict_mutex_);
    std::size_t const max_entries = max_entries_.load(std::memory_order_relaxed);
    std::size_t const max_bytes = max_bytes_.load(std::memory_order_relaxed);
    if (!over(max_entries, max_bytes)) return;
    constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
    std::size_t const keep_entries = max_entries ? max_entries - max_entries / 16 : none;
    std::size_t const keep_bytes = max_bytes ? max_bytes - max_bytes / 16 : none;
    std::vector<victim> all;
    all.reserve(entries());
    for (memo_shard& sh : shards_) {
        std::lock_guard l(sh.lock);
        sh.slots.for_each([&](const hash128& key, memo_slot& s) { all.push_back({s.stamp, key}); });
    }
    std::sort(all.begin(), all.end(),
              [](const victim& a, const victim& b) { return a.stamp < b.stamp; });
    for (const victim& v : all) {
        if (entries() <= keep_entries && bytes() <= keep_bytes) break;
        evict_one(v);
    }
}

// Evicts an entry unless it was used since it was chosen.
DESYNC_DECL bool memo_table::evict_one(const victim& v) {
    memo_shard& sh = shard(v.key);
    memo_slot gone;  // its values are released after the lock
    std::lock_guard g(sh.lock);
    memo_slot* found = sh.slots.find(v.key);
    if (!found || found->stamp != v.stamp) return false;
    edit_at(sh, found, [&](memo_slot& s) { s.move_values_to(gone); });
    return true;
}

DESYNC_DECL memo_table& tables_of(fn_core& root) {
    if (memo_table* t = root.memo_tables.load(std::memory_order_acquire)) return *t;
    std::call_once(root.memo_once, [&] {
        auto t = std::make_shared<memo_table>(root.memo_max_entries, root.memo_max_bytes);
        root.memo_owner = t;
        root.memo_tables.store(t.get(), std::memory_order_release);
    });
    return *root.memo_tables.load(std::memory_order_acquire);
}

}  // namespace desync::detail
