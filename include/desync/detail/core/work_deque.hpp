#pragma once
// A per-worker double-ended queue of ready calls: the owner pushes and pops at the back
// (newest first, and never below the mark of the body it is running), thieves take from the
// front (oldest first). A short spin lock guards it; sizes are readable without the lock.

#include <desync/detail/core/task.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace desync::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#else
    std::this_thread::yield();
#endif
}

class spinlock {
public:
    void lock() noexcept {
        for (int spins = 0;; ++spins) {
            if (!locked_.exchange(true, std::memory_order_acquire)) return;
            while (locked_.load(std::memory_order_relaxed)) {
                if (spins++ < 64)
                    cpu_relax();
                else
                    std::this_thread::yield();
            }
        }
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> locked_{false};
};

class work_deque {
public:
    work_deque() : ring_(64) {}

    void push(task_base* t) {
        std::lock_guard guard(lock_);
        std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        std::uint64_t head = head_.load(std::memory_order_relaxed);
        if (tail - head == ring_.size()) grow(head, tail);
        ring_[tail & (ring_.size() - 1)] = t;
        tail_.store(tail + 1, std::memory_order_seq_cst);
    }

    /// Owner only: the newest entry at or above `floor`, or nullptr.
    task_base* pop_back(std::uint64_t floor) noexcept {
        if (tail_.load(std::memory_order_relaxed) <= floor) return nullptr;
        std::lock_guard guard(lock_);
        std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        std::uint64_t head = head_.load(std::memory_order_relaxed);
        if (tail <= floor || tail <= head) return nullptr;
        --tail;
        task_base* t = ring_[tail & (ring_.size() - 1)];
        tail_.store(tail, std::memory_order_relaxed);
        return t;
    }

    /// Owner only: removes the newest entry if it is `t` (above `floor`); true if it did.
    bool pop_back_if(task_base* t, std::uint64_t floor) noexcept {
        if (tail_.load(std::memory_order_relaxed) <= floor) return false;
        std::lock_guard guard(lock_);
        std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        std::uint64_t head = head_.load(std::memory_order_relaxed);
        if (tail <= floor || tail <= head || ring_[(tail - 1) & (ring_.size() - 1)] != t)
            return false;
        tail_.store(tail - 1, std::memory_order_relaxed);
        return true;
    }

    /// Any thread: the oldest entry, or nullptr.
    task_base* steal() noexcept {
        if (empty()) return nullptr;
        std::lock_guard guard(lock_);
        std::uint64_t head = head_.load(std::memory_order_relaxed);
        if (head >= tail_.load(std::memory_order_relaxed)) return nullptr;
        task_base* t = ring_[head & (ring_.size() - 1)];
        head_.store(head + 1, std::memory_order_relaxed);
        return t;
    }

    bool empty() const noexcept {
        return head_.load(std::memory_order_seq_cst) >= tail_.load(std::memory_order_seq_cst);
    }
    /// Owner only: the position a new body's mark starts from.
    std::uint64_t tail() const noexcept { return tail_.load(std::memory_order_relaxed); }

private:
    void grow(std::uint64_t head, std::uint64_t tail) {
        std::vector<task_base*> bigger(ring_.size() * 2);
        for (std::uint64_t i = head; i != tail; ++i)
            bigger[i & (bigger.size() - 1)] = ring_[i & (ring_.size() - 1)];
        ring_.swap(bigger);
    }

    spinlock lock_;
    std::atomic<std::uint64_t> head_{0};
    std::atomic<std::uint64_t> tail_{0};
    std::vector<task_base*> ring_;
};

}  // namespace desync::detail
