#pragma once
// The hook interface between calls and the layers above them. Calls know nothing of memo tables
// or tracing: they tell an observer, installed when the layer's header is part of the program,
// at each step. Calls of desync functions take their hooks from their invoker at compile time
// (the memo layer's, which probe the tables inline: a hit is the common path); every other
// call (desync::async, then) uses plain_hooks, which only tell the memo layer what a body under
// a memoizable call does. A program without a layer pays a load and a branch where it would act.

#include <desync/detail/core/task.hpp>

#include <atomic>
#include <cstdint>

namespace desync {
struct hash128;
}  // namespace desync

namespace desync::detail {

struct fn_core;

/// What the tracer does at the steps of a call (trace/hooks.hpp installs it).
struct trace_observer {
    /// A call `t` of `callee` was made by the body of `parent` (nullptr: a root call).
    void (*spawned)(task_base& t, const fn_core& callee, const task_base* parent) noexcept;
    /// `to` waits for `from` (a dataflow input or an ordering edge).
    void (*input)(const task_base& from, const task_base& to) noexcept;
    /// The body of `t` starts on this thread.
    void (*begin)(task_base& t) noexcept;
    /// The body of `t` returned; its join starts.
    void (*joining)(task_base& t) noexcept;
    /// `t` (of `callee`, keyed by `key` if not null) finished after running.
    void (*end)(task_base& t, const fn_core* callee, const hash128* key, bool unrecorded) noexcept;
    /// `t` finished without running: a memo hit once its inputs were ready, or a failed input.
    void (*finished_early)(task_base& t, const fn_core* callee, const hash128* key,
                           bool hit) noexcept;
    /// A memo hit found on the calling thread; returns its trace id (0 when not tracing).
    std::uint64_t (*hit)(const fn_core& callee, const task_base* parent, const hash128& key,
                         std::uint64_t saved_ns) noexcept;
};

/// What the memo layer does for calls that are not desync functions' own (desync::async,
/// then) when they run under a memoizable call (memo/hooks.hpp installs it).
struct memo_observer {
    /// The running body made the call `t` of `callee`.
    void (*spawned)(task_base& t, fn_core& callee) noexcept;
    /// The body of `t`, which collects what it calls, starts.
    void (*start)(task_base& t) noexcept;
    /// The body and join of `t` are over.
    void (*finish)(task_base& t) noexcept;
    /// The running body's join found the call `child` finished.
    void (*joined)(task_base& child) noexcept;
};

/// The installed observers: each layer installs its own when it is first used (the tracer when a
/// trace, counting or the progress line starts; the memo layer when a memoizable body starts), so
/// a translation unit that never uses a layer compiles none of its code.
inline constinit std::atomic<const trace_observer*> installed_tracer{nullptr};
inline constinit std::atomic<const memo_observer*> installed_memo{nullptr};

/// The tracing switch (constant-initialized: reading it needs no guard). Only the trace layer
/// turns it on, after installing its observer.
inline std::atomic<bool>& trace_switch() noexcept {
    static constinit std::atomic<bool> on{false};
    return on;
}

/// Where calls meet the tracer.
struct trace_hook {
#ifdef DESYNC_NO_TRACE
    static constexpr bool on() noexcept { return false; }
#else
    /// One relaxed load: the common case is off.
    static bool on() noexcept { return trace_switch().load(std::memory_order_relaxed); }
#endif
    /// The tracer, once on() said yes.
    static const trace_observer& get() noexcept {
        const trace_observer* t = installed_tracer.load(std::memory_order_acquire);
        return t ? *t : idle;  // the switch is relaxed: a thread may see it before the tracer
    }

private:
    static constexpr trace_observer idle{
        [](task_base&, const fn_core&, const task_base*) noexcept {},
        [](const task_base&, const task_base&) noexcept {},
        [](task_base&) noexcept {},
        [](task_base&) noexcept {},
        [](task_base&, const fn_core*, const hash128*, bool) noexcept {},
        [](task_base&, const fn_core*, const hash128*, bool) noexcept {},
        [](const fn_core&, const task_base*, const hash128&, std::uint64_t) noexcept {
            return std::uint64_t{0};
        }};
};

/// The hooks of calls that are not desync functions' own: no memo key, no probe.
struct plain_hooks {
    static constexpr bool probes = false;
    /// Per-call state of the hooks: none.
    struct state {};

    template <class Task>
    static void on_spawned(Task& t) noexcept {
        if (const memo_observer* m = installed_memo.load(std::memory_order_acquire))
            m->spawned(t, t.callee());
    }
    template <class Task>
    static bool try_finish_early(Task&) noexcept {
        return false;
    }
    template <class Task>
    static void on_start(Task& t) noexcept {
        if (!t.collects()) return;  // installed before anything collects
        installed_memo.load(std::memory_order_acquire)->start(t);
    }
    template <class Task>
    static void on_finish(Task& t) noexcept {
        if (!t.collects()) return;
        installed_memo.load(std::memory_order_acquire)->finish(t);
    }
    static void joined(task_base& child) noexcept {
        if (!child.collects()) return;
        installed_memo.load(std::memory_order_acquire)->joined(child);
    }
    /// The call's memo key, for the tracer: none.
    template <class Task>
    static const hash128* key_of(const Task&) noexcept {
        return nullptr;
    }
    template <class Task>
    static bool unrecorded(const Task&) noexcept {
        return false;
    }
};

/// The hooks a call of `Invoker` uses: its own `hooks`, else plain_hooks.
template <class Invoker>
struct hooks_of {
    using type = plain_hooks;
};
template <class Invoker>
    requires requires { typename Invoker::hooks; }
struct hooks_of<Invoker> {
    using type = typename Invoker::hooks;
};
template <class Invoker>
using hooks_of_t = typename hooks_of<Invoker>::type;

}  // namespace desync::detail
