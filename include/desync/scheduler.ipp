#pragma once
// Out-of-line definitions of <desync/scheduler.hpp>: included at its end when header-only, or
// once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/scheduler.hpp>

namespace desync {

DESYNC_DECL pool::pool(std::size_t threads, std::chrono::microseconds spin)
    : size_(std::max<std::size_t>(threads, 1)),
      spin_(spin),
      workers_(std::make_unique<worker[]>(size_)),
      threads_(size_) {}

DESYNC_DECL pool::~pool() {
    drain();
    // A thread outside the pool may still be inside submit() for a call that has already
    // run (and whose result let the owner destroy the pool): wait for it to leave.
    while (outside_submits_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    drain();
    threads_.join();
}

DESYNC_DECL void pool::drain() const noexcept {
    while (!idle()) std::this_thread::sleep_for(std::chrono::microseconds(200));
}

DESYNC_DECL bool pool::idle() const noexcept {
    return runners_.load(std::memory_order_seq_cst) == 0 && !has_work();
}

DESYNC_DECL void pool::submit(detail::task_base* t) {
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

DESYNC_DECL bool pool::claimable_here() const noexcept { return detail::tl_frame.pool == this; }

DESYNC_DECL bool pool::has_work() const noexcept {
    if (!injected_.empty()) return true;
    for (std::size_t i = 0; i < size_; ++i)
        if (!workers_[i].deque.empty()) return true;
    return false;
}

DESYNC_DECL void pool::wake() {
    std::size_t active = runners_.load(std::memory_order_seq_cst);
    while (active < size_) {
        if (runners_.compare_exchange_weak(active, active + 1, std::memory_order_seq_cst)) {
            boost::asio::post(threads_, [this] { run(); });
            return;
        }
    }
}

DESYNC_DECL void pool::bind_thread() noexcept {
    if (detail::tl_frame.pool == this) return;
    std::size_t index = next_worker_.fetch_add(1, std::memory_order_relaxed) % size_;
    detail::tl_frame.deque = &workers_[index].deque;
    detail::tl_frame.pool = this;
}

DESYNC_DECL detail::task_base* pool::find_work() noexcept {
    if (auto* t = detail::tl_frame.deque->pop_back(0)) return t;
    if (auto* t = injected_.steal()) return t;
    for (std::size_t i = 0; i < size_; ++i)
        if (auto* t = workers_[i].deque.steal()) return t;
    return nullptr;
}

DESYNC_DECL void pool::run() noexcept {
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
        } while (!runners_.compare_exchange_weak(active, active + 1, std::memory_order_seq_cst));
        idle_since = {};
    }
}

namespace detail {

DESYNC_DECL runtime& runtime::get() {
    static runtime r(requested());
    return r;
}

DESYNC_DECL settings& runtime::requested() {
    static settings s;
    return s;
}

DESYNC_DECL std::atomic<bool>& runtime::started() {
    static std::atomic<bool> flag{false};
    return flag;
}

DESYNC_DECL pool& runtime::blocking() {
    std::call_once(blocking_once_, [this] {
        blocking_ = std::make_unique<pool>(blocking_threads_, std::chrono::microseconds(0));
    });
    return *blocking_;
}

DESYNC_DECL runtime::~runtime() {
    for (int quiet = 0; quiet < 2;) {
        bool idle = compute_.idle() && (!blocking_ || blocking_->idle());
        quiet = idle ? quiet + 1 : 0;
        if (quiet < 2) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
}

DESYNC_DECL runtime::runtime(const settings& s)
    : compute_(s.compute_threads ? s.compute_threads
                                 : std::max(1u, std::thread::hardware_concurrency())),
      blocking_threads_(s.blocking_threads ? s.blocking_threads : 32) {
    started().store(true);
}

}  // namespace detail

DESYNC_DECL void configure(const settings& s) {
    if (detail::runtime::started().load())
        throw error("desync::configure: the default pools are already running; call it first");
    detail::runtime::requested() = s;
}

DESYNC_DECL pool& default_pool() { return detail::runtime::get().compute(); }

DESYNC_DECL pool& blocking_pool() { return detail::runtime::get().blocking(); }

}  // namespace desync
