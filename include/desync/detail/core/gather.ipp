#pragma once
// Out-of-line definitions of <desync/detail/core/gather.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/core/gather.hpp>

namespace desync::detail {

DESYNC_DECL task_ref<> make_gate() { return task_ref<>(new gate_task); }

DESYNC_DECL void open_gate(task_ref<> g) {
    static_cast<gate_task*>(g.get())->emplace();
    g->complete();
}

DESYNC_DECL void cancel_gate(task_ref<> g) noexcept {
    g->set_error(
        std::make_exception_ptr(cancelled("desync: the call was cancelled before it began")));
    g->complete();
}

}  // namespace desync::detail
