#pragma once
// Out-of-line definitions of <desync/lazy.hpp>: included at its end when header-only, or once
// per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/lazy.hpp>

namespace desync::detail {

DESYNC_DECL void report_lost_error(const std::exception_ptr& e) noexcept {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        std::fprintf(stderr, "desync: a root call failed during stack unwinding: %s\n", x.what());
    } catch (...) {
        std::fprintf(stderr, "desync: a root call failed during stack unwinding\n");
    }
}

}  // namespace desync::detail

namespace desync::detail {

DESYNC_DECL fn_core& anonymous_core() {
    static fn_core* core = [] {
        auto* c = new fn_core;  // never destroyed: calls may still refer to it at exit
        c->name = "desync::async";
        c->immortal = true;
        c->transparent = true;  // the callable is the caller's own code (or a plain function)
        return c;
    }();
    return *core;
}

}  // namespace desync::detail
