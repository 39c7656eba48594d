#pragma once
// The memo table of a root function (docs/memo.md). One map of slots, sharded by key so that
// probes on different threads rarely meet on a lock; each slot holds what was installed
// (set_cache, or a loaded file's record until its first probe decodes it) and what this run
// recorded, often the same shared value. Loaded records are plain pointers into their files,
// which the table holds (files_) until set_cache or clear_cache leaves no slot pointing into one.
// Bounded tables evict by a use stamp: the least recently used go first, in batches of 1/16 of the
// bound so that eviction costs O(1) per insertion on average.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <desync/detail/core/attributes.hpp>
#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/core/task.hpp>
#include <desync/detail/core/work_deque.hpp>
#include <desync/detail/memo/map.hpp>
#include <desync/detail/memo/quick.hpp>
#include <desync/detail/memo/value.hpp>
#include <desync/xxhash.hpp>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace desync::detail {

/// share_results: a call in flight, and the type_tag of its result.
struct running_call {
    task_ref<> task;
    const void* tag = nullptr;
};

/// What one key holds: 48 bytes. What is installed (served to probes) and what this run recorded
/// (what get_cache() returns) are each one word: a shared result, or a loaded file's record not
/// decoded yet (a pointer into a file the table holds), which `records_` tells apart.
class memo_slot {
public:
    hash128 key;  // set by its map
    std::uint64_t stamp = 0;
    std::uint32_t quick = 0;  // its quick cell's number + 1, or 0 (memo_quick.hpp)

private:                        // here, beside `quick`, so that the slot is 48 bytes
    std::uint8_t records_ = 0;  // which of the two words below are records
    const void* installed_ = nullptr;
    const void* recorded_ = nullptr;

public:
    memo_slot() noexcept = default;
    memo_slot(const memo_slot&) = delete;
    memo_slot& operator=(memo_slot&& o) noexcept {
        key = o.key, stamp = o.stamp, quick = o.quick;
        swap_values(o);
        return *this;
    }
    ~memo_slot() { drop(); }

    /// The installed result, or nullptr (nothing, or a record).
    const memo_value* installed() const noexcept { return value_at(installed_, installed_record); }
    /// The installed record, or nullptr (nothing, or a result).
    const std::byte* blob() const noexcept { return record_at(installed_, installed_record); }
    /// The result this run recorded, or nullptr.
    const memo_value* recorded() const noexcept { return value_at(recorded_, recorded_record); }
    /// The undecoded record this run recorded (by a hit on a call above it), or nullptr.
    const std::byte* recorded_blob() const noexcept {
        return record_at(recorded_, recorded_record);
    }

    /// Installs a result (nullptr: nothing), or a record.
    void install(value_ptr v) noexcept { put(installed_, installed_record, v.release(), false); }
    void install(const std::byte* record) noexcept {
        put(installed_, installed_record, record, record != nullptr);
    }
    /// Records a result (nullptr: nothing); returns the one it replaced, to let go of after the
    /// shard's lock.
    value_ptr record(value_ptr v) noexcept {
        return put(recorded_, recorded_record, v.release(), false);
    }
    /// Records what is installed (a hit on it): the same result, or the same record.
    void record_installed() noexcept {
        if (const memo_value* v = installed())
            record(value_ptr(v));
        else
            put(recorded_, recorded_record, installed_, installed_ != nullptr);
    }
    /// Whether what this run recorded is what is installed (also when both are nothing).
    bool recorded_is_installed() const noexcept {
        return recorded_ == installed_ &&
               !(records_ & recorded_record) == !(records_ & installed_record);
    }

    /// Moves the values into `out` (to release them later, out of a lock).
    void move_values_to(memo_slot& out) noexcept;
    void drop() noexcept;

    bool empty() const noexcept { return !has_installed() && !has_recorded(); }
    bool has_installed() const noexcept { return installed_ != nullptr; }
    bool has_recorded() const noexcept { return recorded_ != nullptr; }
    std::size_t size() const noexcept;

private:
    static constexpr std::uint8_t installed_record = 1;  // records_: installed_ is a record
    static constexpr std::uint8_t recorded_record = 2;   // recorded_ is a record

