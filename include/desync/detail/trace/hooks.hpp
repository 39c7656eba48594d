#pragma once
// Where tracing and counters meet calls: the tracer's observer (core/hooks.hpp), installed when
// this header is part of the program. Off by default: each call site tests trace_hook::on(), one
// relaxed load of the switch (a constant false when the program is built with DESYNC_NO_TRACE,
// for the whole program: every translation unit must agree). When the switch is on, the
// observer counts (fn_counters: calls, failed; the memo layer counts hits, misses and saved
// time) and, while a trace runs, appends records to this thread's buffer.

#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/core/hooks.hpp>
#include <desync/detail/core/task.hpp>
#include <desync/detail/trace/record.hpp>
#include <desync/xxhash.hpp>

#include <atomic>
#include <cstdint>

namespace desync::detail {

struct trace_hooks {
    /// A call was made: `t` calls `callee`, made by the body of `parent` (nullptr: a root call).
    static void spawned(task_base& t, const fn_core& callee, const task_base* parent) noexcept {
        count_call(callee);
        const unsigned mode = modes();
        if (mode & trace_progress_bit) bump(progress_counts::get().started);
        if (!(mode & trace_record_bit)) return;
        trace_buffer* b = trace_session::get().here();
        if (!b) return;
        trace_record r = callee_record(record_kind::spawn, b->new_id(), callee, parent);
        t.set_trace_id(r.id);
        b->append(r);
    }

    /// `to` waits for `from` (a dataflow input or an ordering edge).
    static void input(const task_base& from, const task_base& to) noexcept {
        if (!from.trace_id() || !to.trace_id()) return;
        if (trace_buffer* b = recording())
            b->append(record(record_kind::input, to.trace_id(), from.trace_id()));
    }

    /// The body of `t` starts on this thread.
    static void begin(task_base& t) noexcept {
        if (!t.trace_id()) return;
        if (trace_buffer* b = recording()) {
            try {
                b->open().push_back(open_call{t.trace_id(), trace_clock(), 0});
            } catch (...) {
                b->lose();
            }
        }
    }

    /// The body of `t` returned; its join starts.
    static void joining(task_base& t) noexcept {
        if (!t.trace_id()) return;
        if (trace_buffer* b = recording())
            if (open_call* c = find_open(*b, t.trace_id())) c->joining = trace_clock();
    }

    /// `t` finished after running (its result or error is set): counts a failure of `callee`
    /// and records the memo key, if any.
    static void end(task_base& t, const fn_core* callee, const hash128* key,
                    bool unrecorded) noexcept {
        if (callee && t.failed()) bump(callee->counters.failed);
        if (modes() & trace_progress_bit) bump(progress_counts::get().finished);
        if (!t.trace_id()) return;
        trace_buffer* b = recording();
        open_call* c = b ? find_open(*b, t.trace_id()) : nullptr;
        if (!c) return;  // began in another session
        trace_record r = record(record_kind::ran, c->id);
        r.flags = static_cast<std::uint8_t>(flags_if(t.failed(), flag_failed) |
                                            flags_if(unrecorded, flag_unrecorded));
        r.u.times.end = r.at;
        r.u.times.joining = c->joining ? c->joining : r.at;
        r.at = c->begin;
        add_key(r, key);
        b->open().erase(b->open().begin() + (c - b->open().data()));  // the last, normally
        b->append(r);
    }

    /// `t` finished without running: a memo hit once its inputs were ready (`hit`), or a
    /// failed input.
    static void finished_early(task_base& t, const fn_core* callee, const hash128* key,
                               bool hit) noexcept {
        if (callee && !hit) bump(callee->counters.failed);
        if (modes() & trace_progress_bit) {
            bump(progress_counts::get().finished);
            if (hit) bump(progress_counts::get().hits);
        }
        if (!t.trace_id()) return;
        if (trace_buffer* b = recording()) {
            trace_record r = record(record_kind::early, t.trace_id());
            r.flags = flags_if(hit, flag_hit);
            add_key(r, key);
            b->append(r);
        }
    }

    /// A memo hit found on the calling thread (no task exists): a call of `callee` by the body
    /// of `parent`, with memo key `key`, whose original run took `saved_ns`. Returns the
    /// hit's trace id (0 when not tracing): set it on the ready task that stands for the call
    /// (`set_trace_id`) and the trace shows where that value flows.
    static std::uint64_t hit(const fn_core& callee, const task_base* parent, const hash128& key,
                             std::uint64_t saved_ns) noexcept {
        count_call(callee);
        const unsigned mode = modes();
        if (mode & trace_progress_bit) {
            auto& p = progress_counts::get();
            bump(p.started), bump(p.finished), bump(p.hits);
        }
        if (!(mode & trace_record_bit)) return 0;
        trace_buffer* b = trace_session::get().here();
        if (!b) return 0;
        trace_record r = callee_record(record_kind::hit, b->new_id(), callee, parent);
        r.flags = static_cast<std::uint8_t>(r.flags | flag_keyed);
        r.key_low = key.low, r.key_high = key.high;
        b->append(r);
        b->append(record(record_kind::saved, r.id, saved_ns));
        return r.id;
    }

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
                               std::uint64_t other = 0) noexcept {
        trace_record r{};
        r.kind = kind;
        r.id = id;
        r.other = other;
        r.at = trace_clock();
        return r;
    }

    static trace_record callee_record(record_kind kind, std::uint64_t id, const fn_core& callee,
                                      const task_base* parent) noexcept {
        trace_record r = record(kind, id, parent ? parent->trace_id() : 0);
        // Which default pool runs it: lanes are named after it (a pool thread runs only calls
        // of its own pool).
        r.flags = callee.exec ? 0 : callee.blocking ? flag_blocking : flag_compute;
        r.name_size = static_cast<std::uint32_t>(callee.name.size());
        r.u.callee.fn = &callee;
        r.u.callee.name = callee.name.data();
        return r;
    }

    // The innermost open call with this id (always the last one: bodies nest on a thread).
    static open_call* find_open(trace_buffer& b, std::uint64_t id) noexcept {
        auto& open = b.open();
        for (auto i = open.size(); i-- > 0;)
            if (open[i].id == id) return &open[i];
        return nullptr;
    }

    // The call's memo key, when the memo layer computed one.
    static void add_key(trace_record& r, const hash128* key) noexcept {
        if (!key) return;
        r.flags = static_cast<std::uint8_t>(r.flags | flag_keyed);
        r.key_low = key->low, r.key_high = key->high;
    }
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
