#pragma once
// Out-of-line definitions of <desync/detail/memo/hooks.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/memo/hooks.hpp>

namespace desync::detail {

DESYNC_DECL std::uint64_t callee_hash(fn_core& f) {
    if (f.resolved.load(std::memory_order_acquire)) [[likely]]
        return f.full_hash;
    return resolve_callee_hash(f);
}

DESYNC_DECL void count_hit(fn_core& callee, std::uint64_t saved_ns) noexcept {
    callee.counters.hits.fetch_add(1, std::memory_order_relaxed);
    callee.counters.saved_ns.fetch_add(saved_ns, std::memory_order_relaxed);
}

DESYNC_DECL void memo_hooks::noted_hit(memo_frame& parent, fn_core& callee, const hash128& key,
                                       const dep_set* deps) {
    parent.add_child(key);
    parent.deps.note_callee(callee);
    parent.deps.note_set(deps);
}

DESYNC_DECL void memo_hooks::traced_hit(fn_core& callee, const hash128& key, std::uint64_t saved_ns,
                                        task_base& stand_in) noexcept {
    count_hit(callee, saved_ns);
    stand_in.set_trace_id(trace_hook::get().hit(callee, tl_frame.task, key, saved_ns));
}

DESYNC_DECL void memo_hooks::root_ended(fn_core& root) noexcept {
    if (!root.has_store.load(std::memory_order_acquire)) return;
    try {
        if (std::shared_ptr<memo_store> st = root.store.load(std::memory_order_acquire))
            st->flush();
    } catch (...) {
    }
}

}  // namespace desync::detail
