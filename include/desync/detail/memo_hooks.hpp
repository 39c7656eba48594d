#pragma once
// Where the memo table meets a call: probe before a call is queued, record after it succeeds.
// (Filled in by the memo table; until then calls are never memoized.)

#include <desync/detail/fn_core.hpp>

#include <desync/detail/traits.hpp>

namespace desync::detail {

struct memo_hooks {
    /// Called on the calling thread when every argument is a value: a hit returns a ready
    /// lazy, a miss an empty one.
    template <class V, class... A>
    static lazy<V> probe_values(fn_core&, fn_core*, const A&...) {
        return {};
    }
    /// Called when a call's inputs are ready; true if it finished (a hit) without running.
    template <class Task>
    static bool try_finish_early(Task&) noexcept {
        return false;
    }
    /// Called when a call's body is about to run (a miss of a memoizable call, or any call).
    template <class Task>
    static void on_start(Task&) noexcept {}
    /// Called after a call's body and join succeeded.
    template <class Task>
    static void on_success(Task&) noexcept {}
};

}  // namespace desync::detail
