#pragma once
// The hook interface between calls and the layers above them. Calls know nothing of memo tables
// or tracing: they tell an observer, installed when the layer's header is part of the program,
// at each step. Calls of desync functions take their hooks from their invoker at compile time
// (the memo layer's, which probe the tables inline: a hit is the common path); every other
// call (desync::async, then) uses plain_hooks, which only tell the memo layer what a body under
// a memoizable call does. A program without a layer pays a load and a branch where it would act.

#include <desync/detail/core/attributes.hpp>
#include <desync/detail/core/task.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

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

/// Where the answer to a desync::distributed call goes: on rank 0, the call waiting for its
/// reply; on a worker, the reply owed to rank 0. Answered exactly once, from any thread.
class remote_answer {
public:
    /// The call's result, encoded by the cache codec (empty for void).
    virtual void remote_done(std::string result) noexcept = 0;
    /// The call failed (on rank 0: desync::remote_error, or desync::error from the transport).
    virtual void remote_failed(std::exception_ptr error) noexcept = 0;

protected:
    ~remote_answer() = default;
};

/// Something a layer above calls keeps with one call until it runs (the memo layer's: the reply of
/// a desync::distributed call that ran elsewhere).
class call_attachment {
public:
    virtual ~call_attachment() = default;
};

/// What carries desync::distributed calls elsewhere: <desync/mpi.hpp> installs it on rank 0 of a
/// cluster of several ranks. Without it (no cluster, one rank, a worker) they run here.
struct remote_transport {
    /// Hands over a call of the function with full hash `function` and encoded arguments `args`;
    /// `answer` is answered once, maybe before submit returns. False (and `answer` untouched):
    /// no cluster takes calls now, so the call runs here.
    bool (*submit)(std::uint64_t function, std::string args, remote_answer& answer);
};

/// A desync::distributed function as a worker runs it: `serve` decodes a call's arguments,
/// makes the call on this process and answers `answer` once it finished. It never throws.
struct distributed_function {
    fn_core* core;
    void (*serve)(fn_core& core, std::string args, remote_answer& answer) noexcept;
};

/// The desync::distributed functions of this program (DESYNC_FN and DESYNC_DEFINE add theirs
/// at static initialization).
DESYNC_DECL std::vector<distributed_function>& distributed_functions();

/// The installed observers: each layer installs its own when it is first used (the tracer when a
/// trace, counting or the progress line starts; the memo layer when a memoizable body starts), so
/// a translation unit that never uses a layer compiles none of its code.
inline constinit std::atomic<const trace_observer*> installed_tracer{nullptr};
inline constinit std::atomic<const memo_observer*> installed_memo{nullptr};
/// The transport of desync::distributed calls, or none (they run here).
inline constinit std::atomic<const remote_transport*> installed_remote{nullptr};

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
    /// What on_start hands to on_finish: nothing.
    struct started {};

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
    static started on_start(Task& t) noexcept {
        if (t.collects())  // installed before anything collects
            installed_memo.load(std::memory_order_acquire)->start(t);
        return {};
    }
    template <class Task>
    static void on_finish(Task& t, started) noexcept {
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
    /// Sends a desync::distributed call elsewhere: never (only desync functions' calls go).
    template <class Task>
    static bool send_remote(Task&) noexcept {
        return false;
    }
    /// Takes the result of a call that ran elsewhere: none.
    template <class Task>
    static bool take_remote(Task&) {
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

#if DESYNC_HEADER_ONLY
#include <desync/detail/core/hooks.ipp>
#endif
