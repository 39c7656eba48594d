#pragma once
// Out-of-line definitions of <desync/function.hpp>: included at its end when header-only, or once
// per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/function.hpp>

#include <mutex>

namespace desync::detail {

DESYNC_DECL version current_version(fn_core& c) {
    registry::get().resolve(c);
    std::lock_guard lock(c.numbers_mutex);
    return version{c.major_hash, c.minor_hash, c.major_version, c.minor_version};
}

DESYNC_DECL void set_base_version(fn_core& c, const version& old) {
    version now = renumber(current_version(c), old);
    std::lock_guard lock(c.numbers_mutex);
    c.major_version = now.major_version;
    c.minor_version = now.minor_version;
}

}  // namespace desync::detail
