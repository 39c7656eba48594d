#pragma once
/// \file
/// Where desync's call path meets the MPI transport, without MPI: the job rank 0 hands over, the
/// reply a worker's handler completes, the handlers by function id, the build digest, and rank
/// 0's queue. A program that never constructs a desync::mpi::cluster (or never includes
/// <desync/mpi.hpp>) sees active() == false and runs its distributed calls locally.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <desync/detail/mpi/wire.hpp>
#include <desync/error.hpp>
#include <desync/xxhash.hpp>
#include <exception>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace desync::detail::mpi {

/// A mutex, and a condition a communication thread sleeps on between polls until rung. Whoever
/// gives that thread work does so under mutex() and then calls ring_locked().
class bell {
public:
    /// Guards the work the communication thread takes, and its sleep.
    std::mutex& mutex() noexcept { return mutex_; }
    /// Wakes the communication thread if it sleeps; `mutex()` must be held.
    void ring_locked() noexcept {
        if (sleeping_) wake_.notify_one();
    }
    /// Locks, then rings.
    void ring() {
        std::lock_guard lock(mutex_);
        ring_locked();
    }
    /// Sleeps at most `d` unless `ready()` (checked under the lock) or until rung.
    template <class Ready>
    void sleep(std::chrono::microseconds d, Ready ready) {
        std::unique_lock lock(mutex_);
        if (ready()) return;
        sleeping_ = true;
        wake_.wait_for(lock, d);
        sleeping_ = false;
    }

private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool sleeping_ = false;
};

/// One call handed to the transport on rank 0. The transport never owns a job: it must live
/// until done() or failed() has returned, or withdraw() has returned true.
class remote_job {
public:
    remote_job() = default;
    /// A call of the function with full hash `function`, with its encoded arguments.
    remote_job(std::uint64_t function, std::string args)
        : function(function), args(std::move(args)) {}
    remote_job(const remote_job&) = delete;
    remote_job& operator=(const remote_job&) = delete;
    virtual ~remote_job() = default;

    std::uint64_t function = 0;  ///< the callee's full hash: its handler on the workers
    std::string args;            ///< encoded arguments; moved out when the call is sent

    /// The encoded result, on rank 0's communication thread. Must return quickly.
    virtual void done(std::string result) noexcept = 0;
    /// The call failed: desync::remote_error (its body threw on a worker) or desync::error
    /// (the transport could not run it). On the communication thread, or inside submit().
    virtual void failed(std::exception_ptr error) noexcept = 0;

private:
    friend class job_queue;
    remote_job* prev_ = nullptr;  // rank 0's queue is a list through its jobs
    remote_job* next_ = nullptr;
    std::chrono::steady_clock::time_point queued_at_{};
    bool queued_ = false;
};

/// Rank 0's calls not yet sent, oldest first: pushed by any thread, taken by the communication
/// thread when a worker has a free slot, withdrawn by whoever no longer needs a call.
class job_queue {
public:
    /// Accepts calls from now on; `active()` turns true.
    void open() {
        std::lock_guard lock(bell_.mutex());
        open_.store(true, std::memory_order_release);
    }
    /// Stops accepting calls if none is queued (true); later pushes fail.
    bool close_if_empty() {
        std::lock_guard lock(bell_.mutex());
        if (head_) return false;
        open_.store(false, std::memory_order_release);
        return true;
    }
    /// Whether calls are accepted (a cluster of several ranks runs on this rank 0).
    bool is_open() const noexcept { return open_.load(std::memory_order_acquire); }

    /// Queues `jobs` in order, together (the communication thread sees all or none of them);
    /// fails each at once (in this thread) when no cluster takes calls.
    void push(std::span<remote_job* const> jobs) {
        {
            std::lock_guard lock(bell_.mutex());
            if (open_.load(std::memory_order_relaxed)) {
                auto now = std::chrono::steady_clock::now();
                for (remote_job* job : jobs) link(job, now);
                bell_.ring_locked();
                return;
            }
        }
        for (remote_job* job : jobs)
            job->failed(std::make_exception_ptr(
                error("desync::mpi: no cluster takes calls (none runs, or it has stopped)")));
    }

