#pragma once
// The map of one shard of a memo table: an index of 4-byte cells (open addressing with linear
// probing over a power-of-two array, at most 3/4 full; a cell holds an entry's number and 4 bits
// of its key, so that a probe reads the entry it finds and 1 in 16 of the others it passes) over
// a pool of (key, slot) entries that never move. Memo keys are uniformly random, so their low bits
// index directly. The pool grows by blocks (16 entries, then twice as many each time up to 4096):
// no entry is copied when the map grows, and a large map wastes at most one block; erased entries
// are reused first. So a key costs its entry and 5-11 bytes of index, not twice its entry as an
// open-addressing array of entries would (docs/memo.md). A shard holds at most 2^28 - 2 entries (a
// table 16 times as many): beyond, an insertion throws std::bad_alloc. A slot holds its own key
// (its member `key`); the key {0, 0} is never stored (a call whose key it is, with probability
// 2^-128, is simply not memoized).

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <desync/xxhash.hpp>
#include <memory>
#include <new>
#include <utility>
#include <vector>

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
        if (!cells_ || empty_key(key)) return nullptr;
        for (std::size_t i = home(key);; i = (i + 1) & mask_) {
            cell const c = cells_[i];
            if (c == 0) return nullptr;
            if (fragment(c) != fragment(key)) continue;
            Slot& e = at(number(c));
            if (e.key == key) return &e;
        }
    }

    /// The slot of `key`, made if missing; second: whether it was made. Throws std::bad_alloc
    /// (and then changes nothing); a key {0, 0} gives {nullptr, false}.
    std::pair<Slot*, bool> try_emplace(const hash128& key) {
        if (empty_key(key)) return {nullptr, false};
        if (Slot* s = find(key)) return {s, false};
        if (4 * (size_ + 1) > 3 * capacity()) reindex(capacity() ? 2 * capacity() : 16, keep_all);
        if (free_ == none) add_block();
        std::uint32_t const n = free_;
        Slot& e = at(n);
        free_ = static_cast<std::uint32_t>(e.key.low);
        e.key = key;
        cells_[free_cell(key)] = make_cell(n, key);
        ++size_;
        return {&e, true};
    }

    /// Makes room in the index for `n` slots in all, so that it does not grow while they are
    /// added. Throws std::bad_alloc, and then changes nothing.
    void reserve(std::size_t n) {
        std::size_t cap = capacity() ? capacity() : 16;
        while (4 * n > 3 * cap) cap *= 2;
        if (cap > capacity()) reindex(cap, keep_all);
    }

    /// Asks for the index cell a probe of `key` reads first: a batch of probes then waits for
    /// memory once, not once per key.
    void prefetch(const hash128& key) const noexcept {
        if (cells_) __builtin_prefetch(&cells_[home(key)]);
    }

    /// Removes a slot (from find or try_emplace); other slots stay where they are.
    void erase(Slot* s) noexcept {
        std::size_t hole = home(s->key);
        while (&at(number(cells_[hole])) != s) hole = (hole + 1) & mask_;  // its cell, in its run
        free_entry(*s, number(cells_[hole]));
        cells_[hole] = 0;
        --size_;
        // Backward shift: later cells of the run move into the hole unless that would put
        // them before their home.
        for (std::size_t i = (hole + 1) & mask_; cells_[i] != 0; i = (i + 1) & mask_) {
            std::size_t const h = home(at(number(cells_[i])).key);
            if (((i - h) & mask_) >= ((i - hole) & mask_)) {
                cells_[hole] = std::exchange(cells_[i], 0);
                hole = i;
            }
        }
    }

    /// Calls f(key, slot) for every slot.
    template <class F>
    void for_each(F&& f) {
        for (std::size_t i = 0; i < capacity(); ++i)
            if (cell const c = cells_[i]) {
                Slot& e = at(number(c));
                f(std::as_const(e.key), e);
            }
    }

    /// Keeps only the slots that satisfy keep (a pure predicate). Throws std::bad_alloc, and
    /// then changes nothing.
    template <class Keep>
    void retain_if(Keep&& keep) {
        std::size_t kept = 0;
        for_each([&](const hash128&, Slot& s) { kept += keep(s) ? 1 : 0; });
        if (kept == size_) return;
        if (kept == 0) {  // all of it goes: so does its memory
            std::vector<std::unique_ptr<Slot[]>>().swap(blocks_);
            cells_.reset();
            mask_ = size_ = 0;
            free_ = none;
            entries_ = 0;
            return;
        }
        std::size_t cap = 16;
        while (4 * kept > 3 * cap) cap *= 2;
        reindex(cap, keep);
    }