    const memo_value* value_at(const void* p, std::uint8_t bit) const noexcept {
        return records_ & bit ? nullptr : static_cast<const memo_value*>(p);
    }
    const std::byte* record_at(const void* p, std::uint8_t bit) const noexcept {
        return records_ & bit ? static_cast<const std::byte*>(p) : nullptr;
    }
    // Replaces the word `at` (a result unless `bit` is set in records_) by `p`, a record if
    // `is_record`, else a result whose reference it takes over. Returns the result it replaced
    // (nullptr if it was a record, or nothing).
    value_ptr put(const void*& at, std::uint8_t bit, const void* p, bool is_record) noexcept {
        value_ptr replaced;
        if (at && !(records_ & bit))
            replaced = value_ptr::adopt(static_cast<const memo_value*>(at));
        at = p;
        records_ = static_cast<std::uint8_t>(is_record ? records_ | bit : records_ & ~bit);
        return replaced;
    }
    void swap_values(memo_slot& o) noexcept {
        std::swap(installed_, o.installed_);
        std::swap(recorded_, o.recorded_);
        std::swap(records_, o.records_);
    }
};
static_assert(sizeof(void*) != 8 || sizeof(memo_slot) == 48, "a slot is 48 bytes");

struct alignas(64) memo_shard {
    memo_lock lock;
    memo_map<memo_slot> slots;
    std::unordered_map<hash128, running_call> running;  // share_results: calls in flight
};

/// A loaded record that a probe decodes outside the shard's lock, and its file, kept meanwhile.
struct undecoded {
    const std::byte* at = nullptr;
    std::shared_ptr<const file_bytes> file;
};

/// What a probe found: a hit (whose value the probe's `take` received), or with share_results
/// the identical call in flight, or nothing.
struct memo_found {
    bool hit = false;
    std::uint64_t saved_ns = 0;  // what the hit saves: the original call's run time
    task_ref<> running;
    value_ptr first_use;  // a hit on a value this run had not recorded: record its subtree
    const dep_set* deps = nullptr;  // a hit: what the run that made its value called
};

class memo_table {
public:
    static constexpr std::size_t shard_count = 16;

    memo_table(std::size_t max_entries, std::size_t max_bytes) noexcept
        : max_entries_(max_entries), max_bytes_(max_bytes) {}

    /// The shard that holds `key`: its top 4 bits.
    static std::size_t shard_number(const hash128& key) noexcept {
        return static_cast<std::size_t>(key.high >> 60);
    }
    memo_shard& shard(const hash128& key) noexcept { return shards_[shard_number(key)]; }

    /// True while nothing is installed: a probe without share_results can only miss.
    bool nothing_installed() const noexcept {
        return installed_.load(std::memory_order_relaxed) == 0;
    }
    std::size_t entries() const noexcept { return entries_.load(std::memory_order_relaxed); }
    std::size_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }

    /// Looks `key` up for a call whose result type has type_tag `tag`: the installed value
    /// (decoding a loaded record with `decode` on first use), then, with `share`, this run's
    /// value and the identical call in flight. A hit is recorded, and its value handed to
    /// `take(const memo_value&)`, under the shard's lock: `take` copies what it needs. With
    /// `quick` (the key's inputs, for a quick value), a hit gives later ones a quick cell.
    template <class Take, class Decode>
    memo_found find(const hash128& key, const void* tag, bool share, Take&& take, Decode&& decode,
                    const quick_inputs* quick = nullptr) {
        memo_shard& sh = shard(key);
        undecoded blob;
        memo_found found;
        {
            std::lock_guard g(sh.lock);
            found = find_locked(sh, key, tag, share, take, blob, quick);
        }
        if (blob.at) {
            found.first_use = decode(blob.at);
            decoded(sh, key, blob.at, found.first_use);
            if (!found.first_use || !deps_hold(found.first_use->deps())) return {};
            take(*found.first_use);
            found.hit = true;
            found.saved_ns = found.first_use->duration_ns();
            found.deps = found.first_use->deps();
        }
        if (found.first_use && !found.first_use->children().empty()) {
            record_subtree(*found.first_use);
            touch(key);
        }
        return found;
    }

    /// A hit on a quick value (quick_value_v) without a lock: true, with its bytes and its key,
    /// if the key `in` names holds an installed value that this run has recorded already.
    /// False means only "take the lock and look" (find).
    DESYNC_DETAIL_ALWAYS_INLINE bool find_quick(const quick_inputs& in, quick_bytes& out,
                                                hash128& key, std::uint32_t& deps) const noexcept {
        return !bounded() && quick_.read(in, out, key, deps);
    }

    /// Records this run's result for `key`.
    void record(const hash128& key, value_ptr v);

    /// A hit found outside the tables (in the root's store): installed, so that later probes
    /// find it in memory, and recorded, like a hit on an installed value. What is there already
    /// stays.
    void found_elsewhere(const hash128& key, const value_ptr& v);

    /// Replaces what is installed by `c`'s entries.
    void install(const cache_data& c);

    /// Forgets everything recorded and installed (calls in flight stay shared).
    void clear();

    /// What this run recorded, least recently used first.
    cache_data recorded();

    /// Bounds the table (0: no bound) and evicts what no longer fits.
    void set_limit(std::size_t max_entries, std::size_t max_bytes);

    /// share_results: `t` (whose result type has type_tag `tag`) computes `key` from now on,
    /// unless another call already does. The entry goes when `t` finishes.
    bool start_running(const hash128& key, task_base* t, const void* tag);

    /// Forgets that `t` computes `key` (it finished).
    void stop_running(const hash128& key, const task_base* t) noexcept;

