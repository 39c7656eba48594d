#pragma once
// Running and waiting: the per-thread frame (which body is running here, which memo tables it
// uses, where its work starts in this worker's deque), the scope that joins a body's calls,
// and the wait loop that claims, helps or sleeps — never picking up unrelated older work.

#include <algorithm>
#include <desync/detail/core/attributes.hpp>
#include <desync/detail/core/task.hpp>
#include <desync/detail/core/work_deque.hpp>
#include <desync/error.hpp>

#include <cstdint>
#include <exception>
#include <vector>

namespace desync::detail {

/// Where calls run: a desync pool, or any Asio executor behind an adapter.
class executor_slot {
public:
    /// Takes over one reference to a queued task and arranges for it to run.
    virtual void submit(task_base* t) = 0;
    /// May the calling thread run this executor's queued work itself? (It is one of its
    /// threads, or holds its strand.) Otherwise a waiter sleeps until the executor runs it.
    virtual bool claimable_here() const noexcept = 0;

protected:
    ~executor_slot() = default;
};

class scope;

/// What the current thread is running. Trivial, so access is a plain thread-local load.
struct frame {
    scope* sc = nullptr;          // the running body's scope; nullptr outside any body
    fn_core* root = nullptr;      // whose memo tables the calls of this tree use
    task_base* task = nullptr;    // the running task
    std::uint64_t mark = 0;       // this body's first position in the worker's deque
    work_deque* deque = nullptr;  // set for the lifetime of a desync pool's worker thread
    const void* pool = nullptr;   // the pool that worker belongs to
    bool memo_frame = false;      // the running task keeps a memo frame (see memo_hooks.hpp)
};

inline thread_local frame tl_frame;

/// Runs a claimed task on this thread, with the frame its call captured.
DESYNC_DECL void run_claimed(task_base* t) noexcept;

/// Runs one ready call that the current body spawned (above its mark), if there is one.
DESYNC_DECL bool help_own_scope() noexcept;

/// Runs or drops every entry the current body left in its worker's deque: calls it made
/// that are still queued run here; entries of calls already claimed elsewhere are dropped.
DESYNC_DECL void drain_own_scope() noexcept;

/// Waits until `t` is done: claims it if it is queued and may run here, helps its inputs
/// along, runs the current body's own queued calls, and otherwise sleeps on its state.
DESYNC_DECL void wait_for(task_base* t) noexcept;

/// The calls one body made. Joining waits for all of them and collects the errors nobody read.
/// The first few live inline: most bodies make a handful of calls. Each call, once finished, is
/// handed to the scope's `joined` function (if any): by the join, or earlier, when the list fills
/// up, for the calls that finished without an error, which the scope then lets go of. So a body
/// that makes millions of calls holds only those still running or failed, not every call it made.
class scope {
public:
    using joined_fn = void (*)(task_base&) noexcept;

    explicit scope(joined_fn joined = nullptr) noexcept : joined_(joined) {}
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
    ~scope() { release_all(); }

    void adopt(task_base* t) {
        if (size_ >= inline_capacity && more_.size() == more_.capacity()) make_room();
        t->retain();
        if (size_ < inline_capacity)
            first_[size_] = t;
        else
            more_.push_back(t);  // room made above: does not throw
        ++size_;
    }

    /// Waits for every call of this scope, in the order they were made, and hands each, once
    /// finished, to `joined`.
    std::vector<std::exception_ptr> join() noexcept;

private:
    static constexpr std::size_t inline_capacity = 4;
    static constexpr std::size_t first_room = 64;

    // The list is full: hands over the calls that finished without an error (their errors, or
    // a failure's, are the join's to collect), and grows it unless that freed half of it.
    void make_room();

    task_base* at(std::size_t i) const noexcept {
        return i < inline_capacity ? first_[i] : more_[i - inline_capacity];
    }
    void release_all() noexcept;

    std::size_t size_ = 0;
    task_base* first_[inline_capacity];
    std::vector<task_base*> more_;
    joined_fn joined_;
};

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/core/run.ipp>
#endif
