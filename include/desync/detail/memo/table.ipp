#pragma once
// Out-of-line definitions of <desync/detail/memo/table.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/memo/table.hpp>

#include <algorithm>
#include <limits>
#include <vector>

namespace desync::detail {

DESYNC_DECL void memo_slot::move_values_to(memo_slot& out) noexcept {
    out.installed = std::move(installed), out.blob = std::move(blob);
    out.recorded = std::move(recorded), out.recorded_blob = std::move(recorded_blob);
}

DESYNC_DECL void memo_slot::drop() noexcept {
    memo_slot gone;
    move_values_to(gone);
}

DESYNC_DECL std::size_t memo_slot::size() const noexcept {
    auto record_size = [](const record_ptr& r) {
        return cache_format::record_view{r.get()}.value().size();
    };
    std::size_t n = blob ? record_size(blob) : installed ? installed->bytes() : 0;
    if (recorded && recorded != installed) n += recorded->bytes();
    if (recorded_blob && recorded_blob != blob) n += record_size(recorded_blob);
    return n;
}

DESYNC_DECL void memo_table::record(const hash128& key, value_ptr v) {
    if (too_big(*v)) return;  // it would only evict everything else
    memo_shard& sh = shard(key);
    {
        std::lock_guard g(sh.lock);
        edit(sh, key, [&](memo_slot& s) {
            std::swap(s.recorded, v);  // the old value, if any, goes after the lock
            s.recorded_blob = {};
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
            if (!s.has_installed()) s.installed = v;
            if (!s.has_recorded()) s.recorded = v;
            s.stamp = next_stamp();
        });
    }
    evict_if_over();
}

DESYNC_DECL void memo_table::install(const cache_data& c) {
    std::lock_guard g(install_mutex_);
    edit_all([](memo_slot& slot) { slot.installed = {}, slot.blob = {}; });
    for (const made_entry& e : c.made) install_one(e.key, e.value, {});
    for (const record_ptr& r : c.read) install_one(cache_format::record_view{r.get()}.key(), {}, r);
    evict_if_over();
}

DESYNC_DECL void memo_table::clear() {
    std::lock_guard g(install_mutex_);
    edit_all([](memo_slot& slot) { slot.drop(); });
}

DESYNC_DECL cache_data memo_table::recorded() {
    struct item {
        std::uint64_t stamp;
        made_entry made;
        record_ptr read;
    };
    std::vector<item> all;
    all.reserve(entries());
    for (memo_shard& sh : shards_) {
        std::lock_guard l(sh.lock);
        sh.slots.for_each([&](const hash128& key, memo_slot& s) {
            if (s.has_recorded()) all.push_back({s.stamp, {key, s.recorded}, s.recorded_blob});
        });
    }
    std::sort(all.begin(), all.end(),
              [](const item& a, const item& b) { return a.stamp < b.stamp; });
    cache_data out;
    for (item& i : all) {
        if (i.made.value)
            out.made.push_back(std::move(i.made));
        else
            out.read.push_back(std::move(i.read));
    }
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
    if (s.recorded != s.installed)
        edit_at(sh, &s, [this](memo_slot& slot) {
            slot.recorded = slot.installed;
            slot.recorded_blob = {};
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

DESYNC_DECL void memo_table::record_subtree(const memo_value& from) {
    std::vector<hash128> todo(from.children.begin(), from.children.end());
    while (!todo.empty()) {
        hash128 const key = todo.back();
        todo.pop_back();
        memo_shard& sh = shard(key);
        std::lock_guard g(sh.lock);
        memo_slot* s = sh.slots.find(key);
        if (!s || s->has_recorded() || !s->has_installed()) continue;
        if (s->installed) {
            todo.insert(todo.end(), s->installed->children.begin(), s->installed->children.end());
        } else {
            cache_format::record_view const r{s->blob.get()};
            for (std::size_t i = 0; i < r.children(); ++i) todo.push_back(r.child(i));
        }
        edit_at(sh, s, [&](memo_slot& slot) {
            slot.recorded = slot.installed;
            slot.recorded_blob = slot.installed ? record_ptr{} : slot.blob;
            slot.stamp = next_stamp();
        });
    }
}

DESYNC_DECL void memo_table::decoded(memo_shard& sh, const hash128& key, const record_ptr& blob,
                                     const value_ptr& v) {
    {
        std::lock_guard g(sh.lock);
        memo_slot* found = sh.slots.find(key);
        if (found && found->blob == blob)
            edit_at(sh, found, [&](memo_slot& s) {
                s.blob = {};
                s.installed = v;
                if (v) s.recorded = v, s.stamp = next_stamp();
                if (v || s.recorded_blob == blob) s.recorded_blob = {};
            });
        else if (v && !(found && found->recorded) && !too_big(*v))
            edit(sh, key, [&](memo_slot& s) {
                s.recorded = v, s.recorded_blob = {};
                s.stamp = next_stamp();
            });
    }
    evict_if_over();  // the decoded value may count for more than its record did
}

DESYNC_DECL void memo_table::install_one(const hash128& key, value_ptr v, record_ptr blob) {
    memo_shard& sh = shard(key);
    std::lock_guard g(sh.lock);
    edit(sh, key, [&](memo_slot& s) {
        s.installed = std::move(v);
        s.blob = std::move(blob);
        s.stamp = next_stamp();
    });
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
