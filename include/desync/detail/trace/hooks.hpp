#pragma once
// Where tracing and counters meet calls: the tracer's observer (core/hooks.hpp), installed when
// this header is part of the program. Off by default: each call site tests trace_hook::on(), one
// relaxed load of the switch (a constant false when the program is built with DESYNC_NO_TRACE,
// for the whole program: every translation unit must agree). When the switch is on, the
// observer counts (fn_counters: calls, failed; the memo layer counts hits, misses and saved
// time) and, while a trace runs, appends records to this thread's buffer.

#include <desync/detail/core/attributes.hpp>
#include <desync/detail/core/hooks.hpp>
#include <desync/detail/trace/record.hpp>

#include <atomic>
#include <cstdint>

namespace desync::detail {

struct trace_hooks {
    /// A call was made: `t` calls `callee`, made by the body of `parent` (nullptr: a root call).
    static void spawned(task_base& t, const fn_core& callee, const task_base* parent) noexcept;

    /// `to` waits for `from` (a dataflow input or an ordering edge).
    static void input(const task_base& from, const task_base& to) noexcept;

    /// The body of `t` starts on this thread.
    static void begin(task_base& t) noexcept;

    /// The body of `t` returned; its join starts.
    static void joining(task_base& t) noexcept;

    /// `t` finished after running (its result or error is set): counts a failure of `callee`
    /// and records the memo key, if any.
    static void end(task_base& t, const fn_core* callee, const hash128* key,
                    bool unrecorded) noexcept;

    /// `t` finished without running: a memo hit once its inputs were ready (`hit`), or a
    /// failed input.
    static void finished_early(task_base& t, const fn_core* callee, const hash128* key,
                               bool hit) noexcept;

    /// A memo hit found on the calling thread (no task exists): a call of `callee` by the body
    /// of `parent`, with memo key `key`, whose original run took `saved_ns`. Returns the
    /// hit's trace id (0 when not tracing): set it on the ready task that stands for the call
    /// (`set_trace_id`) and the trace shows where that value flows.
    static std::uint64_t hit(const fn_core& callee, const task_base* parent, const hash128& key,
                             std::uint64_t saved_ns) noexcept;

private:
    static unsigned modes() noexcept { return trace_mode().load(std::memory_order_relaxed); }

    static std::uint8_t flags_if(bool yes, record_flag f) noexcept {
        return yes ? static_cast<std::uint8_t>(f) : std::uint8_t{0};
    }

    static void bump(std::atomic<std::uint64_t>& n) noexcept {
        n.fetch_add(1, std::memory_order_relaxed);
    }

    // This thread's buffer while a trace is recording, else nullptr.
    static trace_buffer* recording() noexcept {
        return modes() & trace_record_bit ? trace_session::get().here() : nullptr;
    }

    static trace_record record(record_kind kind, std::uint64_t id,
                               std::uint64_t other = 0) noexcept;

    static trace_record callee_record(record_kind kind, std::uint64_t id, const fn_core& callee,
                                      const task_base* parent) noexcept;

    // The innermost open call with this id (always the last one: bodies nest on a thread).
    static open_call* find_open(trace_buffer& b, std::uint64_t id) noexcept;

    // The call's memo key, when the memo layer computed one.
    static void add_key(trace_record& r, const hash128* key) noexcept;
};

/// The tracer's observer, installed while this header is part of the program.
inline constexpr trace_observer tracer{
    &trace_hooks::spawned, &trace_hooks::input,          &trace_hooks::begin, &trace_hooks::joining,
    &trace_hooks::end,     &trace_hooks::finished_early, &trace_hooks::hit};
/// Installs the tracer's observer: before the switch goes on.
inline void install_tracer() noexcept {
    installed_tracer.store(&tracer, std::memory_order_release);
}

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/trace/hooks.ipp>
#endif
