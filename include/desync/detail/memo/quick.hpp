#pragma once
// Hits without a lock and, for scalar arguments, without hashing (docs/memo.md): one array of
// cells per table, holding copies of small installed values, which probes read under a
// sequence lock per cell and never write. A cell is found by what names its key exactly: when
// the arguments pack into two words, the callee's full hash, the call's signature and those
// words (all the key is made of: a hit compares them instead of computing XXH3-128); otherwise
// the key itself. A cell holds a value only while a hit on it needs no bookkeeping (it is
// installed, this run recorded it, the table is unbounded); the key's slot knows its cell, and
// writers forget the cell before anything about that key changes.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <desync/detail/core/attributes.hpp>

#include <desync/xxhash.hpp>
#include <memory>
#include <type_traits>
#include <vector>

namespace desync::detail {

/// A small lock that never enters the kernel when uncontended.
class memo_lock {
public:
    void lock() noexcept;
    void unlock() noexcept {
        if (state_.exchange(0, std::memory_order_release) == 2) state_.notify_one();
    }

private:
    void lock_slow() noexcept;
    std::atomic<std::uint32_t> state_{0};
};

/// Results a hit can copy out of a cell: none (void), or trivially copyable in 8 bytes.
template <class V>
inline constexpr bool quick_value_v = std::is_void_v<V> ||
                                      (std::is_trivially_copyable_v<V> && sizeof(V) <= 8);

/// The bytes of a quick value.
using quick_bytes = std::uint64_t;

/// What names a key exactly in a cell: (callee's full hash, call_signature, the arguments
/// packed in two words), which are all the key is made of, or (key.low, result_type_id,
/// key.high, 0). `types` is never 0 (0 marks an empty cell).
struct quick_inputs {
    std::uint64_t first;
    std::uint64_t types;
    std::uint64_t second;
    std::uint64_t third;
};

class quick_cells {
public:
    static constexpr std::size_t ways = 4;  // a key's cell is one of 4 neighbours
    static constexpr std::size_t min_cells = 256;
    static constexpr std::size_t max_cells = std::size_t{1} << 15;  // 2 MiB

    quick_cells() = default;
    quick_cells(const quick_cells&) = delete;
    quick_cells& operator=(const quick_cells&) = delete;

    /// Copies the value of the key `in` names, the key itself and the number of what its run
    /// called (dep_sets::at), if a cell holds it. Never blocks, never writes; false also when a
    /// writer was busy with it (take the lock then).
    DESYNC_DETAIL_ALWAYS_INLINE bool read(const quick_inputs& in, quick_bytes& out, hash128& key,
                                          std::uint32_t& deps) const noexcept {
        std::size_t const mask = mask_.load(std::memory_order_acquire);
        const cell* cells = cells_.load(std::memory_order_acquire);  // at least mask + 1 of them
        if (!cells) return false;
        std::size_t const home = index(in, mask);
        for (std::size_t way = 0; way < ways; ++way) {
            const cell& c = cells[(home ^ way) & mask];
            std::uint32_t const before = c.seq.load(std::memory_order_acquire);
            if (c.types.load(std::memory_order_relaxed) != in.types ||
                c.first.load(std::memory_order_relaxed) != in.first ||
                c.second.load(std::memory_order_relaxed) != in.second ||
                c.third.load(std::memory_order_relaxed) != in.third)
                continue;
            out = c.bytes.load(std::memory_order_relaxed);
            key = {c.key_low.load(std::memory_order_relaxed),
                   c.key_high.load(std::memory_order_relaxed)};
            deps = c.deps.load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            return !(before & 1) && c.seq.load(std::memory_order_relaxed) == before;
        }
        return false;
    }

    // --- writers: the lock of the key's shard held

    /// Gives `key` (named by `in`) a cell holding `bytes` and `deps` (the number of what its
    /// run called), and returns its number + 1 for the key's slot; `had` is what the slot held
    /// (0: none). Returns 0 if memory runs out.
    std::uint32_t fill(const quick_inputs& in, const hash128& key, quick_bytes bytes,
                       std::uint32_t deps, std::uint32_t had) noexcept;

    /// Empties cell `number - 1` if it still holds `key` (a slot's cell may have gone to
    /// another key since).
    void forget(std::uint32_t number, const hash128& key) noexcept;

private:
    struct alignas(64) cell {                 // one cache line
        std::atomic<std::uint32_t> seq{0};    // odd while a writer changes the cell
        std::atomic<std::uint32_t> deps{0};   // dep_set number of the value's run (0: none)
        std::atomic<std::uint64_t> types{0};  // 0: empty
        std::atomic<std::uint64_t> first{0}, second{0}, third{0};
        std::atomic<std::uint64_t> bytes{0};
        std::atomic<std::uint64_t> key_low{0}, key_high{0};
    };
    static_assert(sizeof(cell) == 64);

    // Fibonacci hashing: the top bits of the product, which every bit of the inputs reaches
    // (doubles such as 1.0, 2.0, 3.0 differ only in their own top bits), and which spread
    // consecutive or strided integers more evenly than random places would.
    DESYNC_DETAIL_ALWAYS_INLINE static std::size_t index(const quick_inputs& in,
                                                         std::size_t mask) noexcept {
        std::uint64_t const h = in.first + in.second + std::rotl(in.third, 29);
        std::uint64_t const product = h * 0x9E3779B97F4A7C15ull;
        // mask + 1 cells, a power of two: the top log2(mask + 1) bits (none for mask 0).
#if defined(__SIZEOF_INT128__)
        // The high word of product * (mask + 1): one multiply, where the shift would need
        // the bit count first.
        __extension__ typedef unsigned __int128 wide;
        return static_cast<std::size_t>((static_cast<wide>(product) * (mask + 1)) >> 64);
#else
        int const unused = std::countl_zero(static_cast<std::uint64_t>(mask));
        return static_cast<std::size_t>((product >> 1) >> (unused - 1)) & mask;
#endif
    }

    bool holds(std::size_t i, const hash128& key) const noexcept;

    // Keeps at least half of the cells free: a fuller array is replaced by an empty one twice
    // as large (until max_cells). The old one stays, emptied first, for readers still on it.
    bool grow_if_full() noexcept;

    static void begin_write(cell& c) noexcept;
    static void end_write(cell& c) noexcept {
        c.seq.store(c.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }

    std::atomic<cell*> cells_{nullptr};
    std::atomic<std::size_t> mask_{0};
    memo_lock write_;
    std::size_t used_ = 0;         // cells holding a key (writers)
    std::size_t next_victim_ = 0;  // writers
    // Every array made, the current one last: a reader may still look at an older one (emptied
    // when it was replaced), so they all live as long as the table (at most twice the largest).
    std::vector<std::unique_ptr<cell[]>> arrays_;
};

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/memo/quick.ipp>
#endif
