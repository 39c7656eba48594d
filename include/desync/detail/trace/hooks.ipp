#pragma once
// Out-of-line definitions of <desync/detail/trace/hooks.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/trace/hooks.hpp>

#include <desync/detail/core/fn_core.hpp>
#include <desync/detail/core/task.hpp>
#include <desync/xxhash.hpp>

namespace desync::detail {

DESYNC_DECL void trace_hooks::spawned(task_base& t, const fn_core& callee,
                                      const task_base* parent) noexcept {
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

DESYNC_DECL void trace_hooks::input(const task_base& from, const task_base& to) noexcept {
    if (!from.trace_id() || !to.trace_id()) return;
    if (trace_buffer* b = recording())
        b->append(record(record_kind::input, to.trace_id(), from.trace_id()));
}

DESYNC_DECL void trace_hooks::begin(task_base& t) noexcept {
    if (!t.trace_id()) return;
    if (trace_buffer* b = recording()) {
        try {
            b->open().push_back(open_call{t.trace_id(), trace_clock(), 0});
        } catch (...) {
            b->lose();
        }
    }
}

DESYNC_DECL void trace_hooks::joining(task_base& t) noexcept {
    if (!t.trace_id()) return;
    if (trace_buffer* b = recording())
        if (open_call* c = find_open(*b, t.trace_id())) c->joining = trace_clock();
}

DESYNC_DECL void trace_hooks::end(task_base& t, const fn_core* callee, const hash128* key,
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

DESYNC_DECL void trace_hooks::finished_early(task_base& t, const fn_core* callee,
                                             const hash128* key, bool hit) noexcept {
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

DESYNC_DECL std::uint64_t trace_hooks::hit(const fn_core& callee, const task_base* parent,
                                           const hash128& key, std::uint64_t saved_ns) noexcept {
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

DESYNC_DECL trace_record trace_hooks::record(record_kind kind, std::uint64_t id,
                                             std::uint64_t other) noexcept {
    trace_record r{};
    r.kind = kind;
    r.id = id;
    r.other = other;
    r.at = trace_clock();
    return r;
}

DESYNC_DECL trace_record trace_hooks::callee_record(record_kind kind, std::uint64_t id,
                                                    const fn_core& callee,
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

DESYNC_DECL open_call* trace_hooks::find_open(trace_buffer& b, std::uint64_t id) noexcept {
    auto& open = b.open();
    for (auto i = open.size(); i-- > 0;)
        if (open[i].id == id) return &open[i];
    return nullptr;
}

DESYNC_DECL void trace_hooks::add_key(trace_record& r, const hash128* key) noexcept {
    if (!key) return;
    r.flags = static_cast<std::uint8_t>(r.flags | flag_keyed);
    r.key_low = key->low, r.key_high = key->high;
}

}  // namespace desync::detail
