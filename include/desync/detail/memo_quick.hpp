#pragma once
// Hits without the shard's lock (DESIGN §4): a copy of small installed values, in cells that
// probes read with a sequence lock and never write. A lock, even uncontended, is two atomic
// read-modify-writes that each wait for the thread's pending stores: more than the rest of a
// hit. A cell holds a value only while a hit on it needs no bookkeeping (it is installed, this
// run recorded it, the table is unbounded); writers, under the shard's lock, forget a key's
// cell before anything about that key changes.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <desync/xxhash.hpp>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

namespace desync::detail {

/// Results a hit can copy out of a cell: none (void), or trivially copyable in 8 bytes.
template <class V>
inline constexpr bool quick_value_v =
    std::is_void_v<V> || (std::is_trivially_copyable_v<V> && sizeof(V) <= 8);

/// The bytes of a quick value.
using quick_bytes = std::uint64_t;

class quick_cells {
  public:
    static constexpr std::size_t ways = 4;  // cells per set: a set holds any 4 keys
    static constexpr std::size_t min_cells = 64;
    static constexpr std::size_t max_cells = 4096;  // per shard: 128 KiB

    quick_cells() = default;
    quick_cells(const quick_cells&) = delete;
    quick_cells& operator=(const quick_cells&) = delete;

    /// Copies the value of `key` if a cell holds it with type tag `tag`. Never blocks, never
    /// writes; false when a writer was busy meanwhile (the caller then takes the lock).
    bool read(const hash128& key, const void* tag, quick_bytes& out) const noexcept {
        std::uint32_t const before = seq_.load(std::memory_order_acquire);
        if (before & 1) return false;
        const block* b = current_.load(std::memory_order_acquire);
        if (!b) return false;
        bool found = false;
        const cell* set = b->set(key);
        for (std::size_t i = 0; i < ways; ++i) {
            const cell& c = set[i];
            if (c.low.load(std::memory_order_relaxed) == key.low &&
                c.high.load(std::memory_order_relaxed) == key.high &&
                c.tag.load(std::memory_order_relaxed) == tag) {
                out = c.bytes.load(std::memory_order_relaxed);
                found = true;
                break;
            }
        }
        std::atomic_thread_fence(std::memory_order_acquire);
        return found && seq_.load(std::memory_order_relaxed) == before;
    }

    // --- writers: the shard's lock held

    /// Gives `key` a cell holding `bytes` (tag non-null), unless it has one. `entries`: the
    /// shard's size, which the cells grow with. Does nothing if memory runs out.
    void fill(const hash128& key, const void* tag, const quick_bytes& bytes,
              std::size_t entries) noexcept {
        block* b = current_.load(std::memory_order_relaxed);
        if (b && b->find(key)) return;  // its value: a key's cell goes before its value changes
        std::size_t const want = wanted_cells(entries);
        std::unique_ptr<block> grown;
        if (!b || b->cells < want) {
            grown = make_block(want);  // before the write section: it may fail
            if (!grown && !b) return;
        }
        begin_write();
        if (grown) {
            blocks_.push_back(std::move(grown));  // reserved by make_block
            b = blocks_.back().get();
            current_.store(b, std::memory_order_release);
        }
        cell* set = b->set(key);
        cell* free = nullptr;
        for (std::size_t i = 0; i < ways && !free; ++i)
            if (!set[i].tag.load(std::memory_order_relaxed)) free = &set[i];
        if (!free) free = &set[b->next_victim++ % ways];
        free->low.store(key.low, std::memory_order_relaxed);
        free->high.store(key.high, std::memory_order_relaxed);
        free->tag.store(tag, std::memory_order_relaxed);
        free->bytes.store(bytes, std::memory_order_relaxed);
        end_write();
    }

    /// Empties the cell of `key`, if it has one.
    void forget(const hash128& key) noexcept {
        block* b = current_.load(std::memory_order_relaxed);
        cell* c = b ? b->find(key) : nullptr;
        if (!c) return;
        begin_write();
        c->tag.store(nullptr, std::memory_order_relaxed);
        end_write();
    }

    /// Empties every cell (their memory stays: a reader may be looking at it).
    void forget_all() noexcept {
        block* b = current_.load(std::memory_order_relaxed);
        if (!b) return;
        begin_write();
        for (std::size_t i = 0; i < b->cells; ++i)
            b->cell_at(i).tag.store(nullptr, std::memory_order_relaxed);
        end_write();
    }

  private:
    struct cell {
        std::atomic<std::uint64_t> low{0}, high{0};
        std::atomic<const void*> tag{nullptr};  // nullptr: empty
        std::atomic<std::uint64_t> bytes{0};
        bool holds(const hash128& key) const noexcept {
            return tag.load(std::memory_order_relaxed) &&
                   low.load(std::memory_order_relaxed) == key.low &&
                   high.load(std::memory_order_relaxed) == key.high;
        }
    };
    struct alignas(64) cell_set {  // two cache lines
        cell way[ways];
    };
    struct block {
        std::size_t cells;
        std::unique_ptr<cell_set[]> storage;
        std::size_t next_victim = 0;  // writers only
        cell& cell_at(std::size_t i) const noexcept { return storage[i / ways].way[i % ways]; }
        cell* set(const hash128& key) const noexcept {
            // Bits above the shard's and the map's: keys are uniformly random.
            return storage[(key.low >> 32) & (cells / ways - 1)].way;
        }
        // The cell of `key`, if it has one (writers).
        cell* find(const hash128& key) const noexcept {
            cell* s = set(key);
            for (std::size_t i = 0; i < ways; ++i)
                if (s[i].holds(key)) return &s[i];
            return nullptr;
        }
    };

    static std::size_t wanted_cells(std::size_t entries) noexcept {
        std::size_t n = min_cells;
        while (n < 2 * entries && n < max_cells) n *= 2;
        return n;
    }

    // A block of empty cells, with room for it in blocks_; nullptr if memory ran out.
    std::unique_ptr<block> make_block(std::size_t cells) noexcept {
        try {
            blocks_.reserve(blocks_.size() + 1);
            auto b = std::make_unique<block>();
            b->cells = cells;
            b->storage = std::make_unique<cell_set[]>(cells / ways);
            return b;
        } catch (const std::bad_alloc&) {
            return nullptr;
        }
    }

    void begin_write() noexcept {
        seq_.store(seq_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
    }
    void end_write() noexcept {
        seq_.store(seq_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    std::atomic<std::uint32_t> seq_{0};  // odd while a writer changes the cells
    std::atomic<block*> current_{nullptr};
    // Every block made, the current one last: a reader may still look at an older one (its
    // sequence check then fails), so they all live as long as the table (at most twice the
    // largest).
    std::vector<std::unique_ptr<block>> blocks_;
};

}  // namespace desync::detail