private:
    // A free entry's key is {the next free entry's number, or none; 0}.
    static constexpr std::uint32_t none = 0xFFFFFFFFu;
    static constexpr std::size_t first_block = 16;
    static constexpr std::size_t max_block = 4096;
    // Blocks 0..7 hold 16, 32, ..., 2048 entries (4080 in all); every later one 4096.
    static constexpr std::size_t small_blocks = 8;
    static constexpr std::size_t small_total = first_block * ((std::size_t{1} << small_blocks) - 1);

    // An entry's number + 1 (low 28 bits; 0: an empty cell) and the low 4 bits of key.high (the
    // shard is its top 4, the home cell key.low's low bits).
    using cell = std::uint32_t;
    static constexpr unsigned number_bits = 28;
    static constexpr cell number_mask = (cell{1} << number_bits) - 1;
    static constexpr std::size_t max_entries = number_mask - 1;  // numbers + 1 fit, never 0
    static cell make_cell(std::uint32_t n, const hash128& key) noexcept {
        return (fragment(key) << number_bits) | (n + 1);
    }
    static std::uint32_t number(cell c) noexcept { return (c & number_mask) - 1; }
    static std::uint32_t fragment(cell c) noexcept { return c >> number_bits; }
    static std::uint32_t fragment(const hash128& key) noexcept {
        return static_cast<std::uint32_t>(key.high) & 0xFu;
    }

    static bool empty_key(const hash128& k) noexcept { return k.low == 0 && k.high == 0; }
    std::size_t capacity() const noexcept { return cells_ ? mask_ + 1 : 0; }
    std::size_t home(const hash128& k) const noexcept {
        return static_cast<std::size_t>(k.low) & mask_;
    }
    std::size_t free_cell(const hash128& key) const noexcept {
        std::size_t i = home(key);
        while (cells_[i] != 0) i = (i + 1) & mask_;
        return i;
    }

    static std::size_t block_size(std::size_t b) noexcept {
        return b < small_blocks ? first_block << b : max_block;
    }
    // Entry number n: its block and its place in it.
    Slot& at(std::size_t n) const noexcept {
        if (n < small_total) {
            std::size_t const b = std::bit_width(n / first_block + 1) - 1;
            return blocks_[b][n - first_block * ((std::size_t{1} << b) - 1)];
        }
        std::size_t const past = n - small_total;
        return blocks_[small_blocks + past / max_block][past % max_block];
    }
    void free_entry(Slot& e, std::uint32_t n) noexcept {
        e = Slot{};
        e.key = {free_, 0};
        free_ = n;
    }
    // A new block of free entries, which go on the free list.
    void add_block() {
        std::size_t const size = block_size(blocks_.size());
        if (entries_ + size > max_entries) throw std::bad_alloc();
        blocks_.reserve(blocks_.size() + 1);
        blocks_.push_back(std::make_unique<Slot[]>(size));
        Slot* block = blocks_.back().get();
        for (std::size_t i = size; i-- > 0;) {
            block[i].key = {free_, 0};
            free_ = static_cast<std::uint32_t>(entries_ + i);
        }
        entries_ += size;
    }
    static bool keep_all(const Slot&) noexcept { return true; }

    // A new index of `cap` cells (allocated first) over the entries that `keep` accepts; the
    // others are freed.
    template <class Keep>
    void reindex(std::size_t cap, Keep&& keep) {
        auto cells = std::make_unique<cell[]>(cap);
        std::unique_ptr<cell[]> old = std::exchange(cells_, std::move(cells));
        std::size_t const old_capacity = old ? mask_ + 1 : 0;
        mask_ = cap - 1;
        for (std::size_t i = 0; i < old_capacity; ++i) {
            cell const c = old[i];
            if (c == 0) continue;
            Slot& e = at(number(c));
            if (keep(e)) {
                cells_[free_cell(e.key)] = c;
            } else {
                free_entry(e, number(c));
                --size_;
            }
        }
    }

    std::unique_ptr<cell[]> cells_;
    std::vector<std::unique_ptr<Slot[]>> blocks_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
    std::size_t entries_ = 0;    // in all blocks
    std::uint32_t free_ = none;  // the first free entry
};

}  // namespace desync::detail