private:
    template <class Take>
    memo_found find_locked(memo_shard& sh, const hash128& key, const void* tag, bool share,
                           Take& take, undecoded& blob, const quick_inputs* quick) {
        if (memo_slot* found = sh.slots.find(key)) {
            memo_slot& s = *found;
            // A value is served only if this build still has every function its run called
            // (verified once per set of functions, then remembered).
            const memo_value* const installed = s.installed();
            if (installed && installed->tag() == tag && deps_hold(installed->deps())) {
                memo_found found{true, installed->duration_ns(), {}, {}, installed->deps()};
                if (!s.recorded_is_installed()) found.first_use = value_ptr(installed);
                served(sh, s);
                take(*installed);
                // Later hits need no bookkeeping (unbounded: no use stamps) once its subtree is
                // recorded too, which find does before this probe returns. A cell is given at
                // the second hit: a sweep of distinct keys would only churn the cells.
                if constexpr (Take::quick)
                    if (quick && !bounded() && !found.first_use) {
                        const dep_set* d = installed->deps();
                        s.quick = quick_.fill(*quick, key, Take::bytes_of(*installed),
                                              d ? d->index() : 0, s.quick);
                    }
                return found;
            }
            if (const std::byte* record = s.blob()) {
                std::size_t const f = files_.find(record);  // read under this shard's lock
                if (f == files_.size()) return {};          // never: each record is in a file here
                blob = {record, files_[f]};
                return {};
            }
            const memo_value* const recorded = s.recorded();
            if (share && recorded && recorded->tag() == tag && deps_hold(recorded->deps())) {
                if (bounded()) s.stamp = next_stamp();
                take(*recorded);
                return {true, recorded->duration_ns(), {}, {}, recorded->deps()};
            }
        }
        if (share)
            if (auto it = sh.running.find(key);
                it != sh.running.end() && it->second.tag == tag && !it->second.task->done())
                return {false, 0, it->second.task, {}};
        return {};
    }

    // A hit on the installed value: recorded too (sharing the value), and used now. An
    // unbounded table stamps only an entry's first hit (later ones may take no lock), so that
    // a bound set later evicts by first use in this run, not by when the entry was installed.
    void served(memo_shard& sh, memo_slot& s);

    // The entry a hit used is more recent than the children its hit recorded after it.
    void touch(const hash128& key);

    // A hit used what the value was made from: records the installed results of its children,
    // and of theirs, down to results this run has recorded already (whose own were recorded
    // with them).
    void record_subtree(const memo_value& from);

    // After decoding a record outside the lock: install the value in its place, or drop the
    // record if it did not decode. If set_cache replaced the record meanwhile, the hit is
    // served all the same, so this run records its value unless it holds one for the key.
    void decoded(memo_shard& sh, const hash128& key, const std::byte* blob, const value_ptr& v);

    // Runs f() with every shard locked, in order: what changes files_.
    template <class F>
    void with_every_shard_locked(F&& f) {
        std::array<std::unique_lock<memo_lock>, shard_count> held;
        for (std::size_t i = 0; i < shard_count; ++i) held[i] = std::unique_lock(shards_[i].lock);
        f();
    }

    // Applies `change` to every slot, shard by shard, and removes the slots it left empty.
    template <class Change>
    void edit_all(Change change) {
        for (memo_shard& sh : shards_) {
            std::lock_guard l(sh.lock);
            sh.slots.for_each(
                [&](const hash128&, memo_slot& s) { edit_at(sh, &s, change, false); });
            sh.slots.retain_if([](const memo_slot& s) { return !s.empty(); });
        }
    }

    template <class Change>
    void edit(memo_shard& sh, const hash128& key, Change&& change) {
        if (memo_slot* s = sh.slots.try_emplace(key).first) edit_at(sh, s, change);
    }

    // Applies `change` to a slot and keeps the totals; a slot left empty goes, unless the
    // caller removes empty slots itself (`erase_empty` false). Its quick cell goes first.
    // Shard locked.
    template <class Change>
    void edit_at(memo_shard& sh, memo_slot* slot, Change&& change, bool erase_empty = true) {
        memo_slot& s = *slot;
        if (s.quick) quick_.forget(std::exchange(s.quick, 0), s.key);
        bool const had = s.has_installed();
        bool const existed = !s.empty();
        std::size_t const before = s.size();  // values are immutable: counted as they were
        change(s);
        bytes_.fetch_add(s.size() - before, std::memory_order_relaxed);  // modular: may shrink
        if (s.has_installed() != had)
            installed_.fetch_add(had ? std::size_t(-1) : 1, std::memory_order_relaxed);
        if (existed != !s.empty())
            entries_.fetch_add(existed ? std::size_t(-1) : 1, std::memory_order_relaxed);
        if (s.empty() && erase_empty) sh.slots.erase(slot);
    }

    // A value larger than the byte bound is not recorded: it would only evict everything else.
    bool too_big(const memo_value& v) const noexcept;
    DESYNC_DETAIL_ALWAYS_INLINE bool bounded() const noexcept {
        return max_entries_.load(std::memory_order_relaxed) ||
               max_bytes_.load(std::memory_order_relaxed);
    }
    std::uint64_t next_stamp() noexcept {
        return epoch_.fetch_add(1, std::memory_order_relaxed) + 1;
    }
    bool over(std::size_t max_entries, std::size_t max_bytes) const noexcept {
        return (max_entries && entries() > max_entries) || (max_bytes && bytes() > max_bytes);
    }
    void evict_if_over();

    struct victim {
        std::uint64_t stamp;
        hash128 key;
    };

    void evict();
    bool evict_one(const victim& v);

