#pragma once
// Where tracing and counters meet the scheduler. Off by default: each hook is one relaxed load
// of the switch. (The bodies are filled in by trace.hpp's machinery; see there.)

#include <desync/detail/fn_core.hpp>
#include <desync/detail/task.hpp>
#include <desync/xxhash.hpp>

#include <atomic>
#include <cstdint>

namespace desync::detail {

/// The tracing switch (constant-initialized: reading it needs no guard).
inline std::atomic<bool>& trace_switch() noexcept {
    static constinit std::atomic<bool> on{false};
    return on;
}

struct trace_hooks {
    static bool on() noexcept { return trace_switch().load(std::memory_order_relaxed); }

    /// A call was made: `t` calls `callee`, made by the body of `parent` (nullptr: a root call).
    static void spawned(task_base& t, const fn_core& callee, const task_base* parent) noexcept {
        (void)t, (void)callee, (void)parent;
    }
    /// `to` waits for `from` (a dataflow input or an ordering edge).
    static void input(const task_base& from, const task_base& to) noexcept { (void)from, (void)to; }
    /// The body of `t` starts on this thread.
    static void begin(task_base& t) noexcept { (void)t; }
    /// The body of `t` returned; its join starts.
    static void joining(task_base& t) noexcept { (void)t; }
    /// `t` finished after running (its result or error is set).
    static void end(task_base& t) noexcept { (void)t; }
    /// `t` finished without running: a memo hit once its inputs were ready (`hit`), or a
    /// failed input.
    static void finished_early(task_base& t, bool hit) noexcept { (void)t, (void)hit; }
    /// A memo hit found on the calling thread (no task exists): a call of `callee` by the body
    /// of `parent`, with memo key `key`, whose original run took `saved_ns`.
    static void hit(const fn_core& callee, const task_base* parent, const hash128& key,
                    std::uint64_t saved_ns) noexcept {
        (void)callee, (void)parent, (void)key, (void)saved_ns;
    }
};

}  // namespace desync::detail
