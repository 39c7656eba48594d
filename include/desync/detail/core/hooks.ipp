#pragma once
// Out-of-line definitions of <desync/detail/core/hooks.hpp>: included at its end when header-only,
// or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/detail/core/hooks.hpp>

namespace desync::detail {

DESYNC_DECL std::vector<distributed_function>& distributed_functions() {
    static std::vector<distributed_function> all;
    return all;
}

}  // namespace desync::detail