public:
    /// Eviction, reached through a pointer that a bound installs (a cache_limit option,
    /// set_limit) before it is set: calls, whose code every translation unit that makes one
    /// compiles, reach none of it in a program without bounds. Null: nothing is bounded.
    static inline constinit std::atomic<void (*)(memo_table&)> installed_evict{nullptr};
    static void install_evict() noexcept {
        installed_evict.store([](memo_table& t) { t.evict(); }, std::memory_order_release);
    }

private:
    std::array<memo_shard, shard_count> shards_;
    quick_cells quick_;  // small values served without a lock
    // The files that slots' records point into. Changed only with install_mutex_ and every
    // shard's lock held: a probe reads it under its shard's lock, get_cache under install_mutex_.
    file_set files_;
    std::atomic<std::uint64_t> epoch_{0};
    std::atomic<std::size_t> entries_{0};
    std::atomic<std::size_t> bytes_{0};
    std::atomic<std::size_t> installed_{0};
    std::atomic<std::size_t> max_entries_;
    std::atomic<std::size_t> max_bytes_;
    std::mutex evict_mutex_;
    std::mutex install_mutex_;
};

/// Removes a running entry when its call finishes.
struct running_entry final : continuation {
    memo_table* table;
    hash128 key;
    task_base* task;
    running_entry(memo_table* tb, const hash128& k, task_base* t) : table(tb), key(k), task(t) {}
    void fire() noexcept override;
};

/// The tables of a root function, made at first use.
DESYNC_DECL memo_table& tables_of(fn_core& root);

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/memo/table.ipp>
#endif
