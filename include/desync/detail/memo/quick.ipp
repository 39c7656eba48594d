#pragma once
// Out-of-line definitions of <desync/detail/memo/quick.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/memo/quick.hpp>

#include <desync/detail/core/work_deque.hpp>

#include <mutex>
#include <new>

namespace desync::detail {

DESYNC_DECL void memo_lock::lock() noexcept {
    std::uint32_t free = 0;
    if (!state_.compare_exchange_strong(free, 1, std::memory_order_acquire)) [[unlikely]]
        lock_slow();
}

DESYNC_DECL void memo_lock::lock_slow() noexcept {
    for (int i = 0; i < 64; ++i) {
        cpu_relax();
        std::uint32_t free = 0;
        if (state_.load(std::memory_order_relaxed) == 0 &&
            state_.compare_exchange_weak(free, 1, std::memory_order_acquire))
            return;
    }
    while (state_.exchange(2, std::memory_order_acquire) != 0)  // 2: someone may sleep
        state_.wait(2, std::memory_order_relaxed);
}

DESYNC_DECL std::uint32_t quick_cells::fill(const quick_inputs& in, const hash128& key,
                                            quick_bytes bytes, std::uint32_t deps,
                                            std::uint32_t had) noexcept {
    std::lock_guard g(write_);
    if (had && holds(had - 1, key)) return had;
    if (!grow_if_full()) return 0;
    cell* cells = cells_.load(std::memory_order_relaxed);
    std::size_t const mask = mask_.load(std::memory_order_relaxed);
    std::size_t const home = index(in, mask);
    std::size_t way = 0;  // the first free cell of its set, in the order readers look
    while (way < ways && cells[(home ^ way) & mask].types.load(std::memory_order_relaxed)) ++way;
    if (way == ways) way = next_victim_++ % ways;  // none free: one of them goes
    std::size_t const i = (home ^ way) & mask;
    cell& c = cells[i];
    if (!c.types.load(std::memory_order_relaxed)) ++used_;
    begin_write(c);
    c.first.store(in.first, std::memory_order_relaxed);
    c.types.store(in.types, std::memory_order_relaxed);
    c.second.store(in.second, std::memory_order_relaxed);
    c.third.store(in.third, std::memory_order_relaxed);
    c.bytes.store(bytes, std::memory_order_relaxed);
    c.key_low.store(key.low, std::memory_order_relaxed);
    c.key_high.store(key.high, std::memory_order_relaxed);
    c.deps.store(deps, std::memory_order_relaxed);
    end_write(c);
    return static_cast<std::uint32_t>(i + 1);
}

DESYNC_DECL void quick_cells::forget(std::uint32_t number, const hash128& key) noexcept {
    std::lock_guard g(write_);
    if (!holds(number - 1, key)) return;
    cell& c = cells_.load(std::memory_order_relaxed)[number - 1];
    begin_write(c);
    c.types.store(0, std::memory_order_relaxed);
    end_write(c);
    --used_;
}

DESYNC_DECL bool quick_cells::holds(std::size_t i, const hash128& key) const noexcept {
    const cell* cells = cells_.load(std::memory_order_relaxed);
    if (!cells || i > mask_.load(std::memory_order_relaxed)) return false;
    const cell& c = cells[i];
    return c.types.load(std::memory_order_relaxed) &&
           c.key_low.load(std::memory_order_relaxed) == key.low &&
           c.key_high.load(std::memory_order_relaxed) == key.high;
}

DESYNC_DECL bool quick_cells::grow_if_full() noexcept {
    cell* old = cells_.load(std::memory_order_relaxed);
    std::size_t const size = old ? mask_.load(std::memory_order_relaxed) + 1 : 0;
    if (old && (2 * used_ < size || size >= max_cells)) return true;
    std::size_t const grown = old ? 2 * size : min_cells;
    try {
        arrays_.reserve(arrays_.size() + 1);
        arrays_.push_back(std::make_unique<cell[]>(grown));
    } catch (const std::bad_alloc&) {
        return old != nullptr;
    }
    for (std::size_t i = 0; old && i < size; ++i) {
        begin_write(old[i]);
        old[i].types.store(0, std::memory_order_relaxed);
        end_write(old[i]);
    }
    used_ = 0;
    // A reader takes the mask first: a new mask comes with a new (larger) array.
    cells_.store(arrays_.back().get(), std::memory_order_release);
    mask_.store(grown - 1, std::memory_order_release);
    return true;
}

DESYNC_DECL void quick_cells::begin_write(cell& c) noexcept {
    c.seq.store(c.seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
}

}  // namespace desync::detail