    /// Takes `job` off the queue if it is still there (true): it will never be sent, and neither
    /// done() nor failed() will be called. False once it has been sent (or was never queued).
    bool withdraw(remote_job* job) noexcept {
        std::lock_guard lock(bell_.mutex());
        if (!job->queued_) return false;
        unlink(job);
        return true;
    }

    /// The oldest queued call and when it was queued, or nullptr; for the communication thread.
    remote_job* pop(std::chrono::steady_clock::time_point& queued_at) noexcept {
        std::lock_guard lock(bell_.mutex());
        remote_job* job = head_;
        if (!job) return nullptr;
        queued_at = job->queued_at_;
        unlink(job);
        return job;
    }

    /// Calls queued now.
    std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
    /// Whether a call is queued; `bell().mutex()` must be held.
    bool empty_locked() const noexcept { return head_ == nullptr; }
    /// Rings when a call is queued; rank 0's communication thread sleeps on it.
    mpi::bell& bell() noexcept { return bell_; }

private:
    void link(remote_job* job, std::chrono::steady_clock::time_point now) noexcept {
        job->queued_at_ = now;
        job->queued_ = true;
        job->prev_ = tail_;
        job->next_ = nullptr;
        (tail_ ? tail_->next_ : head_) = job;
        tail_ = job;
        size_.fetch_add(1, std::memory_order_relaxed);
    }
    void unlink(remote_job* job) noexcept {
        (job->prev_ ? job->prev_->next_ : head_) = job->next_;
        (job->next_ ? job->next_->prev_ : tail_) = job->prev_;
        job->prev_ = job->next_ = nullptr;
        job->queued_ = false;
        size_.fetch_sub(1, std::memory_order_relaxed);
    }

    mpi::bell bell_;
    remote_job* head_ = nullptr;
    remote_job* tail_ = nullptr;
    std::atomic<std::size_t> size_{0};
    std::atomic<bool> open_{false};
};

/// Rank 0's queue, the one of this process.
inline job_queue& root_queue() {
    static job_queue q;
    return q;
}

/// True only on rank 0 of a running cluster of several ranks: distributed calls go to the
/// workers. Otherwise (no cluster, one rank, a worker, a refused build) they run locally.
inline bool active() noexcept { return root_queue().is_open(); }

/// Hands `job` to the transport (rank 0, any thread). Never waits for MPI: the call is queued
/// until a worker has a free slot. Without an active cluster, `job->failed()` runs at once.
inline void submit(remote_job* job) { root_queue().push({&job, 1}); }

/// Hands several calls over at once, in order: they reach the queue together.
inline void submit(std::span<remote_job* const> jobs) { root_queue().push(jobs); }

/// Takes a call not yet sent off rank 0's queue (true); see job_queue::withdraw.
inline bool withdraw(remote_job* job) noexcept { return root_queue().withdraw(job); }

/// Where a worker's replies go: its communication thread.
class reply_sink {
public:
    /// Sends the reply to call `id`: a result, or (`failure`) an encoded failure_text.
    virtual void send_reply(std::uint64_t id, std::string bytes, bool failure) noexcept = 0;

protected:
    ~reply_sink() = default;
};

/// A worker's answer to one call, owed exactly once: done(result) or fail(error), from any
/// thread. Move it wherever the call runs; a reply destroyed unanswered fails the call.
class reply {
public:
    reply() noexcept = default;
    /// The answer to call `id`, to be sent through `sink`.
    reply(reply_sink* sink, std::uint64_t id) noexcept : sink_(sink), id_(id) {}
    reply(reply&& other) noexcept : sink_(std::exchange(other.sink_, nullptr)), id_(other.id_) {}
    reply& operator=(reply&& other) noexcept {
        if (this != &other) {
            abandon();
            sink_ = std::exchange(other.sink_, nullptr);
            id_ = other.id_;
        }
        return *this;
    }
    ~reply() { abandon(); }

    /// Whether the answer is still owed.
    explicit operator bool() const noexcept { return sink_ != nullptr; }

