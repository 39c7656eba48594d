#pragma once
// Out-of-line definitions of <desync/detail/core/call.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/core/call.hpp>

namespace desync::detail {

DESYNC_DECL executor_slot& executor_for(const fn_core& core) {
    if (core.exec) return *core.exec;
    return core.blocking ? static_cast<executor_slot&>(blocking_pool())
                         : static_cast<executor_slot&>(default_pool());
}

}  // namespace desync::detail
