#pragma once
/// \file
/// Where calls run: `desync::pool` (threads of a Boost.Asio thread_pool sharing desync's
/// per-thread work queues), the default compute and blocking pools, and adapters for any Asio
/// executor (an io_context, a thread_pool, a strand).

#include <desync/detail/core/run.hpp>
#include <desync/error.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace desync {

/// A pool of threads that runs desync calls. Threads come from a Boost.Asio thread_pool; ready
/// calls wait in a queue per thread (newest first for their owner, oldest first for thieves),
/// and Asio only wakes a sleeping thread when there is work it could take.
class pool final : public detail::executor_slot {
public:
    /// Starts `threads` threads (at least one). `spin` lets an idle thread look for work for
    /// about that long before it sleeps (zero suits pools of sleeping or I/O-bound calls).
    explicit pool(std::size_t threads,
                  std::chrono::microseconds spin = std::chrono::microseconds(50))
        : size_(std::max<std::size_t>(threads, 1)),
          spin_(spin),
          workers_(std::make_unique<worker[]>(size_)),
          threads_(size_) {}

    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    /// Waits until every queued call has run, then joins the threads.
    ~pool() {
        drain();
        // A thread outside the pool may still be inside submit() for a call that has already
        // run (and whose result let the owner destroy the pool): wait for it to leave.
        while (outside_submits_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
        drain();
        threads_.join();
    }

    /// The number of threads.
    std::size_t size() const noexcept { return size_; }

    /// Waits (sleeping) until no call of this pool is queued or running.
    void drain() const noexcept {
        while (!idle()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }

    /// True when no call of this pool is queued or running right now.
    bool idle() const noexcept {
        return runners_.load(std::memory_order_seq_cst) == 0 && !has_work();
    }

    void submit(detail::task_base* t) override {
        if (detail::tl_frame.pool == this) {
            detail::tl_frame.deque->push(t);
            wake();
            return;
        }
        outside_submits_.fetch_add(1, std::memory_order_acq_rel);
        injected_.push(t);
        wake();
        outside_submits_.fetch_sub(1, std::memory_order_acq_rel);
    }

    bool claimable_here() const noexcept override { return detail::tl_frame.pool == this; }

private:
    struct alignas(64) worker {
        detail::work_deque deque;
    };

    bool has_work() const noexcept {
        if (!injected_.empty()) return true;
        for (std::size_t i = 0; i < size_; ++i)
            if (!workers_[i].deque.empty()) return true;
        return false;
    }

    // Posts a runner when fewer runners than threads are active. Pairs with the runner's
    // decrement-then-look in run(): one of the two always sees the other (seq_cst).
    void wake() {
        std::size_t active = runners_.load(std::memory_order_seq_cst);
        while (active < size_) {
            if (runners_.compare_exchange_weak(active, active + 1, std::memory_order_seq_cst)) {
                boost::asio::post(threads_, [this] { run(); });
                return;
            }
        }
    }

    void bind_thread() noexcept {
        if (detail::tl_frame.pool == this) return;
        std::size_t index = next_worker_.fetch_add(1, std::memory_order_relaxed) % size_;
        detail::tl_frame.deque = &workers_[index].deque;
        detail::tl_frame.pool = this;
    }

    detail::task_base* find_work() noexcept {
        if (auto* t = detail::tl_frame.deque->pop_back(0)) return t;
        if (auto* t = injected_.steal()) return t;
        for (std::size_t i = 0; i < size_; ++i)
            if (auto* t = workers_[i].deque.steal()) return t;
        return nullptr;
    }

    void run() noexcept {
        bind_thread();
        auto idle_since = std::chrono::steady_clock::time_point{};
        for (;;) {
            if (detail::task_base* t = find_work()) {
                if (t->try_claim()) detail::run_claimed(t);
                t->release();
                idle_since = {};
                continue;
            }
            auto now = std::chrono::steady_clock::now();
            if (idle_since == std::chrono::steady_clock::time_point{}) idle_since = now;
            if (now - idle_since < spin_) {
                for (int i = 0; i < 32; ++i) detail::cpu_relax();
                continue;
            }
            runners_.fetch_sub(1, std::memory_order_seq_cst);
            if (!has_work()) return;
            std::size_t active = runners_.load(std::memory_order_seq_cst);
            do {
                if (active >= size_) return;
            } while (
                !runners_.compare_exchange_weak(active, active + 1, std::memory_order_seq_cst));
            idle_since = {};
        }
    }

    std::size_t size_;
    std::chrono::microseconds spin_;
    std::unique_ptr<worker[]> workers_;
    detail::work_deque injected_;  // calls submitted from threads outside this pool
    alignas(64) std::atomic<std::size_t> runners_{0};
    std::atomic<std::size_t> next_worker_{0};
    std::atomic<std::size_t> outside_submits_{0};
    boost::asio::thread_pool threads_;  // last: its threads stop before the queues go
};

namespace detail {

/// Runs calls on any Asio executor: one post per call. A waiter may run a queued call itself
/// only where the executor says it is running in this thread (so strands stay exclusive).
template <class Executor>
class asio_slot final : public executor_slot {
public:
    explicit asio_slot(Executor ex) : ex_(std::move(ex)) {}

    // The handler owns its reference: an executor that is stopped or destroyed with the
    // handler still queued (often a no-op by then: a waiter claimed the call) releases it.
    void submit(task_base* t) override {
        boost::asio::post(ex_, [ref = task_ref<>(t)] {
            if (ref->try_claim()) run_claimed(ref.get());
        });
    }

    bool claimable_here() const noexcept override {
        if constexpr (requires(const Executor& e) { e.running_in_this_thread(); })
            return ex_.running_in_this_thread();
        else
            return false;
    }

    const Executor& executor() const noexcept { return ex_; }

private:
    Executor ex_;
};

}  // namespace detail

/// Sizes of the default pools; zero picks the default. Takes effect only before first use.
struct settings {
    std::size_t compute_threads = 0;   ///< default: one per core
    std::size_t blocking_threads = 0;  ///< default: 32, for calls that sleep or do I/O
};

namespace detail {

class runtime {
public:
    static runtime& get() {
        static runtime r(requested());
        return r;
    }

    static settings& requested() {
        static settings s;
        return s;
    }
    static std::atomic<bool>& started() {
        static std::atomic<bool> flag{false};
        return flag;
    }

    pool& compute() noexcept { return compute_; }
    pool& blocking() {
        std::call_once(blocking_once_, [this] {
            blocking_ = std::make_unique<pool>(blocking_threads_, std::chrono::microseconds(0));
        });
        return *blocking_;
    }

    // Shuts down after all work has finished: a call on one pool may queue more on the other,
    // so wait until both are idle together before either is joined.
    ~runtime() {
        for (int quiet = 0; quiet < 2;) {
            bool idle = compute_.idle() && (!blocking_ || blocking_->idle());
            quiet = idle ? quiet + 1 : 0;
            if (quiet < 2) std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }

private:
    explicit runtime(const settings& s)
        : compute_(s.compute_threads ? s.compute_threads
                                     : std::max(1u, std::thread::hardware_concurrency())),
          blocking_threads_(s.blocking_threads ? s.blocking_threads : 32) {
        started().store(true);
    }

    pool compute_;
    std::size_t blocking_threads_;
    std::once_flag blocking_once_;
    std::unique_ptr<pool> blocking_;
};

}  // namespace detail

/// Sets the sizes of the default pools. Call it before the first desync call; afterwards the
/// pools exist and it throws desync::error.
inline void configure(const settings& s) {
    if (detail::runtime::started().load())
        throw error("desync::configure: the default pools are already running; call it first");
    detail::runtime::requested() = s;
}

/// The default pool for computing calls (one thread per core unless configured).
inline pool& default_pool() { return detail::runtime::get().compute(); }

/// The pool for calls marked `desync::blocking` (they sleep or wait on I/O).
inline pool& blocking_pool() { return detail::runtime::get().blocking(); }

}  // namespace desync
