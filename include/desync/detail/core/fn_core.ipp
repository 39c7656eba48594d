#pragma once
// Out-of-line definitions of <desync/detail/core/fn_core.hpp>: included at its end when
// header-only, or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION,
// docs/compile-time.md).

#include <desync/detail/core/fn_core.hpp>

namespace desync::detail {

DESYNC_DECL void fn_core::settle_memoizable() noexcept {
    memoizable_ = has_body_text && stateless && !uncached;
    bool uses_value = false;
    for (const use_entry& u : uses) uses_value = uses_value || bool(u.value_hash);
    versioned_ = (has_body_text && stateless) || (named && uses_value);
}

DESYNC_DECL std::string fn_core::qualified_name() const {
    std::string out(site.scope);
    out += name;
    if (!site.file.empty()) out.append("@").append(site.file);
    return out;
}

}  // namespace desync::detail
