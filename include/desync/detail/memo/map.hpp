#pragma once
// The map of one shard of a memo table: open addressing with linear probing over a power-of-two
// array, at most half full. Memo keys are uniformly random, so their low bits index directly:
// a lookup is one mask and, usually, one compare. The key {0, 0} marks an empty cell; it is
// never stored (a call whose key it is, with probability 2^-128, is simply not memoized).

#include <cstddef>
#include <desync/xxhash.hpp>
#include <memory>
#include <utility>

namespace desync::detail {

template <class Slot>
class memo_map {
public:
    memo_map() = default;
    memo_map(const memo_map&) = delete;
    memo_map& operator=(const memo_map&) = delete;

    std::size_t size() const noexcept { return size_; }

    /// The slot of `key`, or nullptr.
    Slot* find(const hash128& key) noexcept {
        if (!keys_ || empty_key(key)) return nullptr;
        for (std::size_t i = home(key);; i = (i + 1) & mask_) {
            if (keys_[i] == key) return &slots_[i];
            if (empty_key(keys_[i])) return nullptr;
        }
    }

    /// The slot of `key`, made if missing; second: whether it was made. Throws std::bad_alloc
    /// (and then changes nothing); a key {0, 0} gives {nullptr, false}.
    std::pair<Slot*, bool> try_emplace(const hash128& key) {
        if (empty_key(key)) return {nullptr, false};
        if (Slot* s = find(key)) return {s, false};
        if (2 * (size_ + 1) > capacity()) rebuild(capacity() ? 2 * capacity() : 16, keep_all{});
        std::size_t const i = free_cell(key);
        keys_[i] = key;
        ++size_;
        return {&slots_[i], true};
    }

    /// The key of a slot (from find or try_emplace).
    const hash128& key_of(const Slot* s) const noexcept { return keys_[index_of(s)]; }

    /// Removes a slot (from find or try_emplace); other slots may move.
    void erase(Slot* s) noexcept {
        std::size_t hole = index_of(s);
        clear_cell(hole);
        --size_;
        // Backward shift: later entries of the run move into the hole unless that would put
        // them before their home.
        for (std::size_t i = (hole + 1) & mask_; !empty_key(keys_[i]); i = (i + 1) & mask_) {
            std::size_t const h = home(keys_[i]);
            if (((i - h) & mask_) >= ((i - hole) & mask_)) {
                keys_[hole] = keys_[i];
                slots_[hole] = std::move(slots_[i]);
                clear_cell(i);
                hole = i;
            }
        }
    }

    /// Calls f(key, slot) for every slot.
    template <class F>
    void for_each(F&& f) {
        for (std::size_t i = 0; i < capacity(); ++i)
            if (!empty_key(keys_[i])) f(std::as_const(keys_[i]), slots_[i]);
    }

    /// Keeps only the slots that satisfy keep (a pure predicate). Throws std::bad_alloc, and
    /// then changes nothing.
    template <class Keep>
    void retain_if(Keep&& keep) {
        std::size_t kept = 0;
        for_each([&](const hash128&, Slot& s) { kept += keep(s) ? 1 : 0; });
        if (kept == size_) return;
        std::size_t cap = 16;
        while (2 * kept > cap) cap *= 2;
        rebuild(cap, keep);
    }

private:
    struct keep_all {
        bool operator()(const Slot&) const noexcept { return true; }
    };

    static bool empty_key(const hash128& k) noexcept { return k.low == 0 && k.high == 0; }
    std::size_t capacity() const noexcept { return keys_ ? mask_ + 1 : 0; }
    std::size_t home(const hash128& k) const noexcept {
        return static_cast<std::size_t>(k.low) & mask_;
    }
    std::size_t index_of(const Slot* s) const noexcept {
        return static_cast<std::size_t>(s - slots_.get());
    }
    std::size_t free_cell(const hash128& key) const noexcept {
        std::size_t i = home(key);
        while (!empty_key(keys_[i])) i = (i + 1) & mask_;
        return i;
    }
    void clear_cell(std::size_t i) noexcept {
        keys_[i] = hash128{};
        slots_[i] = Slot{};
    }

    // Moves the slots that `keep` accepts into new arrays of `cap` cells (allocated first).
    template <class Keep>
    void rebuild(std::size_t cap, Keep&& keep) {
        auto keys = std::make_unique<hash128[]>(cap);
        auto slots = std::make_unique<Slot[]>(cap);
        std::unique_ptr<hash128[]> old_keys = std::exchange(keys_, std::move(keys));
        std::unique_ptr<Slot[]> old_slots = std::exchange(slots_, std::move(slots));
        std::size_t const old_capacity = old_keys ? mask_ + 1 : 0;
        mask_ = cap - 1;
        size_ = 0;
        for (std::size_t i = 0; i < old_capacity; ++i) {
            if (empty_key(old_keys[i]) || !keep(old_slots[i])) continue;
            std::size_t const at = free_cell(old_keys[i]);
            keys_[at] = old_keys[i];
            slots_[at] = std::move(old_slots[i]);
            ++size_;
        }
    }

    std::unique_ptr<hash128[]> keys_;  // apart from the slots: a probe reads few cache lines
    std::unique_ptr<Slot[]> slots_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
};

}  // namespace desync::detail
