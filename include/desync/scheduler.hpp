#pragma once
/// \file
/// Where calls run: `desync::pool` (threads of a Boost.Asio thread_pool sharing desync's
/// per-thread work queues), the default compute and blocking pools, and adapters for any Asio
/// executor (an io_context, a thread_pool, a strand).

#include <desync/detail/core/attributes.hpp>
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
                  std::chrono::microseconds spin = std::chrono::microseconds(50));

    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    /// Waits until every queued call has run, then joins the threads.
    ~pool();

    /// The number of threads.
    std::size_t size() const noexcept { return size_; }

    /// Waits (sleeping) until no call of this pool is queued or running.
    void drain() const noexcept;

    /// True when no call of this pool is queued or running right now.
    bool idle() const noexcept;

    void submit(detail::task_base* t) override;

    bool claimable_here() const noexcept override;

private:
    struct alignas(64) worker {
        detail::work_deque deque;
    };

    bool has_work() const noexcept;

    // Posts a runner when fewer runners than threads are active. Pairs with the runner's
    // decrement-then-look in run(): one of the two always sees the other (seq_cst).
    void wake();
    void bind_thread() noexcept;
    detail::task_base* find_work() noexcept;
    void run() noexcept;

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
    static runtime& get();
    static settings& requested();
    static std::atomic<bool>& started();

    pool& compute() noexcept { return compute_; }
    pool& blocking();

    // Shuts down after all work has finished: a call on one pool may queue more on the other,
    // so wait until both are idle together before either is joined.
    ~runtime();

private:
    explicit runtime(const settings& s);

    pool compute_;
    std::size_t blocking_threads_;
    std::once_flag blocking_once_;
    std::unique_ptr<pool> blocking_;
};

}  // namespace detail

/// Sets the sizes of the default pools. Call it before the first desync call; afterwards the
/// pools exist and it throws desync::error.
DESYNC_DECL void configure(const settings& s);

/// The default pool for computing calls (one thread per core unless configured).
DESYNC_DECL pool& default_pool();

/// The pool for calls marked `desync::blocking` (they sleep or wait on I/O).
DESYNC_DECL pool& blocking_pool();

}  // namespace desync

#if DESYNC_HEADER_ONLY
#include <desync/scheduler.ipp>
#endif