    /// Answers with the encoded result. Throws desync::error if already answered.
    void done(std::string result) { take()->send_reply(id_, std::move(result), false); }
    /// Answers with an error: rank 0 gets desync::remote_error with its type name and message.
    /// Throws desync::error if already answered.
    void fail(const std::exception_ptr& e) {
        reply_sink* sink = take();
        sink->send_reply(id_, wire::encode_failure(wire::describe(e)), true);
    }

private:
    reply_sink* take() {
        if (!sink_) throw error("desync::mpi: a call's reply was already sent");
        return std::exchange(sink_, nullptr);
    }
    void abandon() noexcept {
        if (!sink_) return;
        try {
            fail(std::make_exception_ptr(
                error("desync::mpi: the handler dropped the call's reply without answering")));
        } catch (...) {  // out of memory while describing: nothing better to send
        }
    }

    reply_sink* sink_ = nullptr;
    std::uint64_t id_ = 0;
};

/// Runs one call on a worker: decode `args`, run the body (on a pool: the handler runs on the
/// communication thread and must not block), then answer through `r` (moving it is fine).
/// An exception escaping the handler while `r` is still owed answers with that exception.
using handler = void (*)(std::string args, reply& r);
/// A handler that needs state of its own, given back as `context` at each call.
using bound_handler = void (*)(const void* context, std::string args, reply& r);

/// A registered handler: plain, or bound with its context.
struct handler_entry {
    handler plain = nullptr;
    bound_handler bound = nullptr;
    const void* context = nullptr;

    /// Whether there is a handler.
    explicit operator bool() const noexcept { return plain || bound; }
    /// Runs it (see handler).
    void operator()(std::string args, reply& r) const {
        if (plain)
            plain(std::move(args), r);
        else
            bound(context, std::move(args), r);
    }
};

/// The handlers of this program, by the full hash of their function.
class handler_table {
public:
    /// Registers `h` for `function`; a second registration of one id keeps the first (one
    /// full hash names one body).
    void add(std::uint64_t function, handler h) {
        add(function, handler_entry{h, nullptr, nullptr});
    }
    /// Registers `h` with its `context` for `function`, as add() does.
    void add(std::uint64_t function, bound_handler h, const void* context) {
        add(function, handler_entry{nullptr, h, context});
    }
    /// Registers `h` for `function`, as add() does.
    void add(std::uint64_t function, handler_entry h) {
        std::lock_guard lock(mutex_);
        auto it = std::lower_bound(entries_.begin(), entries_.end(), function,
                                   [](const entry& e, std::uint64_t f) { return e.first < f; });
        if (it != entries_.end() && it->first == function) return;
        entries_.insert(it, {function, h});
    }
    /// The handler of `function`, or an empty one.
    handler_entry find(std::uint64_t function) const {
        std::lock_guard lock(mutex_);
        auto it = std::lower_bound(entries_.begin(), entries_.end(), function,
                                   [](const entry& e, std::uint64_t f) { return e.first < f; });
        return it != entries_.end() && it->first == function ? it->second : handler_entry{};
    }
    /// XXH3-64 of the registered ids, in order.
    std::uint64_t digest() const {
        std::lock_guard lock(mutex_);
        std::string ids;
        for (const entry& e : entries_) wire::put_u64(ids, e.first);
        return xxh3_64(std::string_view(ids), 0x68616e646c657273ull);  // "handlers"
    }

private:
    using entry = std::pair<std::uint64_t, handler_entry>;
    mutable std::mutex mutex_;
    std::vector<entry> entries_;  // sorted by id
};

/// The handlers of this process (filled at static-initialization time).
inline handler_table& handlers() {
    static handler_table t;
    return t;
}

/// Makes `function` callable from rank 0 on this process's workers.
inline void register_handler(std::uint64_t function, handler h) { handlers().add(function, h); }
/// The same, for a handler with a context.
inline void register_handler(std::uint64_t function, bound_handler h, const void* context) {
    handlers().add(function, h, context);
}

/// The digest of the registered handlers' ids.
inline std::uint64_t handlers_digest() { return handlers().digest(); }

/// What names "the same build" besides the compiler's fingerprint: a digest of the functions.
using digest_function = std::uint64_t (*)();

/// The digest every rank compares at cluster construction: that of the registered handlers'
/// ids, which desync::mpi::cluster extends to every named function's full hash (calls.hpp)
/// unless it was replaced before (e.g. at static-init time).
inline digest_function& build_digest() {
    static digest_function f = &handlers_digest;
    return f;
}

}  // namespace desync::detail::mpi
