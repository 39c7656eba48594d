#pragma once
// Which keys a store may hold, in memory (docs/stores.md, "Lookups that miss"): a blocked Bloom
// filter over the keys, which are hashes already. A lookup of a key the filter was never told of
// is a miss without asking the store; a key it holds is probably stored (about 1 in 200 keys
// never added answer "maybe" at full load). Read by any thread without a lock; added to by one
// thread at a time (the store's own thread).

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <desync/xxhash.hpp>
#include <memory>

namespace desync::detail {

class key_filter {
public:
    /// Room for `keys` keys at about 16 bits each (the filter answers "maybe" more often past it).
    explicit key_filter(std::size_t keys)
        : words_(std::bit_ceil(std::max<std::size_t>(keys / 4, 1024))),
          bits_(new std::atomic<std::uint64_t>[words_]) {
        for (std::size_t i = 0; i < words_; ++i) bits_[i].store(0, std::memory_order_relaxed);
    }

    /// The keys it was made for; past that, a store makes a larger filter.
    std::size_t capacity() const noexcept { return words_ * 4; }
    /// How many keys were added that it did not hold already: a key added twice counts once (a
    /// store adds its own results at commit and finds them again among the new rows), and so
    /// does, rarely, a new key it already answered "maybe" for.
    std::size_t added() const noexcept { return added_.load(std::memory_order_relaxed); }

    /// Adds `key`; by one thread at a time. Lookups on other threads may not see it at once.
    void add(const hash128& key) noexcept {
        std::uint64_t const m = mask(key);
        if ((word(key).fetch_or(m, std::memory_order_relaxed) & m) != m)
            added_.fetch_add(1, std::memory_order_relaxed);
    }
    /// False when `key` was surely never added.
    bool may_hold(const hash128& key) const noexcept {
        std::uint64_t const m = mask(key);
        return (word(key).load(std::memory_order_relaxed) & m) == m;
    }

private:
    // The key's word from its high half, four bits of that word from its low half.
    std::atomic<std::uint64_t>& word(const hash128& key) const noexcept {
        return bits_[key.high & (words_ - 1)];
    }
    static std::uint64_t mask(const hash128& key) noexcept {
        std::uint64_t const l = key.low;
        return (std::uint64_t{1} << (l & 63)) | (std::uint64_t{1} << ((l >> 6) & 63)) |
               (std::uint64_t{1} << ((l >> 12) & 63)) | (std::uint64_t{1} << ((l >> 18) & 63));
    }

    std::size_t words_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> bits_;
    std::atomic<std::size_t> added_{0};
};

}  // namespace desync::detail
